// Delivery as each Trigger's spec.delivery says: retries with backoff on retriable codes, dead letters otherwise.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, describe, it } from 'node:test';
import { backoffMs, isRetriable } from '../../../local/broker/index.ts';
import {
  ce,
  postBinary,
  type Running,
  type Subscriber,
  startBroker,
  startSubscriber,
  triggerYaml,
} from './support.ts';

const TYPE = 'dev.flywheel.features.updated';
const fast = (retry: number, extra = '') =>
  `{ retry: ${retry}, backoffPolicy: exponential, backoffDelay: PT0.005S${extra} }`;

/** One broker with one trigger to one scripted subscriber. */
async function setup(
  respond: Parameters<typeof startSubscriber>[0],
  delivery: string,
): Promise<{ sub: Subscriber; running: Running }> {
  const sub = await startSubscriber(respond);
  const running = await startBroker({
    yaml: [
      triggerYaml({
        name: 'score',
        service: 'score',
        filter: `filters: [{ exact: { type: ${TYPE} } }]`,
        delivery,
      }),
    ],
    services: { score: `${sub.url}/` },
  });
  return { sub, running };
}

describe('delivery', () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  after(async () => {
    for (const c of cleanup) await c();
  });
  const track = (x: { sub: Subscriber; running: Running }) => {
    cleanup.push(
      () => x.running.broker.stop(),
      () => x.sub.close(),
    );
    return x;
  };

  it('retries a 500 with backoff until the subscriber takes the event', async () => {
    const { sub, running } = track(await setup((_r, n) => ({ status: n < 3 ? 500 : 202 }), fast(5)));
    assert.equal((await postBinary(running.url, ce(TYPE, 'r-1'), { a: 1 })).status, 202);
    await running.broker.whenIdle();
    assert.equal(sub.received.length, 3);
    assert.deepEqual(new Set(sub.received.map((r) => r.headers['ce-id'])), new Set(['r-1']));
    const t = running.broker.stats().triggers[0];
    assert.deepEqual([t?.delivered, t?.retried, t?.deadLettered], [1, 2, 0]);
  });

  it('retries 404, 409 and 429', async () => {
    const codes = [404, 409, 429, 200];
    const { sub, running } = track(await setup((_r, n) => ({ status: codes[n - 1] ?? 200 }), fast(5)));
    await postBinary(running.url, ce(TYPE, 'r-2'), {});
    await running.broker.whenIdle();
    assert.equal(sub.received.length, 4);
    assert.equal(running.broker.stats().triggers[0]?.delivered, 1);
    assert.deepEqual(running.broker.deadLetters(), []);
  });

  it('dead-letters a 400 after exactly one attempt, with knativeerrordest, knativeerrorcode and knativeerrordata', async () => {
    const problem = JSON.stringify({ title: 'invalid input', field: 'data.amount' });
    const { sub, running } = track(
      await setup(
        () => ({ status: 400, headers: { 'content-type': 'application/problem+json' }, body: problem }),
        fast(5),
      ),
    );
    await postBinary(running.url, ce(TYPE, 'd-1', { riskband: 'low' }), { amount: -1 });
    await running.broker.whenIdle();
    assert.equal(sub.received.length, 1);
    const lines = (await readFile(running.deadLetterFile, 'utf8')).trim().split('\n');
    assert.equal(lines.length, 1);
    const event = JSON.parse(lines[0] ?? '{}') as Record<string, unknown>;
    assert.equal(event.knativeerrordest, `${sub.url}/`);
    assert.equal(event.knativeerrorcode, 400);
    assert.equal(Buffer.from(String(event.knativeerrordata), 'base64').toString('utf8'), problem);
    assert.deepEqual(
      [event.id, event.source, event.type, event.riskband, event.datacontenttype],
      ['d-1', 'test/source', TYPE, 'low', 'application/json'],
    );
    assert.deepEqual(event.data, { amount: -1 });
    const [letter] = running.broker.deadLetters();
    assert.equal(letter?.trigger, 'score');
    assert.equal(letter?.attempts, 1);
    assert.match(letter?.reason ?? '', /status 400, not retriable/);
    assert.deepEqual(letter?.event, event);
    const served = await fetch(`${running.url}/broker/dead-letters`);
    assert.deepEqual(await served.json(), running.broker.deadLetters());
  });

  it('does not retry other 4xx codes such as 403', async () => {
    const { sub, running } = track(await setup(() => ({ status: 403 }), fast(5)));
    await postBinary(running.url, ce(TYPE, 'd-2'), {});
    await running.broker.whenIdle();
    assert.equal(sub.received.length, 1);
    assert.equal(running.broker.deadLetters()[0]?.event.knativeerrorcode, 403);
  });

  it('dead-letters once the retries are spent: 1 + retry attempts, last status recorded', async () => {
    const { sub, running } = track(
      await setup(
        () => ({ status: 503, body: 'redis down' }),
        fast(2, ', deadLetterSink: { uri: "http://127.0.0.1:9/dlq" }'),
      ),
    );
    await postBinary(running.url, ce(TYPE, 'd-3'), {});
    await running.broker.whenIdle();
    assert.equal(sub.received.length, 3);
    const [letter] = running.broker.deadLetters();
    assert.equal(letter?.attempts, 3);
    assert.equal(letter?.sink, 'http://127.0.0.1:9/dlq');
    assert.equal(letter?.event.knativeerrorcode, 503);
    assert.equal(Buffer.from(String(letter?.event.knativeerrordata), 'base64').toString(), 'redis down');
    assert.deepEqual(running.broker.stats().triggers[0]?.retried, 2);
  });

  it('retries when the subscriber cannot be reached, then dead-letters with code -1', async () => {
    const gone = await startSubscriber();
    await gone.close();
    const running = await startBroker({
      yaml: [triggerYaml({ name: 'score', service: 'score', filter: 'filters: []', delivery: fast(2) })],
      services: { score: gone.url },
    });
    cleanup.push(() => running.broker.stop());
    await postBinary(running.url, ce(TYPE, 'd-4'), {});
    await running.broker.whenIdle();
    const [letter] = running.broker.deadLetters();
    assert.equal(letter?.attempts, 3);
    assert.equal(letter?.event.knativeerrorcode, -1);
    assert.match(Buffer.from(String(letter?.event.knativeerrordata), 'base64').toString(), /ECONNREFUSED/);
  });
});

