// Messages and events the CloudEvents binary-mode tests read and write: what reads, what is rejected, what is written.
import { EventTypes, type FlywheelEvent, makeEvent } from '../../../shared/events/index.ts';
import { transaction } from '../../support/events.ts';

export const base = {
  'ce-id': 'evt-1',
  'ce-source': 'flywheel/ingest',
  'ce-type': EventTypes.transaction,
  'ce-specversion': '1.0',
};
export const json = JSON.stringify(transaction());

/** Messages that read into events, each with the headers (lower-case, as Node gives them) and body. */
export const readable: [string, Record<string, string>, string][] = [
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
export const rejected: [string, Record<string, string>, string, string, string][] = [
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

function withoutSubject(event: FlywheelEvent): FlywheelEvent {
  const { subject: _dropped, ...rest } = event;
  return rest;
}

/** Events as the functions build them, plus the edge cases the SDK treats specially. */
export const events: [string, FlywheelEvent][] = [
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
