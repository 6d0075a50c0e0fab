// Publishing to K_SINK (README "Architecture"): what edge producers (ingest, the trainer) use instead of an HTTP reply.
import http from 'node:http';
import https from 'node:https';
import { DependencyError, InvalidInputError } from '../errors/index.ts';
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
  /**
   * Keep-alive connections to the sink at most (SINK_MAX_CONNECTIONS); posts beyond it wait for a free one, so a
   * burst of events is published over a bounded pool instead of one new connection each.
   */
  maxConnections?: number;
}

/** The default bound on connections to K_SINK. */
export const DEFAULT_SINK_CONNECTIONS = 64;

/**
 * A sink that posts to a URL (the broker, via the SinkBinding's K_SINK) over a pool of keep-alive connections
 * (node:http's Agent: a post costs one request on an open socket, none of fetch's stream and signal machinery).
 */
export function createHttpSink(opts: SinkOptions): Sink {
  const target = new URL(opts.url);
  const secure = target.protocol === 'https:';
  const agentOptions = { keepAlive: true, maxSockets: opts.maxConnections ?? DEFAULT_SINK_CONNECTIONS };
  const agent = secure ? new https.Agent(agentOptions) : new http.Agent(agentOptions);
  const request = secure ? https.request : http.request;

  /** One attempt: the answer's status, or a rejection for a connection error or the attempt's timeout. */
  const post = (headers: Record<string, string>, body: Buffer) =>
    new Promise<number>((resolve, reject) => {
      const req = request(target, {
        method: 'POST',
        agent,
        headers: { ...headers, 'content-length': String(body.length) },
        timeout: opts.timeoutMs,
      });
      req.on('response', (res) => {
        res.resume(); // the answer's body is not used; reading it frees the socket for the next post
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${opts.timeoutMs} ms`)));
      req.on('error', reject);
      req.end(body);
    });

  return {
    async publish(event) {
      const { headers, body } = writeBinary(event);
      const bytes = Buffer.from(body);
      let lastError = 'not attempted';
      for (let attempt = 0; attempt <= opts.retries; attempt++) {
        if (attempt > 0) await sleep(opts.backoffMs * 2 ** (attempt - 1));
        try {
          const status = await post(headers, bytes);
          if (status >= 200 && status < 300) return;
          lastError = `answered ${status}`;
          // Knative data plane: 404, 409, 429 and 5xx may succeed later; other 4xx never will.
          if (status < 500 && ![404, 409, 429].includes(status)) {
            throw new InvalidInputError('event', `K_SINK rejected ${event.type} ${event.id}: ${status}`);
          }
        } catch (err) {
          if (err instanceof InvalidInputError) throw err;
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
