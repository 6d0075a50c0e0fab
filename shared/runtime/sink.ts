// Publishing to K_SINK (DESIGN §1): what edge producers (ingest, the trainer) use instead of an HTTP reply.
import { DependencyError, InvalidEventError } from '../errors/index.ts';
import type { FlywheelEvent } from '../events/index.ts';
import { writeBinary } from './cloudevents.ts';

export interface Sink {
  /** Posts the event in binary mode; retries 429, 5xx and connection errors with backoff, then throws DependencyError. */
  publish(event: FlywheelEvent): Promise<void>;
}

export interface SinkOptions {
  url: string;
  retries: number;
  backoffMs: number;
  timeoutMs: number;
}

/** A sink that posts to a URL (the broker, via the SinkBinding's K_SINK). */
export function createHttpSink(opts: SinkOptions): Sink {
  return {
    async publish(event) {
      const { headers, body } = writeBinary(event);
      let lastError = 'not attempted';
      for (let attempt = 0; attempt <= opts.retries; attempt++) {
        if (attempt > 0) await sleep(opts.backoffMs * 2 ** (attempt - 1));
        try {
          const res = await fetch(opts.url, {
            method: 'POST',
            headers,
            body,
            signal: AbortSignal.timeout(opts.timeoutMs),
          });
          await res.arrayBuffer();
          if (res.ok) return;
          lastError = `answered ${res.status}`;
          // Knative data plane: 404, 409, 429 and 5xx may succeed later; other 4xx never will.
          if (res.status < 500 && ![404, 409, 429].includes(res.status)) {
            throw new InvalidEventError('event', `K_SINK rejected ${event.type} ${event.id}: ${res.status}`);
          }
        } catch (err) {
          if (err instanceof InvalidEventError) throw err;
          lastError = (err as Error).message;
        }
      }
      throw new DependencyError(
        'K_SINK',
        `could not deliver ${event.type} after ${opts.retries + 1} attempts: ${lastError}`,
      );
    },
  };
}

/** A sink that keeps events in memory: the embedded default when no K_SINK is configured, and a test peer. */
export function createMemorySink(
  onEvent?: (event: FlywheelEvent) => void | Promise<void>,
): Sink & { events: FlywheelEvent[] } {
  const events: FlywheelEvent[] = [];
  return {
    events,
    async publish(event) {
      events.push(event);
      await onEvent?.(event);
    },
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
