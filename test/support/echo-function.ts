// A minimal function for runtime tests and the runtime benchmark: it replies to each transaction with the same data.
import { DependencyError, OverCapacityError } from '../../shared/errors/index.ts';
import { EventTypes, makeEvent } from '../../shared/events/index.ts';
import type { FunctionDefinition } from '../../shared/runtime/index.ts';

export interface EchoControls {
  seen: { id: string; source: string; type: string; data: unknown; extensions: Record<string, string> }[];
  ready: boolean;
  /** Milliseconds each handler call waits (to hold a request in flight). */
  delayMs: number;
  closed: boolean;
}

/** The echo function: `transaction` in, `transaction` back as the reply (new id), or 202 when `reply` is false. */
export function echoFunction(controls: EchoControls): FunctionDefinition<typeof EventTypes.transaction> {
  return {
    name: 'echo',
    accepts: [EventTypes.transaction],
    ready: () => controls.ready,
    close: async () => {
      controls.closed = true;
    },
    async handle(event) {
      controls.seen.push({
        id: event.id,
        source: event.source,
        type: event.type,
        data: event.data,
        extensions: event.extensions,
      });
      if (controls.delayMs > 0) await new Promise((r) => setTimeout(r, controls.delayMs));
      const customer = event.data.customerId;
      if (customer === 'down') throw new DependencyError('redis', 'connection refused');
      if (customer === 'busy') throw new OverCapacityError('queue full');
      if (customer === 'boom') throw new Error('unexpected');
      if (customer === 'quiet') return { kind: 'accepted' };
      return {
        kind: 'reply',
        event: makeEvent({
          type: EventTypes.transaction,
          source: 'echo',
          id: `echo-${event.id}`,
          data: event.data,
        }),
      };
    },
  };
}

export function echoControls(): EchoControls {
  return { seen: [], ready: true, delayMs: 0, closed: false };
}