describe('connections', () => {
  it('delivers over keep-alive connections: never more than the in-flight limit', async (t) => {
    const sub = await startSubscriber();
    const running = await startBroker({
      yaml: [triggerYaml({ name: 'score', service: 'score', filter: 'filters: []' })],
      services: { score: sub.url },
      concurrency: 2,
    });
    t.after(async () => {
      await running.broker.stop();
      await sub.close();
    });
    for (let i = 0; i < 30; i++)
      assert.equal((await postBinary(running.url, ce(TYPE, `k-${i}`), {})).status, 202);
    await running.broker.whenIdle();
    assert.equal(sub.received.length, 30);
    assert.ok(sub.connections() <= 2, `${sub.connections()} connections for 30 deliveries`);
  });
});

describe('retry policy', () => {
  it('retries network errors, 404, 409, 429 and 5xx; not 400, other 4xx, 3xx', () => {
    assert.deepEqual([-1, 404, 409, 429, 500, 503, 599].map(isRetriable), [
      true,
      true,
      true,
      true,
      true,
      true,
      true,
    ]);
    assert.deepEqual([400, 401, 403, 410, 413, 301].map(isRetriable), [
      false,
      false,
      false,
      false,
      false,
      false,
    ]);
  });

  it('backs off exponentially (delay × 2^n) or linearly (delay × retry)', () => {
    const exp = { backoffPolicy: 'exponential' as const, backoffDelayMs: 500 };
    const lin = { backoffPolicy: 'linear' as const, backoffDelayMs: 500 };
    assert.deepEqual(
      [1, 2, 3, 4].map((n) => backoffMs(exp, n)),
      [500, 1000, 2000, 4000],
    );
    assert.deepEqual(
      [1, 2, 3, 4].map((n) => backoffMs(lin, n)),
      [500, 1000, 1500, 2000],
    );
  });
});
