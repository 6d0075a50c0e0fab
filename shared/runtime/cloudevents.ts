// CloudEvents over HTTP: binary mode read and written directly, structured and batched modes through the SDK.
import { CloudEvent, HTTP, type Message } from 'cloudevents';
import type { FlywheelEvent } from '../events/index.ts';
import { InvalidInputError } from '../errors/index.ts';

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
/** Data content types the SDK parses as JSON; it matches them exactly (`application/json;charset=utf-8` stays text). */
const JSON_TYPES = new Set([
  'application/json',
  'application/json; charset=utf-8',
  'application/cloudevents+json',
  'application/cloudevents+json; charset=utf-8',
]);
/** Any other application/cloudevents* content type: the SDK takes the message as structured and rejects it. */
const CE_MEDIA_TYPE = 'application/cloudevents';
/**
 * Binary-mode headers the SDK gives meanings of its own (a 0.3 leftover it rejects on 1.0 events, base64 data it
 * decodes and may reject, an encoding it may drop): messages carrying one are read through the SDK.
 */
const SDK_HEADERS = ['ce-schemaurl', 'ce-data_base64', 'ce-datacontentencoding'] as const;
/** Extension names the SDK treats as attributes when it writes an event. */
const SHADOWING = new Set([...CORE, 'datacontentencoding', 'data_base64', 'schemaurl']);

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
export type Parsed = { ok: true; event: RawEvent } | { ok: false; error: InvalidInputError };

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

/**
 * Reads a binary-mode message (CloudEvents HTTP binding §3.1) directly, giving what the SDK's HTTP.toEvent gives.
 * Header names are lower-case, as Node and fetch deliver them.
 */
function readBinary(headers: Headers, body: string): Parsed {
  const id = headers['ce-id'];
  const source = headers['ce-source'];
  const specversion = headers['ce-specversion'];
  const type = headers['ce-type'];
  if (id === undefined && source === undefined && specversion === undefined && type === undefined) {
    return fail(
      'ce-id',
      'not a CloudEvent: no ce-* headers (binary mode) and no application/cloudevents+json body',
    );
  }
  if (!id) return missing('id');
  if (!source) return missing('source');
  if (!specversion) return missing('specversion');
  if (!type) return missing('type');
  if (
    specversion !== '1.0' ||
    headers['content-type']?.startsWith(CE_MEDIA_TYPE) ||
    SDK_HEADERS.some((h) => headers[h] !== undefined)
  ) {
    // Rejected or rare: the SDK decides, so an unreadable body is still reported before a wrong specversion.
    return readWithSdk({ headers, body }, 'data');
  }
  // ce-datacontenttype wins over content-type; the SDK also reads a bare `datacontenttype` header.
  const contentType = headers['ce-datacontenttype'] ?? (headers['content-type'] || headers.datacontenttype);
  let data: unknown;
  try {
    data = readData(body, contentType);
  } catch (cause) {
    return fail('data', `unreadable event: ${(cause as Error).message}`, cause);
  }
  const extensions: Record<string, string> = {};
  for (const header in headers) {
    const value = headers[header];
    if (value === undefined || !header.startsWith('ce-')) continue;
    const name = header.slice(3);
    if (!CORE.has(name)) extensions[name] = value;
  }
  const raw: RawEvent = {
    id,
    source,
    type,
    specversion,
    data,
    extensions,
    time: isoTime(headers['ce-time']),
  };
  const subject = headers['ce-subject'];
  if (subject) raw.subject = subject;
  return { ok: true, event: raw };
}

function missing(attr: (typeof REQUIRED)[number]): Parsed {
  return fail(`ce-${attr}`, `missing required attribute ${attr} (header ce-${attr})`);
}

/**
 * The data of a binary-mode message, read as the SDK reads it: JSON.parse only for the exact content types in
 * JSON_TYPES (others, and an absent one, keep the body as a string; an empty body stays ''), and a body that does
 * not open with `[`, `{`, `"` or `|` is parsed as a quoted string, so `42` reads as "42".
 */
