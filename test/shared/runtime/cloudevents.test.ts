// Binary-mode CloudEvents read and written without the SDK, checked against the SDK's own HTTP binding.
import assert from 'node:assert/strict';
import { after, before, describe, it, mock } from 'node:test';
import { CloudEvent, HTTP, type Message } from 'cloudevents';
import { InvalidEventError } from '../../../shared/errors/index.ts';
import { EventTypes, type FlywheelEvent, makeEvent } from '../../../shared/events/index.ts';
import {
  type Parsed,
  readRequest,
  readWithSdk,
  writeBinary,
} from '../../../shared/runtime/cloudevents.ts';
import { transaction } from '../../support/events.ts';

const NOW = Date.UTC(2026, 10, 2, 12, 30, 15, 250);
const REQUIRED = ['id', 'source', 'specversion', 'type'] as const;

/** The binary reader as it was: header checks, then the SDK's HTTP.toEvent. */
function referenceRead(headers: Record<string, string>, body: string): Parsed {
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
  return readWithSdk({ headers, body }, 'data');
}

function fail(field: string, message: string, cause?: unknown): Parsed {
  return {
    ok: false,
    error: new InvalidEventError(field, message, cause === undefined ? undefined : { cause }),
  };
}

/** The binary writer as it was: an SDK CloudEvent through HTTP.binary. */
function referenceWrite(event: FlywheelEvent): { headers: Record<string, string>; body: string } {
  const { extensions, ...rest } = event;
  const msg = HTTP.binary(new CloudEvent<unknown>({ ...extensions, ...rest }, false));
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(msg.headers)) if (v !== undefined) headers[k] = String(v);
  return { headers, body: String(msg.body ?? '') };
}

function readBinary(headers: Record<string, string>, body: string): Parsed {
  const request = readRequest(headers, body);
  assert.equal(request.mode, 'binary');
  assert.equal(request.entries.length, 1);
  const [entry] = request.entries;
  assert.ok(entry);
  return entry;
}

/** Compares two read results: the same event, or the same error (class, field, message, status, cause). */
function assertSameParse(actual: Parsed, expected: Parsed): void {
  if (expected.ok) {
    assert.ok(actual.ok, `expected an event, got ${actual.ok ? '' : actual.error.message}`);
    assert.deepStrictEqual(actual.event, expected.event);
    return;
  }
  assert.ok(!actual.ok, 'expected an error, got an event');
  assert.ok(actual.error instanceof InvalidEventError);
  assert.equal(actual.error.field, expected.error.field);
  assert.equal(actual.error.message, expected.error.message);
  assert.equal(actual.error.status, 400);
  const [a, e] = [actual.error.cause, expected.error.cause] as [Error | undefined, Error | undefined];
  assert.equal(a?.constructor, e?.constructor);
  assert.equal(a?.message, e?.message);
}

const base = {
  'ce-id': 'evt-1',
  'ce-source': 'flywheel/ingest',
  'ce-type': EventTypes.transaction,
  'ce-specversion': '1.0',
};
const json = JSON.stringify(transaction());

