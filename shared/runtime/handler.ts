// The contract between a function's pure handler and the shared server: what it receives and what it may answer.
import type { Logger } from './logger.ts';
import type { EventType, FlywheelEvent } from '../events/index.ts';
import type { RuntimeMetrics } from './metrics.ts';

/** What a handler decided for one event; errors are thrown (see shared/errors) rather than returned. */
export type Outcome =
  /** Reply with the next event (Knative reply: 200, binary mode); the broker routes it on. */
  | { kind: 'reply'; event: FlywheelEvent }
  /** Done, nothing to reply (202). `detail` goes into the receipt. */
  | { kind: 'accepted'; detail?: string }
  /** Seen before (same source + id): acknowledged, nothing done twice (200, no reply). */
  | { kind: 'duplicate' };

export interface HandlerContext {
  /** A logger already carrying the event's id, type and source. */
  log: Logger;
  metrics: RuntimeMetrics;
}

/** An incoming event of one of the accepted types, with its data already checked against the catalog schema. */
export type EventOf<A extends EventType> = { [T in A]: FlywheelEvent<T> }[A];

export type Handler<A extends EventType> = (event: EventOf<A>, ctx: HandlerContext) => Promise<Outcome>;
