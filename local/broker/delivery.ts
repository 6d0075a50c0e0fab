// One delivery attempt over keep-alive HTTP, and the Knative rules for retrying and backing off.
import http from 'node:http';
import https from 'node:https';
import type { BrokerEvent } from './event.ts';
import type { Delivery } from './triggers.ts';

/** What one attempt came back with; `status` is -1 when there was no response (connection error, timeout). */
export interface AttemptResult {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** Why there was no usable response (network error, timeout, body over the limit). */
  error?: string;
}

/** Knative's code for "no response" (kncloudevents NoResponse). */
export const NO_RESPONSE = -1;

/**
 * Knative data-plane contract (specs/eventing/data-plane.md, "Event Acknowledgement and Delivery Retry"):
 * 404, 409, 429 and 5xx are retried, as are network errors; 400 and the other non-2xx codes are final.
 */
export function isRetriable(status: number): boolean {
  return status === NO_RESPONSE || status === 404 || status === 409 || status === 429 || status >= 500;
}

/**
 * The wait before retry number `retry` (1 for the first retry), as Knative's dispatcher computes it from
 * attempt index n = retry - 1: exponential waits backoffDelay × 2^n (the delay itself, then doubling);
 * linear waits backoffDelay × retry, so it grows by one delay per retry and never starts at zero.
 */
export function backoffMs(
  delivery: Pick<Delivery, 'backoffPolicy' | 'backoffDelayMs'>,
  retry: number,
): number {
  if (retry < 1) return 0;
  return delivery.backoffPolicy === 'exponential'
    ? delivery.backoffDelayMs * 2 ** (retry - 1)
    : delivery.backoffDelayMs * retry;
}

export interface Target {
  url: string;
  request: typeof http.request;
  options: { host: string; port: number; path: string; method: 'POST' };
}

/** Parses a subscriber URL once, so each attempt only builds the request. */
export function toTarget(url: string): Target {
  const u = new URL(url);
  const secure = u.protocol === 'https:';
  return {
    url,
    request: secure ? https.request : http.request,
    options: {
      host: u.hostname,
      port: Number(u.port || (secure ? 443 : 80)),
      path: `${u.pathname}${u.search}`,
      method: 'POST',
    },
  };
}

/** A keep-alive agent for the broker's deliveries: connections to each subscriber are reused across events. */
export function createAgent(): http.Agent {
  // Idle sockets close after 4 s, before the 5 s keep-alive timeout Node servers (the functions) default to.
  return new http.Agent({ keepAlive: true, maxFreeSockets: 64, scheduling: 'lifo', timeout: 4000 });
}

interface AttemptInput {
  target: Target;
  event: BrokerEvent;
  agent: http.Agent;
  timeoutMs: number;
  maxResponseBytes: number;
}

/**
 * POSTs the event in binary mode with `Prefer: reply` (data-plane contract, "Derived (Reply) Events") and reads
 * the whole response, up to `maxResponseBytes`. Never rejects: failures come back as status -1 with `error`.
 * A keep-alive connection the subscriber closed while it sat idle is not the subscriber's failure: that one case
 * is sent again at once on a fresh connection, as Node's documentation for `request.reusedSocket` advises.
 */
export async function attempt(input: AttemptInput): Promise<AttemptResult> {
  const first = await send(input);
  return first.staleSocket ? send(input) : first;
}

function send(input: AttemptInput): Promise<AttemptResult & { staleSocket?: boolean }> {
  const { target, event } = input;
  return new Promise((resolve) => {
    let settled = false;
    const finish = (r: AttemptResult & { staleSocket?: boolean }) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(r);
    };
    const req = target.request({ ...target.options, headers: event.headers, agent: input.agent }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size <= input.maxResponseBytes) chunks.push(chunk);
      });
      res.on('end', () => {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(res.headers))
          if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(',') : v;
        const body =
          chunks.length === 1
            ? (chunks[0] as Buffer).toString('utf8')
            : Buffer.concat(chunks).toString('utf8');
        const result: AttemptResult = { status: res.statusCode ?? NO_RESPONSE, headers, body };
        if (size > input.maxResponseBytes)
          result.error = `response body over ${input.maxResponseBytes} bytes`;
        finish(result);
      });
      res.on('error', (err) => finish({ status: NO_RESPONSE, headers: {}, body: '', error: err.message }));
    });
    const timer = setTimeout(
      () => req.destroy(new Error(`no response within ${input.timeoutMs} ms`)),
      input.timeoutMs,
    );
    req.setHeader('prefer', 'reply');
    req.on('error', (err: NodeJS.ErrnoException) =>
      finish({
        status: NO_RESPONSE,
        headers: {},
        body: '',
        error: err.message,
        staleSocket: req.reusedSocket && err.code === 'ECONNRESET',
      }),
    );
    req.end(event.body);
  });
}
