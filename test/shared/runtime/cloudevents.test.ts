// Binary-mode CloudEvents read and written without the SDK, checked against the SDK's own HTTP binding.
import assert from 'node:assert/strict';
import { after, before, describe, it, mock } from 'node:test';
import { CloudEvent, HTTP, type Message } from 'cloudevents';
import { InvalidInputError } from '../../../shared/errors/index.ts';
import { EventTypes, type FlywheelEvent, makeEvent } from '../../../shared/events/index.ts';
import {
  type Parsed,
  type RawEvent,
  readRequest,
  toStructured,
  writeBinary,
} from '../../../shared/runtime/cloudevents.ts';
import { transaction } from '../../support/events.ts';
import { base, events, json, readable, rejected } from './cloudevents.fixtures.ts';

const NOW = Date.UTC(2026, 10, 2, 12, 30, 15, 250);
const REQUIRED = ['id', 'source', 'specversion', 'type'] as const;
/** The context attributes of CloudEvents 1.0 (§3.1, §3.2) and the data: every other property is an extension. */
const ATTRIBUTES = [
  'id',
  'source',
  'specversion',
  'type',
  'time',
  'subject',
  'datacontenttype',
  'dataschema',
  'data',
];

/** The binary reader as the SDK reads: header checks, then HTTP.toEvent, its attributes named here, not by the runtime. */
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
  let ce: CloudEvent<unknown>;
  try {
    ce = HTTP.toEvent<unknown>({ headers, body } as Message) as CloudEvent<unknown>;
  } catch (cause) {
    return fail('data', `unreadable event: ${(cause as Error).message}`, cause);
  }
  if (ce.specversion !== '1.0')
    return fail('specversion', `unsupported specversion ${ce.specversion}; expected 1.0`);
  const extensions: Record<string, string> = {};
  for (const [k, v] of Object.entries(ce)) {
    if (!ATTRIBUTES.includes(k) && v !== undefined && v !== null) extensions[k] = String(v);
  }
  const event: RawEvent = {
    id: ce.id,
    source: ce.source,
    type: ce.type,
    specversion: ce.specversion,
    data: ce.data,
    extensions,
  };
  if (ce.time) event.time = ce.time;
  if (ce.subject) event.subject = ce.subject;
  return { ok: true, event };
}

function fail(field: string, message: string, cause?: unknown): Parsed {
  return {
    ok: false,
    error: new InvalidInputError(field, message, cause === undefined ? undefined : { cause }),
  };
}

/** The binary writer as the SDK writes it: an SDK CloudEvent through HTTP.binary. */
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
  assert.ok(actual.error instanceof InvalidInputError);
  assert.equal(actual.error.field, expected.error.field);
  assert.equal(actual.error.message, expected.error.message);
  assert.equal(actual.error.status, 400);
  const [a, e] = [actual.error.cause, expected.error.cause] as [Error | undefined, Error | undefined];
  assert.equal(a?.constructor, e?.constructor);
  assert.equal(a?.message, e?.message);
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
    it(`rejects ${name} on field ${field}, as the SDK reading does`, () => {
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
    assert.ok(read.error instanceof InvalidInputError);
    assert.equal(read.error.status, 400);
    assert.equal(read.error.retriable, false);
    assert.equal(read.error.field, 'data');
    assert.ok(read.error.cause instanceof SyntaxError);
  });
});

describe('toStructured', () => {
  for (const [name, event] of events) {
    it(`serialises ${name} exactly as the SDK's toJSON does`, () => {
      const { extensions, ...rest } = event;
      const reference = new CloudEvent<unknown>({ ...extensions, ...rest }, false);
      assert.equal(JSON.stringify(toStructured(event)), JSON.stringify(reference));
    });
  }
});

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
