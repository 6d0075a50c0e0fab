// The broker's ingress: 202 on accept, 400 problem+json naming the attribute, 429 when a queue is full, stop().
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  ce,
  postBinary,
  postStructured,
  type Reply,
  type Running,
  type Subscriber,
  startBroker,
  startSubscriber,
  triggerYaml,
} from './support.ts';

const SLOW = 'dev.flywheel.model.trained';
const FAST = 'dev.flywheel.score.computed';

/** A subscriber that holds every response until release() is called. */
function gate(): { respond: () => Promise<Reply>; release: () => void } {
  let open = false;
  const waiting: (() => void)[] = [];
  return {
    respond: () =>
      open ? Promise.resolve({ status: 202 }) : new Promise((r) => waiting.push(() => r({ status: 202 }))),
    release: () => {
      open = true;
      for (const w of waiting.splice(0)) w();
    },
  };
}

describe('ingress', () => {
  let slow: Subscriber;
  let fast: Subscriber;
  let running: Running;
  const held = gate();

  before(async () => {
    slow = await startSubscriber(held.respond);
    fast = await startSubscriber();
    running = await startBroker({
      yaml: [
        triggerYaml({
          name: 'promote',
          service: 'promote',
          filter: `filters: [{ exact: { type: ${SLOW} } }]`,
        }),
        triggerYaml({
          name: 'drift',
          service: 'detect-drift',
          filter: `filters: [{ exact: { type: ${FAST} } }]`,
        }),
      ],
      services: { promote: slow.url, 'detect-drift': fast.url },
      queueCapacity: 2,
      concurrency: 1,
      maxBodyBytes: 4096,
    });
  });
  after(async () => {
    held.release();
    await running.broker.stop();
    await Promise.all([slow.close(), fast.close()]);
  });

  it('answers 400 problem+json naming the missing attribute (binary and structured)', async () => {
    const binary = await postBinary(running.url, { specversion: '1.0', id: 'x', type: FAST }, {});
    assert.equal(binary.status, 400);
    assert.equal(binary.headers.get('content-type'), 'application/problem+json');
    const p = (await binary.json()) as { field: string; detail: string };
    assert.equal(p.field, 'ce-source');
    assert.match(p.detail, /missing required attribute source/);
    const structured = await postStructured(running.url, {
      specversion: '1.0',
      id: 'x',
      source: 's',
      data: {},
    });
    assert.equal(structured.status, 400);
    assert.equal(((await structured.json()) as { field: string }).field, 'type');
  });

  it('refuses a whole batch when one entry is malformed, naming its index, and delivers none of it', async () => {
    const res = await postStructured(running.url, [
      { ...ce(FAST, 'bad-0'), data: {} },
      { id: 'bad-1', source: 's' },
    ]);
    assert.equal(res.status, 400);
    const p = (await res.json()) as { errors: { index: number; field: string }[] };
    assert.deepEqual(
      p.errors.map((e) => [e.index, e.field]),
      [[1, 'specversion']],
    );
    await running.broker.whenIdle();
    assert.equal(fast.received.filter((r) => r.headers['ce-id'] === 'bad-0').length, 0);
  });

  it('answers 429 with Retry-After when a trigger queue is full, keeps other triggers flowing, and 202 once drained', async () => {
    // concurrency 1, capacity 2: the first event is in flight, two wait, the fourth is refused.
    for (const id of ['q-1', 'q-2', 'q-3'])
      assert.equal((await postBinary(running.url, ce(SLOW, id), {})).status, 202);
    const full = await postBinary(running.url, ce(SLOW, 'q-4'), {});
    assert.equal(full.status, 429);
    assert.equal(full.headers.get('retry-after'), '1');
    assert.match(((await full.json()) as { detail: string }).detail, /queue of trigger promote is full/);
    // A batch that would overflow is refused whole, even the part for the free trigger.
    const batch = await postStructured(running.url, [{ ...ce(FAST, 'q-5') }, { ...ce(SLOW, 'q-6') }]);
    assert.equal(batch.status, 429);
    assert.equal((await postBinary(running.url, ce(FAST, 'q-7'), {})).status, 202);
    assert.equal(running.broker.stats().queued, 2);
    held.release();
    await running.broker.whenIdle();
    assert.equal((await postBinary(running.url, ce(SLOW, 'q-8'), {})).status, 202);
    await running.broker.whenIdle();
    const ids = (s: Subscriber) =>
      s.received.map((r) => r.headers['ce-id']).filter((id) => id?.startsWith('q-'));
    assert.deepEqual(ids(slow), ['q-1', 'q-2', 'q-3', 'q-8']);
    assert.deepEqual(ids(fast), ['q-7']);
    assert.equal(running.broker.stats().refused, 2);
  });

  it('answers 413 for a body over the limit', async () => {
    const res = await postBinary(running.url, ce(FAST, 'big'), { pad: 'x'.repeat(5000) });
    assert.equal(res.status, 413);
    assert.equal(res.headers.get('content-type'), 'application/problem+json');
  });

  it('also takes events on the Knative broker path /<namespace>/<broker>, and 404 for another broker', async () => {
    assert.equal((await postBinary(`${running.url}/flywheel/default`, ce(FAST, 'p-1'), {})).status, 202);
    assert.equal((await postBinary(`${running.url}/flywheel/other`, ce(FAST, 'p-2'), {})).status, 404);
  });
});

describe('stop()', () => {
  it('drains what it can within the grace period and reports what is left', async (t) => {
    const held = gate();
    const sub = await startSubscriber(held.respond);
    t.after(async () => {
      held.release();
      await sub.close();
    });
    // retry 0: the delivery stop() cuts short is still reported as owed, not dead-lettered.
    const running = await startBroker({
      yaml: [
        triggerYaml({ name: 'promote', service: 'promote', filter: 'filters: []', delivery: '{ retry: 0 }' }),
      ],
      services: { promote: sub.url },
      concurrency: 1,
    });
    for (const id of ['s-1', 's-2', 's-3']) await postBinary(running.url, ce(SLOW, id), {});
    const report = await running.broker.stop({ graceMs: 50 });
    assert.equal(report.drained, false);
    assert.deepEqual(
      report.left.map((l) => [l.id, l.state]),
      [
        ['s-1', 'in-flight'],
        ['s-2', 'queued'],
        ['s-3', 'queued'],
      ],
    );
    assert.deepEqual(running.broker.deadLetters(), []);
  });

  it('refuses new events with 503 while draining, and reports a clean drain once all were delivered', async (t) => {
    const held = gate();
    const sub = await startSubscriber(held.respond);
    const running = await startBroker({
      yaml: [triggerYaml({ name: 'promote', service: 'promote', filter: 'filters: []' })],
      services: { promote: sub.url },
    });
    t.after(async () => {
      held.release();
      await running.broker.stop();
      await sub.close();
    });
    for (const id of ['c-1', 'c-2']) await postBinary(running.url, ce(SLOW, id), {});
    const stopping = running.broker.stop({ graceMs: 20_000 });
    const refused = await postBinary(running.url, ce(SLOW, 'c-3'), {});
    assert.equal(refused.status, 503);
    assert.equal(((await refused.json()) as { detail: string }).detail, 'broker: shutting down');
    held.release();
    assert.deepEqual(await stopping, { drained: true, left: [] });
    assert.deepEqual(sub.received.map((r) => r.headers['ce-id']).sort(), ['c-1', 'c-2']);
  });
});
