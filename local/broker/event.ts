// The broker's view of an event: flat attributes for filtering and ready-made binary-mode headers for delivery.
import type { InvalidInputError } from '../../shared/errors/index.ts';
import { readRequest } from '../../shared/runtime/cloudevents.ts';

/** An accepted event, immutable once built: filtered on `attrs`, delivered with `headers` + `body` (binary mode). */
export interface BrokerEvent {
  /** Every context attribute and extension as a string (datacontenttype included), what trigger filters read. */
  attrs: Readonly<Record<string, string>>;
  /** The data as it goes on the wire in binary mode. */
  body: string | Buffer;
  /** Binary-mode headers (ce-*, content-type, content-length), built once and shared by every delivery attempt. */
  headers: Readonly<Record<string, string>>;
}

/** One entry of a request: a broker event, or why it is not one (with its index in a batch). */
export type ReadEntry =
  | { ok: true; event: BrokerEvent }
  | { ok: false; index: number; error: InvalidInputError };

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\b|^text\/json\b/i;
/** CloudEvents HTTP binding §3.1.3.2: header values outside printable ASCII are percent-encoded. */
const NEEDS_ENCODING = /[^\x20-\x7e]/;

/**
 * Reads an HTTP message (an ingress request or a subscriber's reply) into broker events. `readRequest` does the
 * checking and names the offending attribute; the event itself is rebuilt from the wire form so that every
 * attribute (dataschema, datacontenttype, extensions) and the data bytes pass through untouched.
 */
export function readEvents(
  headers: Record<string, string>,
  body: string,
): { mode: string; entries: ReadEntry[] } {
  const request = readRequest(headers, body);
  const entries: ReadEntry[] = [];
  let objects: unknown[] | undefined;
  for (const [index, entry] of request.entries.entries()) {
    if (!entry.ok) {
      entries.push({ ok: false, index, error: entry.error });
      continue;
    }
    if (request.mode === 'binary') {
      entries.push({ ok: true, event: fromBinary(headers, body) });
      continue;
    }
    objects ??= structuredObjects(request.mode, body);
    const obj = objects[index];
    entries.push({ ok: true, event: fromStructured(obj as Record<string, unknown>) });
  }
  return { mode: request.mode, entries };
}

/** True when a response carries an event (ce-* headers or a CloudEvents content type), i.e. is meant as a reply. */
export function looksLikeEvent(headers: Record<string, string>): boolean {
  return (
    headers['ce-id'] !== undefined ||
    headers['ce-type'] !== undefined ||
    (headers['content-type'] ?? '').startsWith('application/cloudevents')
  );
}

function structuredObjects(mode: string, body: string): unknown[] {
  const parsed: unknown = JSON.parse(body);
  return mode === 'batch' ? (parsed as unknown[]) : [parsed];
}

function fromBinary(headers: Record<string, string>, body: string): BrokerEvent {
  const attrs: Record<string, string> = {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) {
    if (k.length > 3 && k.startsWith('ce-')) {
      attrs[k.slice(3)] = v;
      out[k] = v;
    }
  }
  const contentType = headers['content-type'];
  if (contentType) {
    attrs.datacontenttype = contentType;
    out['content-type'] = contentType;
  }
  out['content-length'] = String(Buffer.byteLength(body));
  return { attrs, body, headers: out };
}

function fromStructured(obj: Record<string, unknown>): BrokerEvent {
  const attrs: Record<string, string> = {};
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(obj)) {
    if (k === 'data' || k === 'data_base64' || v === undefined || v === null) continue;
    const value = typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v);
    attrs[k] = value;
    if (k === 'datacontenttype') headers['content-type'] = encodeHeader(value);
    else headers[`ce-${k}`] = encodeHeader(value);
  }
  let body: string | Buffer = '';
  if (typeof obj.data_base64 === 'string') body = Buffer.from(obj.data_base64, 'base64');
  else if (obj.data !== undefined) {
    const json = attrs.datacontenttype === undefined || JSON_TYPE.test(attrs.datacontenttype);
    body = json || typeof obj.data !== 'string' ? JSON.stringify(obj.data) : obj.data;
    if (attrs.datacontenttype === undefined) headers['content-type'] = 'application/json';
  }
  headers['content-length'] = String(Buffer.byteLength(body));
  return { attrs, body, headers };
}

function encodeHeader(value: string): string {
  if (!NEEDS_ENCODING.test(value)) return value;
  let out = '';
  for (const ch of value) {
    const code = ch.codePointAt(0) ?? 0;
    out += code >= 0x20 && code <= 0x7e ? ch : encodeURIComponent(ch);
  }
  return out;
}

/**
 * The event in structured mode (CloudEvents JSON format), with `extra` attributes added: what the dead-letter
 * file holds, so a line can be posted back to the broker as `application/cloudevents+json`.
 */
export function toStructuredJson(
  event: BrokerEvent,
  extra: Record<string, string | number>,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...event.attrs, ...extra };
  if (Buffer.isBuffer(event.body)) {
    out.data_base64 = event.body.toString('base64');
    return out;
  }
  if (event.body === '') return out;
  const type = event.attrs.datacontenttype;
  if (type === undefined || JSON_TYPE.test(type)) {
    try {
      out.data = JSON.parse(event.body);
      return out;
    } catch {
      // not JSON after all: keep it as text
    }
  }
  out.data = event.body;
  return out;
}
