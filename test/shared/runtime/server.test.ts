// The CloudEvents runtime over real HTTP: modes, rejections, status mapping, readiness, metrics, traceparent.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CloudEvent, HTTP } from 'cloudevents';
import { EventTypes } from '../../../shared/events/index.ts';
import { createLogger, type RunningFunction, serve } from '../../../shared/runtime/index.ts';
import { type EchoControls, echoControls, echoFunction } from '../../support/echo-function.ts';
import { transaction } from '../../support/events.ts';

const log = createLogger({ name: 'test', level: process.env.TEST_LOG_LEVEL ?? 'silent' });

function event(overrides: Record<string, unknown> = {}) {
  return new CloudEvent({
    id: 'e-1',
    source: 'test/source',
    type: EventTypes.transaction,
    datacontenttype: 'application/json',
    data: transaction(),
    ...overrides,
  });
}

async function post(url: string, msg: { headers: Record<string, unknown>; body: unknown }) {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(msg.headers)) headers[k] = String(v);
  return fetch(url, {
    method: 'POST',
    headers,
    body: typeof msg.body === 'string' ? msg.body : JSON.stringify(msg.body),
  });
}

describe('serve()', () => {
  let fn: RunningFunction;
  let controls: EchoControls;
  before(async () => {
    controls = echoControls();
    fn = await serve(echoFunction(controls), {
      port: 0,
      host: '127.0.0.1',
      log,
      maxBodyBytes: 4096,
      shutdownGraceMs: 1000,
    });
  });
  after(() => fn.close());

  it('hands a binary-mode event to the handler unchanged and replies 200 in binary mode', async () => {
    controls.seen.length = 0;
    const res = await post(fn.url, HTTP.binary(event({ traceid: 'x1' })));
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('ce-id'), 'echo-e-1');
    assert.equal(res.headers.get('ce-type'), EventTypes.transaction);
    assert.deepEqual(JSON.parse(await res.text()), transaction());
    assert.equal(controls.seen.length, 1);
    assert.deepEqual(controls.seen[0], {
      id: 'e-1',
      source: 'test/source',
      type: EventTypes.transaction,
      data: transaction(),
      extensions: { traceid: 'x1' },
    });
  });

  it('reads structured mode the same way', async () => {
    controls.seen.length = 0;
    const res = await post(fn.url, HTTP.structured(event({ id: 'e-2' })));
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('ce-id'), 'echo-e-2');
    assert.equal(controls.seen[0]?.id, 'e-2');
    assert.deepEqual(controls.seen[0]?.data, transaction());
  });

  it('handles every event of a batch and answers 202 with one receipt per event', async () => {
    controls.seen.length = 0;
    const body = JSON.stringify([
      event({ id: 'b-1' }).toJSON(),
      event({ id: 'b-2', data: transaction({ customerId: 'quiet' }) }).toJSON(),
    ]);
    const res = await post(fn.url, {
      headers: { 'content-type': 'application/cloudevents-batch+json' },
      body,
    });
    assert.equal(res.status, 202);
    const { results } = (await res.json()) as {
      results: { index: number; id: string; outcome: string; reply?: { id: string } }[];
    };
    assert.deepEqual(
      results.map((r) => [r.index, r.id, r.outcome, r.reply?.id]),
      [
        [0, 'b-1', 'replied', 'echo-b-1'],
        [1, 'b-2', 'accepted', undefined],
      ],
    );
    assert.deepEqual(
      controls.seen.map((s) => s.id),
      ['b-1', 'b-2'],
    );
  });

  it('accepts the good events of a batch and reports the bad one by index and field', async () => {
    const bad = event({ id: 'b-4', data: transaction({ amount: 'lots' }) }).toJSON();
    const body = JSON.stringify([event({ id: 'b-3' }).toJSON(), bad]);
    const res = await post(fn.url, {
      headers: { 'content-type': 'application/cloudevents-batch+json' },
      body,
    });
    assert.equal(res.status, 202);
    const text = await res.text();
    const { results } = JSON.parse(text) as { results: { index: number; outcome: string; field?: string }[] };
    assert.deepEqual(
      results.map((r) => [r.index, r.outcome, r.field]),
      [
        [0, 'replied', undefined],
        [1, 'rejected', 'data.amount'],
      ],
    );
  });

  const rejections: [string, () => { headers: Record<string, unknown>; body: unknown }, number, string][] = [
    [
      'a type the function does not handle',
      () => HTTP.binary(event({ type: EventTypes.label })),
      400,
      'type',
    ],
    ['a binary event without ce-id', () => without(HTTP.binary(event()), 'ce-id'), 400, 'ce-id'],
    ['a binary event without ce-source', () => without(HTTP.binary(event()), 'ce-source'), 400, 'ce-source'],
    ['a binary event without ce-type', () => without(HTTP.binary(event()), 'ce-type'), 400, 'ce-type'],
    [
      'a binary event without ce-specversion',
      () => without(HTTP.binary(event()), 'ce-specversion'),
      400,
      'ce-specversion',
    ],
    [
      'a request with no CloudEvent at all',
      () => ({ headers: { 'content-type': 'application/json' }, body: '{}' }),
      400,
      'ce-id',
    ],
    ['a structured event without source', () => structuredWithout('source'), 400, 'source'],
    ['a structured event without id', () => structuredWithout('id'), 400, 'id'],
    [
      'data with a wrong-typed field',
      () => HTTP.binary(event({ data: transaction({ amount: 'x' }) })),
      400,
      'data.amount',
    ],
    [
      'data missing a field',
      () => HTTP.binary(event({ data: { ...transaction(), customerId: undefined } })),
      400,
      'data.customerId',
    ],
    [
      'a channel outside the catalog',
      () => HTTP.binary(event({ data: { ...transaction(), channel: 'fax' } })),
      400,
      'data.channel',
    ],
  ];
  for (const [what, make, status, field] of rejections) {
    it(`rejects ${what} with ${status} naming ${field}`, async () => {
      controls.seen.length = 0;
      const res = await post(fn.url, make());
      assert.equal(res.status, status);
      assert.equal(res.headers.get('content-type'), 'application/problem+json');
      const problem = (await res.json()) as { field: string; status: number; retriable: boolean };
      assert.equal(problem.field, field);
      assert.equal(problem.status, status);
      assert.equal(problem.retriable, false);
      assert.equal(controls.seen.length, 0, 'the handler never saw it');
    });
  }

  it('answers 413 for a body over the limit', async () => {
    const res = await post(
      fn.url,
      HTTP.binary(event({ data: transaction({ merchantCategory: 'x'.repeat(5000) }) })),
    );
    assert.equal(res.status, 413);
    assert.equal(((await res.json()) as { title: string }).title, 'payload too large');
  });

  it('answers 413 for a chunked body that grows past the limit without declaring its length, and keeps serving', async () => {
    const msg = HTTP.binary(event({ data: transaction({ merchantCategory: 'x'.repeat(5000) }) }));
    const body = new TextEncoder().encode(JSON.stringify(msg.body));
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(msg.headers)) headers[k] = String(v);
    const chunks = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < body.length; i += 1024) controller.enqueue(body.subarray(i, i + 1024));
        controller.close();
      },
    });
    const res = await fetch(fn.url, { method: 'POST', headers, body: chunks, duplex: 'half' } as RequestInit);
    assert.equal(res.status, 413);
    assert.equal(((await res.json()) as { title: string }).title, 'payload too large');
    assert.equal((await post(fn.url, HTTP.binary(event()))).status, 200);
  });

  it('rejects with the function, host and port when the port is taken, instead of crashing', async () => {
    const port = Number(new URL(fn.url).port);
    await assert.rejects(
      serve(echoFunction(echoControls()), {
        port,
        host: '127.0.0.1',
        log,
        maxBodyBytes: 4096,
        shutdownGraceMs: 100,
      }),
      (err: Error) =>
        err.message.includes(`cannot listen on 127.0.0.1:${port}`) && err.message.includes('EADDRINUSE'),
    );
  });

  it('maps a dependency failure to 503, over capacity to 429 and an unexpected error to 500, and keeps serving', async () => {
    const statuses = [];
    for (const customerId of ['down', 'busy', 'boom']) {
      const res = await post(fn.url, HTTP.binary(event({ data: transaction({ customerId }) })));
      statuses.push([res.status, ((await res.json()) as { retriable: boolean }).retriable]);
    }
    assert.deepEqual(statuses, [
      [503, true],
      [429, true],
      [500, true],
    ]);
    assert.equal((await post(fn.url, HTTP.binary(event()))).status, 200);
  });

  it('passes traceparent through to the reply event', async () => {
    const tp = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const res = await post(fn.url, HTTP.binary(event({ traceparent: tp })));
    assert.equal(res.headers.get('ce-traceparent'), tp);
  });

  it('gates readiness on the function and keeps liveness independent', async () => {
    controls.ready = false;
    assert.equal((await fetch(`${fn.url}/health/readiness`)).status, 503);
    assert.equal((await fetch(`${fn.url}/health/liveness`)).status, 200);
    controls.ready = true;
    assert.equal((await fetch(`${fn.url}/health/readiness`)).status, 200);
  });

  it('counts events by type and outcome in /metrics', async () => {
    const scrape = async () => (await (await fetch(`${fn.url}/metrics`)).text()).split('\n');
    const count = (lines: string[], outcome: string) =>
      Number(
        lines
          .find(
            (l) =>
              l.startsWith('flywheel_events_total{') &&
              l.includes(`outcome="${outcome}"`) &&
              l.includes(EventTypes.transaction),
          )
          ?.split(' ')
          .at(-1) ?? 0,
      );
    const before = await scrape();
    await post(fn.url, HTTP.binary(event()));
    await post(fn.url, HTTP.binary(event({ data: transaction({ customerId: 'down' }) })));
    const afterLines = await scrape();
    assert.equal(count(afterLines, 'reply') - count(before, 'reply'), 1);
    assert.equal(count(afterLines, 'retriable') - count(before, 'retriable'), 1);
    assert.ok(afterLines.some((l) => l.startsWith('flywheel_handler_duration_seconds_bucket')));
  });
});

function without(msg: { headers: Record<string, unknown>; body: unknown }, header: string) {
  const headers = { ...msg.headers };
  delete headers[header];
  return { headers, body: msg.body };
}

function structuredWithout(attr: string) {
  const json = event().toJSON();
  delete json[attr];
  return { headers: { 'content-type': 'application/cloudevents+json' }, body: JSON.stringify(json) };
}