/** Messages that read into events, each with the headers (lower-case, as Node gives them) and body. */
const readable: [string, Record<string, string>, string][] = [
  ['a JSON body with application/json', { ...base, 'content-type': 'application/json' }, json],
  [
    'subject, extensions and a time in UTC with milliseconds',
    {
      ...base,
      'content-type': 'application/json',
      'ce-time': '2026-11-01T10:00:00.123Z',
      'ce-subject': 'c-1',
      'ce-traceparent': '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      'ce-flywheelmodel': 'risk@3',
      'ce-riskband': 'high',
    },
    json,
  ],
  ['a time without fractional seconds', { ...base, 'ce-time': '2026-11-01T10:00:00Z' }, json],
  [
    'a time with an offset and microseconds',
    { ...base, 'ce-time': '2026-11-01T10:00:00.123456+02:00' },
    json,
  ],
  ['a time with a negative offset', { ...base, 'ce-time': '2026-11-01T23:59:59.9-05:30' }, json],
  ['a date-only time', { ...base, 'ce-time': '2026-11-01' }, json],
  ['an HTTP-date time', { ...base, 'ce-time': 'Sun, 01 Nov 2026 10:00:00 GMT' }, json],
  ['an unreadable time (read as now)', { ...base, 'ce-time': 'yesterday' }, json],
  ['no time (read as now)', { ...base, 'content-type': 'application/json' }, json],
  [
    'an empty time, subject and extension',
    { ...base, 'ce-time': '', 'ce-subject': '', 'ce-empty': '' },
    json,
  ],
  ['application/json; charset=utf-8', { ...base, 'content-type': 'application/json; charset=utf-8' }, json],
  [
    'application/json;charset=utf-8 (kept as text)',
    { ...base, 'content-type': 'application/json;charset=utf-8' },
    json,
  ],
  ['a +json type (kept as text)', { ...base, 'content-type': 'application/vnd.flywheel+json' }, json],
  ['upper-case APPLICATION/JSON (kept as text)', { ...base, 'content-type': 'APPLICATION/JSON' }, json],
  ['no content type (kept as text)', { ...base }, json],
  ['an empty content type (kept as text)', { ...base, 'content-type': '' }, json],
  ['a text/plain body', { ...base, 'content-type': 'text/plain' }, 'hello, world'],
  [
    'ce-datacontenttype over content-type',
    { ...base, 'content-type': 'text/plain', 'ce-datacontenttype': 'application/json' },
    json,
  ],
  ['a bare datacontenttype header', { ...base, datacontenttype: 'application/json' }, json],
  ['an empty body with a JSON type', { ...base, 'content-type': 'application/json' }, ''],
  ['an empty body without a content type', { ...base }, ''],
  ['a JSON array', { ...base, 'content-type': 'application/json' }, '[1,2,{"a":null}]'],
  ['a JSON string', { ...base, 'content-type': 'application/json' }, '"quoted"'],
  [
    'a bare number under a JSON type (read as a string)',
    { ...base, 'content-type': 'application/json' },
    '42',
  ],
  [
    'a bare word under a JSON type (read as a string)',
    { ...base, 'content-type': 'application/json' },
    'hello',
  ],
  ['a bare word with a backslash escape', { ...base, 'content-type': 'application/json' }, 'tab\\there'],
  [
    'unicode data and a unicode extension',
    { ...base, 'content-type': 'application/json', 'ce-segment': 'Zoë' },
    JSON.stringify({ name: 'Zoë Ñandú', city: '東京', emoji: '🚀', rtl: 'שלום' }),
  ],
  ['unicode text', { ...base, 'content-type': 'text/plain; charset=utf-8' }, 'naïve café 🚀 東京'],
  [
    'ce-dataschema and ce-data headers (not extensions)',
    { ...base, 'ce-dataschema': 'https://x/s', 'ce-data': 'x' },
    json,
  ],
  [
    'other HTTP headers (not extensions)',
    { ...base, host: 'h', 'content-length': '2', traceparent: 't' },
    '{}',
  ],
  ['an extension named by "ce-" alone', { ...base, 'ce-': 'nameless' }, json],
  ['an empty ce-schemaurl (an extension)', { ...base, 'ce-schemaurl': '' }, json],
  ['valid ce-data_base64 (an extension)', { ...base, 'ce-data_base64': 'aGVsbG8=' }, json],
  [
    'ce-datacontentencoding base64 under application/json (dropped)',
    { ...base, 'content-type': 'application/json', 'ce-datacontentencoding': 'base64' },
    json,
  ],
  ['ce-datacontentencoding otherwise (an extension)', { ...base, 'ce-datacontentencoding': 'gzip' }, json],
];

/** Messages that are rejected: [name, headers, body, field, message prefix]. */
const rejected: [string, Record<string, string>, string, string, string][] = [
  ['no ce-* headers', { 'content-type': 'application/json' }, json, 'ce-id', 'not a CloudEvent'],
  ['no ce-id', omit('ce-id'), json, 'ce-id', 'missing required attribute id (header ce-id)'],
  ['an empty ce-id', { ...base, 'ce-id': '' }, json, 'ce-id', 'missing required attribute id (header ce-id)'],
  [
    'no ce-source',
    omit('ce-source'),
    json,
    'ce-source',
    'missing required attribute source (header ce-source)',
  ],
  [
    'no ce-specversion',
    omit('ce-specversion'),
    json,
    'ce-specversion',
    'missing required attribute specversion (header ce-specversion)',
  ],
  ['no ce-type', omit('ce-type'), json, 'ce-type', 'missing required attribute type (header ce-type)'],
  [
    'specversion 0.3',
    { ...base, 'ce-specversion': '0.3' },
    json,
    'specversion',
    'unsupported specversion 0.3; expected 1.0',
  ],
  [
    'specversion 2.0',
    { ...base, 'ce-specversion': '2.0' },
    json,
    'specversion',
    'unsupported specversion 2.0; expected 1.0',
  ],
  [
    'a truncated JSON body',
    { ...base, 'content-type': 'application/json' },
    '{"amount": 4',
    'data',
    'unreadable event: ',
  ],
  [
    'a JSON body with leading space',
    { ...base, 'content-type': 'application/json' },
    ' {"a":1}',
    'data',
    'unreadable event: ',
  ],
  [
    'a bare word with a quote under a JSON type',
    { ...base, 'content-type': 'application/json' },
    'say "hi"',
    'data',
    'unreadable event: ',
  ],
  [
    'a body opening with | under a JSON type',
    { ...base, 'content-type': 'application/json' },
    '|x',
    'data',
    'unreadable event: ',
  ],
  [
    'an unreadable body and specversion 2.0 (the body is reported first)',
    { ...base, 'ce-specversion': '2.0', 'content-type': 'application/json' },
    '{',
    'data',
    'unreadable event: ',
  ],
  [
    'specversion 0.3 with ce-dataschema',
    { ...base, 'ce-specversion': '0.3', 'ce-dataschema': 'https://x/s' },
    json,
    'data',
    'unreadable event: cannot set dataschema on version 0.3 event',
  ],
  [
    'a ce-schemaurl on a 1.0 event',
    { ...base, 'ce-schemaurl': 'https://x/s' },
    json,
    'data',
    'unreadable event: cannot set schemaurl on version 1.0 event',
  ],
  [
    'ce-data_base64 that is not base64',
    { ...base, 'ce-data_base64': 'not base64!' },
    json,
    'data',
    'unreadable event: ',
  ],
  [
    'another application/cloudevents media type',
    { ...base, 'content-type': 'application/cloudevents+xml' },
    '<event/>',
    'data',
    'unreadable event: ',
  ],
];