function readData(body: string, contentType: string | undefined): unknown {
  if (!body || contentType === undefined || !JSON_TYPES.has(contentType)) return body;
  return JSON.parse(/^[[{"|]/.test(body) ? body : `"${body}"`);
}

/** `time` as the SDK gives it: any Date.parse-able value in ISO 8601 UTC with milliseconds; absent or unreadable, now. */
function isoTime(value: string | undefined): string {
  const ms = value ? Date.parse(value) : Number.NaN;
  return new Date(Number.isNaN(ms) ? Date.now() : ms).toISOString();
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
  return readWithSdk({ headers: { 'content-type': STRUCTURED }, body: obj }, 'data');
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

/**
 * The SDK's reading of one message (HTTP.toEvent), as a Parsed entry: structured events and the rare binary forms
 * the direct reader hands over.
 */
export function readWithSdk(message: Message, dataField: string): Parsed {
  let parsed: CloudEvent<unknown> | CloudEvent<unknown>[];
  // The SDK builds an error for every message it reads (the argument of its isStringOrObjectOrThrow), thrown or
  // not; its stack trace was most of the cost of reading a structured event. Only the message is used here.
  const stackTraceLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    parsed = HTTP.toEvent<unknown>(message) as CloudEvent<unknown> | CloudEvent<unknown>[];
  } catch (cause) {
    return fail(dataField, `unreadable event: ${(cause as Error).message}`, cause);
  } finally {
    Error.stackTraceLimit = stackTraceLimit;
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
    error: new InvalidInputError(field, message, cause === undefined ? undefined : { cause }),
  };
}

function toSdk(event: FlywheelEvent): CloudEvent<unknown> {
  return new CloudEvent<unknown>({ ...event.extensions, ...withoutExtensions(event) }, false);
}

function withoutExtensions(event: FlywheelEvent): Omit<FlywheelEvent, 'extensions'> {
  const { extensions: _ignored, ...rest } = event;
  return rest;
}

/**
 * Binary-mode headers and body for an event (what replies and K_SINK posts use), as the SDK's HTTP.binary writes
 * them (`time` normalised to ISO 8601 UTC). Events the SDK would rewrite (an empty id or time, an extension named
 * like an attribute) are written by the SDK itself.
 */
export function writeBinary(event: FlywheelEvent): { headers: Record<string, string>; body: string } {
  if (sdkRewrites(event)) {
    const msg = HTTP.binary(toSdk(event));
    return { headers: stringHeaders(msg.headers), body: String(msg.body ?? '') };
  }
  const headers: Record<string, string> = {
    'content-type': event.datacontenttype,
    'ce-id': event.id,
    'ce-time': new Date(event.time).toISOString(),
    'ce-type': event.type,
    'ce-source': event.source,
    'ce-specversion': event.specversion,
  };
  if (event.subject !== undefined) headers['ce-subject'] = event.subject;
  for (const [name, value] of Object.entries(event.extensions)) headers[`ce-${name}`] = String(value);
  return { headers, body: JSON.stringify(event.data) };
}

/**
 * Structured-mode JSON object for an event (batch bodies, logs, files), serialising as the SDK's toJSON does: the
 * attributes in the SDK's order, `time` in ISO 8601 UTC, then the extensions. Events the SDK would rewrite are
 * written by the SDK itself (as in writeBinary).
 */
export function toStructured(event: FlywheelEvent): Record<string, unknown> {
  if (sdkRewrites(event)) return toSdk(event).toJSON();
  const out: Record<string, unknown> = {
    id: event.id,
    time: new Date(event.time).toISOString(),
    type: event.type,
    source: event.source,
    specversion: event.specversion,
    datacontenttype: event.datacontenttype,
  };
  if (event.subject !== undefined) out.subject = event.subject;
  if (event.data !== undefined) out.data = event.data;
  for (const [name, value] of Object.entries(event.extensions)) out[name] = value;
  return out;
}

/** True when the SDK would change the event on its way out (an empty id or time, an extension named like an attribute). */
function sdkRewrites(event: FlywheelEvent): boolean {
  return !event.id || !event.time || Object.keys(event.extensions).some((name) => SHADOWING.has(name));
}

function stringHeaders(h: Message['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h))
    if (v !== undefined) out[k] = Array.isArray(v) ? v.join(',') : String(v);
  return out;
}
