// Checks one parsed event against the catalog, runs the handler and records the outcome in metrics and logs.
import type { Logger } from './logger.ts';
import { FlywheelError, InvalidInputError } from '../errors/index.ts';
import {
  Catalog,
  type EventType,
  Extensions,
  eventKey,
  type FlywheelEvent,
  isEventType,
} from '../events/index.ts';
import type { Parsed, RawEvent } from './cloudevents.ts';
import { invalidInputFrom } from './field-path.ts';
import type { EventOf, Handler, Outcome } from './handler.ts';
import type { RuntimeMetrics } from './metrics.ts';

export type Dispatched =
  | { ok: true; event: RawEvent; outcome: Outcome }
  | { ok: false; event?: RawEvent; error: unknown };

interface DispatchInput<A extends EventType> {
  entry: Parsed;
  accepts: ReadonlySet<string>;
  handle: Handler<A>;
  metrics: RuntimeMetrics;
  log: Logger;
  headers: Record<string, string>;
}

/**
 * Validates and handles every event of a request, concurrently (CloudEvents batches carry no ordering guarantee).
 * A later copy of an event (same source + id, CloudEvents §3.1.1 `id`: "consumers MAY assume that events with
 * identical source and id are duplicates") is not handed to the handler: it waits for the first copy and is a
 * duplicate of it (200 in its receipt) when that one was handled, or shares its error when it failed. Without
 * this, copies race each other through the handler (ingest's in-progress claim answered the second 503, so a
 * batch with a repeat was refused whole) and a handler could apply one event twice. Never throws.
 */
export async function dispatchAll<A extends EventType>(
  input: Omit<DispatchInput<A>, 'entry'> & { entries: readonly Parsed[] },
): Promise<Dispatched[]> {
  const { entries, ...rest } = input;
  const firsts = new Map<string, Promise<Dispatched>>();
  return Promise.all(
    entries.map((entry) => {
      if (!entry.ok) return dispatch({ ...rest, entry });
      const key = eventKey(entry.event);
      const first = firsts.get(key);
      if (first) return first.then((result) => copyOf(result, entry.event, rest.metrics));
      const handled = dispatch({ ...rest, entry });
      firsts.set(key, handled);
      return handled;
    }),
  );
}

/** The result of a later copy of an event, given the result of its first copy in the same request. */
function copyOf(first: Dispatched, copy: RawEvent, metrics: RuntimeMetrics): Dispatched {
  if (first.ok) {
    metrics.events.inc({ type: copy.type, outcome: 'duplicate' });
    return { ok: true, event: copy, outcome: { kind: 'duplicate' } };
  }
  metrics.events.inc({ type: copy.type, outcome: failureOutcome(first.error) });
  return { ok: false, event: copy, error: first.error };
}

/** The metrics outcome of a failed event: invalid (400, never retried), retriable, or an unexpected error. */
function failureOutcome(error: unknown): 'invalid' | 'retriable' | 'error' {
  if (!(error instanceof FlywheelError)) return 'error';
  return error.retriable ? 'retriable' : 'invalid';
}

/** Validates and handles one event; never throws: failures come back as `{ ok: false, error }`. */
export async function dispatch<A extends EventType>(input: DispatchInput<A>): Promise<Dispatched> {
  const { entry, metrics } = input;
  if (!entry.ok) {
    metrics.events.inc({ type: 'unknown', outcome: 'invalid' });
    return { ok: false, error: entry.error };
  }
  const raw = entry.event;
  const started = performance.now();
  try {
    const event = toTyped(raw, input.accepts, input.headers) as EventOf<A>;
    const log = input.log.child({ eventId: raw.id, eventType: raw.type, eventSource: raw.source });
    const outcome = await input.handle(event, { log, metrics });
    if (outcome.kind === 'reply') inheritTrace(outcome.event, event);
    metrics.events.inc({ type: raw.type, outcome: outcome.kind });
    metrics.latency.observe({ type: raw.type }, (performance.now() - started) / 1000);
    return { ok: true, event: raw, outcome };
  } catch (error) {
    const outcome = failureOutcome(error);
    metrics.events.inc({ type: raw.type, outcome });
    const level = outcome === 'invalid' ? 'info' : outcome === 'retriable' ? 'warn' : 'error';
    input.log[level](
      { err: error, eventId: raw.id, eventType: raw.type, eventSource: raw.source },
      'event not handled',
    );
    return { ok: false, event: raw, error };
  }
}

function toTyped(
  raw: RawEvent,
  accepts: ReadonlySet<string>,
  headers: Record<string, string>,
): FlywheelEvent {
  if (!isEventType(raw.type) || !accepts.has(raw.type)) {
    throw new InvalidInputError('type', `this function does not handle events of type ${raw.type}`);
  }
  const parsed = Catalog[raw.type].schema.safeParse(raw.data);
  if (!parsed.success)
    throw invalidInputFrom(parsed.error, { under: 'data', prefix: `invalid data for ${raw.type}: ` });
  const extensions = { ...raw.extensions };
  const traceparent = headers.traceparent;
  if (!extensions[Extensions.traceparent] && traceparent) extensions[Extensions.traceparent] = traceparent;
  return {
    specversion: '1.0',
    id: raw.id,
    source: raw.source,
    type: raw.type,
    time: raw.time ?? new Date().toISOString(),
    ...(raw.subject === undefined ? {} : { subject: raw.subject }),
    datacontenttype: 'application/json',
    data: parsed.data,
    extensions,
  } as FlywheelEvent;
}

/** Distributed tracing extension: a reply continues the incoming event's trace. */
function inheritTrace(reply: FlywheelEvent, incoming: FlywheelEvent): void {
  const tp = incoming.extensions[Extensions.traceparent];
  if (tp && !reply.extensions[Extensions.traceparent]) reply.extensions[Extensions.traceparent] = tp;
}