function omit(header: keyof typeof base): Record<string, string> {
  const { [header]: _dropped, ...rest } = base;
  return rest;
}

describe('readRequest in binary mode', () => {
  before(() => mock.timers.enable({ apis: ['Date'], now: NOW }));
  after(() => mock.timers.reset());

  for (const [name, headers, body] of readable) {
    it(`reads ${name} as the SDK does`, () => {
      const expected = referenceRead(headers, body);
      assert.ok(expected.ok, 'the reference reads it');
      assertSameParse(readBinary(headers, body), expected);
    });
  }

  for (const [name, headers, body, field, message] of rejected) {
    it(`rejects ${name} on field ${field}, as before`, () => {
      const actual = readBinary(headers, body);
      assert.ok(!actual.ok);
      assert.equal(actual.error.field, field);
      assert.ok(
        actual.error.message.startsWith(message),
        `"${actual.error.message}" starts with "${message}"`,
      );
      assertSameParse(actual, referenceRead(headers, body));
    });
  }

  it('normalises ce-time to ISO 8601 UTC with milliseconds', () => {
    const read = readBinary({ ...base, 'ce-time': '2026-11-01T10:00:00.123456+02:00' }, json);
    assert.ok(read.ok);
    assert.equal(read.event.time, '2026-11-01T08:00:00.123Z');
  });

  it('reads a missing or unreadable ce-time as the time of reading', () => {
    for (const headers of [base, { ...base, 'ce-time': 'soon' }]) {
      const read = readBinary(headers, json);
      assert.ok(read.ok);
      assert.equal(read.event.time, new Date(NOW).toISOString());
    }
  });

  it('parses application/json data, keeps other data as text and an empty body as an empty string', () => {
    const parsed = readBinary({ ...base, 'content-type': 'application/json' }, json);
    const text = readBinary({ ...base, 'content-type': 'text/plain' }, json);
    const empty = readBinary({ ...base, 'content-type': 'application/json' }, '');
    assert.ok(parsed.ok && text.ok && empty.ok);
    assert.deepEqual(parsed.event.data, transaction());
    assert.equal(text.event.data, json);
    assert.equal(empty.event.data, '');
  });

  it('takes every other ce-* header as an extension named without the prefix', () => {
    const read = readBinary(
      { ...base, 'ce-subject': 'c-1', 'ce-riskband': 'high', 'ce-traceparent': 't' },
      json,
    );
    assert.ok(read.ok);
    assert.deepEqual(read.event.extensions, { riskband: 'high', traceparent: 't' });
    assert.equal(read.event.subject, 'c-1');
  });

  it('reports an unreadable JSON body as a 400 on field data with the SyntaxError as cause', () => {
    const read = readBinary({ ...base, 'content-type': 'application/json' }, '{"amount": 4');
    assert.ok(!read.ok);
    assert.ok(read.error instanceof InvalidEventError);
    assert.equal(read.error.status, 400);
    assert.equal(read.error.retriable, false);
    assert.equal(read.error.field, 'data');
    assert.ok(read.error.cause instanceof SyntaxError);
  });
});

function withoutSubject(event: FlywheelEvent): FlywheelEvent {
  const { subject: _dropped, ...rest } = event;
  return rest;
}

