// The cloudevents SDK adapter: reads binary, structured and batched HTTP messages and writes binary/structured ones.
import { CloudEvent, HTTP, type Message } from 'cloudevents';
import type { FlywheelEvent } from '../events/index.ts';
import { InvalidEventError } from '../errors/index.ts';

const BATCH = 'application/cloudevents-batch+json';
const STRUCTURED = 'application/cloudevents+json';
/** Required context attributes (CloudEvents 1.0 §3.1). */
const REQUIRED = ['id', 'source', 'specversion', 'type'] as const;
const CORE = new Set([
  'id',
  'source',
  'specversion',
  'type',
  'time',
  'subject',
  'datacontenttype',
  'dataschema',
  'data',
]);

/** An event read off the wire, before its data is checked against the catalog. */
export interface RawEvent {
  id: string;
  source: string;
  type: string;
  specversion: string;
  time?: string;
  subject?: string;
  data: unknown;
  extensions: Record<string, string>;
}

/** One entry of a parsed request: the event, or why it could not be read. */
export type Parsed = { ok: true; event: RawEvent } | { ok: false; error: InvalidEventError };

export interface ParsedRequest {
  mode: 'binary' | 'structured' | 'batch';
  entries: Parsed[];
}

type Headers = Record<string, string>;

/** Parses an HTTP request into events; names the missing attribute that the SDK would not (it says "no cloud event detected"). */
export function readRequest(headers: Headers, body: string): ParsedRequest {
  const contentType = headers['content-type'] ?? '';
  if (contentType.startsWith(BATCH)) return { mode: 'batch', entries: readBatch(body) };
  if (contentType.startsWith(STRUCTURED)) return { mode: 'structured', entries: [readStructured(body)] };
  return { mode: 'binary', entries: [readBinary(headers, body)] };
}

function readBinary(headers: Headers, body: string): Parsed {
  if (!REQUIRED.some((a) => headers[`ce-${a}`] !== undefined)) {
    return fail(
      'ce-id',
      'not a CloudEvent: no ce-* headers (binary mode) and no application/cloudevents+json body',
    );
  }
  for (const attr of REQUIRED) {
    if (!headers[`ce-${attr}`])
      return fail(`ce-${attr}`, `missing required attribute ${attr} (header ce-${attr})`);
  }
  return toRaw({ headers, body }, 'data');
}

function readStructured(body: string | object): Parsed {
  let obj: unknown = body;
  if (typeof body === 'string') {
    try {
      obj = JSON.parse(body);
    } catch (cause) {
      return fail('body', 'structured event is not valid JSON', cause);
    }
  }
  const missing = checkAttributes(obj);
  if (missing) return missing;
  return toRaw({ headers: { 'content-type': STRUCTURED }, body: obj }, 'data');
}

function readBatch(body: string): Parsed[] {
  let list: unknown;
  try {
    list = JSON.parse(body);
  } catch (cause) {
    return [fail('body', 'batch is not valid JSON', cause)];
  }
  if (!Array.isArray(list)) return [fail('body', 'a batch must be a JSON array of structured events')];
  return list.map((item) =>
    item !== null && typeof item === 'object' ? readStructured(item) : fail('body', 'not an object'),
  );
}

function checkAttributes(obj: unknown): Parsed | undefined {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj))
    return fail('body', 'an event must be a JSON object');
  const rec = obj as Record<string, unknown>;
  for (const attr of REQUIRED) {
    const v = rec[attr];
    if (typeof v !== 'string' || v === '') return fail(attr, `missing required attribute ${attr}`);
  }
  return undefined;
}

function toRaw(message: Message, dataField: string): Parsed {
  let parsed: CloudEvent<unknown> | CloudEvent<unknown>[];
  try {
    parsed = HTTP.toEvent<unknown>(message) as CloudEvent<unknown> | CloudEvent<unknown>[];
  } catch (cause) {
    return fail(dataField, `unreadable event: ${(cause as Error).message}`, cause);
  }
  const ce = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!ce) return fail('body', 'no event');
  if (ce.specversion !== '1.0')
    return fail('specversion', `unsupported specversion ${ce.specversion}; expected 1.0`);
  const extensions: Record<string, string> = {};
  for (const [k, v] of Object.entries(ce)) {
    if (!CORE.has(k) && v !== undefined && v !== null) extensions[k] = String(v);
  }
  const raw: RawEvent = {
    id: ce.id,
    source: ce.source,
    type: ce.type,
    specversion: ce.specversion,
    data: ce.data,
    extensions,
  };
  if (ce.time) raw.time = ce.time;
  if (ce.subject) raw.subject = ce.subject;
  return { ok: true, event: raw };
}

function fail(field: string, message: string, cause?: unknown): Parsed {
  return {
    ok: false,
    error: new InvalidEventError(field, message, cause === undefined ? undefined : { cause }),
  };
}

function toSdk(event: FlywheelEvent): CloudEvent<unknown> {
  return new CloudEvent<unknown>({ ...event.extensions, ...withoutExtensions(event) }, false);
}

function withoutExtensions(event: FlywheelEvent): Omit<FlywheelEvent, 'extensions'> {
  const { extensions: _ignored, ...rest } = event;
  return rest;
}

/** Binary-mode headers and body for an event (what replies and K_SINK posts use). */
export function writeBinary(event: FlywheelEvent): { headers: Record<string, string>; body: string } {
  const msg = HTTP.binary(toSdk(event));
  return { headers: stringHeaders(msg.headers), body: String(msg.body ?? '') };
}

/** Structured-mode JSON object for an event (batch bodies, logs, files). */
export function toStructured(event: FlywheelEvent): Record<string, unknown> {
  return toSdk(event).toJSON();
}

function stringHeaders(h: Message['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h))
    if (v !== undefined) out[k] = Array.isArray(v) ? v.join(',') : String(v);
  return out;
}
