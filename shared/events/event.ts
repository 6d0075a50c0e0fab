// The in-process CloudEvent shape and the builder that makes valid ones (id, source, time, subject).
import { randomUUID } from 'node:crypto';
import type { EventData } from './catalog.ts';
import type { EventType } from './types.ts';

/** A CloudEvents 1.0 event as Flywheel handles it; the runtime converts to and from the SDK at the HTTP edge. */
export interface FlywheelEvent<T extends EventType = EventType> {
  specversion: '1.0';
  id: string;
  source: string;
  type: T;
  time: string;
  subject?: string;
  datacontenttype: 'application/json';
  data: EventData[T];
  /** Extension attributes (flywheelmodel, riskband, segment, traceparent…), string-valued. */
  extensions: Record<string, string>;
}

/** Any catalog event, discriminated by `type`. */
export type AnyFlywheelEvent = { [T in EventType]: FlywheelEvent<T> }[EventType];

export interface MakeEventInput<T extends EventType> {
  type: T;
  source: string;
  data: EventData[T];
  /** Deterministic ids make replies idempotent: the same input yields the same reply id. */
  id?: string;
  subject?: string;
  time?: Date | number;
  extensions?: Record<string, string | number>;
}

/** Builds a valid event; `subject` defaults to the data's customerId when it has one. */
export function makeEvent<T extends EventType>(input: MakeEventInput<T>): FlywheelEvent<T> {
  const data = input.data as EventData[T] & { customerId?: unknown };
  const subject = input.subject ?? (typeof data.customerId === 'string' ? data.customerId : undefined);
  const extensions: Record<string, string> = {};
  for (const [k, v] of Object.entries(input.extensions ?? {})) extensions[k] = String(v);
  const event: FlywheelEvent<T> = {
    specversion: '1.0',
    id: input.id ?? randomUUID(),
    source: input.source,
    type: input.type,
    time: new Date(input.time ?? Date.now()).toISOString(),
    datacontenttype: 'application/json',
    data: input.data,
    extensions,
  };
  if (subject !== undefined) event.subject = subject;
  return event;
}

/** The idempotency key of an event everywhere in Flywheel: source + id (CloudEvents §3.1). */
export function eventKey(event: { source: string; id: string }): string {
  return `${event.source}\u0000${event.id}`;
}