/** Events as the functions build them, plus the edge cases the SDK treats specially. */
const events: [string, FlywheelEvent][] = [
  [
    'a transaction with a subject',
    makeEvent({ type: EventTypes.transaction, source: 's', data: transaction() }),
  ],
  [
    'an event without a subject',
    withoutSubject(
      makeEvent({
        type: EventTypes.transaction,
        source: 'flywheel/ingest',
        data: transaction(),
        id: 'fixed-id',
        time: Date.UTC(2026, 0, 1),
      }),
    ),
  ],
  [
    'extensions and a time with milliseconds',
    makeEvent({
      type: EventTypes.transaction,
      source: 'flywheel/score',
      data: transaction(),
      id: 'reply-1',
      time: Date.UTC(2026, 10, 2, 12, 0, 0, 7),
      extensions: { traceparent: '00-abc-def-01', flywheelmodel: 'risk@3', riskband: 'high', attempt: 2 },
    }),
  ],
  [
    'unicode data and extension values',
    makeEvent({
      type: EventTypes.transaction,
      source: 'flywheel/ingest',
      data: transaction({ merchantCategory: 'café ☕ 東京 🚀' }),
      subject: 'Zoë',
      extensions: { segment: 'ÆØÅ' },
    }),
  ],
  [
    'a time with an offset (normalised)',
    {
      ...makeEvent({ type: EventTypes.transaction, source: 's', data: transaction() }),
      time: '2026-11-01T10:00:00+02:00',
    },
  ],
  [
    'an extension shadowing an absent subject',
    withoutSubject(
      makeEvent({
        type: EventTypes.transaction,
        source: 's',
        data: transaction(),
        extensions: { subject: 'from-extension' },
      }),
    ),
  ],
  [
    'extensions named like attributes',
    makeEvent({
      type: EventTypes.transaction,
      source: 's',
      data: transaction(),
      extensions: {
        dataschema: 'https://x/s',
        datacontentencoding: 'gzip',
        id: 'shadowed',
        data_base64: 'aGk=',
      },
    }),
  ],
];

describe('writeBinary', () => {
  for (const [name, event] of events) {
    it(`writes ${name} exactly as HTTP.binary does`, () => {
      const actual = writeBinary(event);
      const expected = referenceWrite(event);
      assert.deepStrictEqual(actual, expected);
      assert.deepStrictEqual(Object.keys(actual.headers), Object.keys(expected.headers));
    });

    it(`writes ${name} so that HTTP.toEvent reads it back`, () => {
      const { headers, body } = writeBinary(event);
      const ce = HTTP.toEvent<unknown>({ headers, body } as Message) as CloudEvent<unknown>;
      const { extensions, ...rest } = event;
      const expected = new CloudEvent<unknown>({ ...extensions, ...rest }, false);
      assert.equal(ce.id, expected.id);
      assert.equal(ce.source, event.source);
      assert.equal(ce.type, event.type);
      assert.equal(ce.specversion, '1.0');
      assert.equal(ce.time, new Date(event.time).toISOString());
      assert.equal(ce.subject, expected.subject);
      assert.equal(ce.datacontenttype, 'application/json');
      assert.deepEqual(ce.data, event.data);
    });
  }

  it('writes the attributes as ce-* headers, the extensions as ce-<name>, and the data as JSON', () => {
    const event = makeEvent({
      type: EventTypes.transaction,
      source: 'flywheel/score',
      data: transaction(),
      id: 'r-1',
      time: Date.UTC(2026, 10, 2),
      extensions: { riskband: 'low' },
    });
    assert.deepStrictEqual(writeBinary(event), {
      headers: {
        'content-type': 'application/json',
        'ce-id': 'r-1',
        'ce-time': '2026-11-02T00:00:00.000Z',
        'ce-type': EventTypes.transaction,
        'ce-source': 'flywheel/score',
        'ce-specversion': '1.0',
        'ce-subject': 'c-1',
        'ce-riskband': 'low',
      },
      body: json,
    });
  });

  it('throws, as the SDK does, for an extension named schemaurl', () => {
    const event = makeEvent({
      type: EventTypes.transaction,
      source: 's',
      data: transaction(),
      extensions: { schemaurl: 'u' },
    });
    assert.throws(() => referenceWrite(event), /cannot set schemaurl on version 1.0 event/);
    assert.throws(() => writeBinary(event), /cannot set schemaurl on version 1.0 event/);
  });

  it('reads back what it writes through readRequest', () => {
    const event = events[2]?.[1];
    assert.ok(event);
    const { headers, body } = writeBinary(event);
    const read = readBinary(headers, body);
    assert.ok(read.ok);
    assert.deepStrictEqual(read.event, {
      id: event.id,
      source: event.source,
      type: event.type,
      specversion: '1.0',
      time: event.time,
      subject: event.subject,
      data: event.data,
      extensions: event.extensions,
    });
  });
});
