// Many deliveries waiting out their backoff at once (a dependency down behind every subscriber): no listener or timer leaks.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { ce, postBinary, startBroker, startSubscriber, triggerYaml, until } from './support.ts';

const TYPE = 'dev.flywheel.transaction.received';
/** Two lanes at the broker's default concurrency (8): 16 deliveries can wait out a backoff at the same time. */
const LANES = ['featurize', 'ingest-audit'];
const EVENTS = 8;
const IN_BACKOFF = LANES.length * EVENTS;

/** Every warning the process emits while the tests run (Node reports listener leaks this way, not by throwing). */
const warnings: Error[] = [];
const onWarning = (w: Error) => warnings.push(w);
before(() => process.on('warning', onWarning));
after(() => process.off('warning', onWarning));
beforeEach(() => {
  warnings.length = 0;
});

/** Warnings are emitted on the next tick; let them arrive before reading them. */
const leakWarnings = async (): Promise<string[]> => {
  await new Promise((r) => setImmediate(r));
  return warnings.filter((w) => w.name === 'MaxListenersExceededWarning').map((w) => w.message);
};

const activeTimers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

/** A broker whose every subscriber answers 503, as the functions do while Redis is down. */
async function unavailable(delivery: string) {
  const sub = await startSubscriber(() => ({ status: 503 }));
  const running = await startBroker({
    yaml: LANES.map((name) => triggerYaml({ name, service: 'fn', filter: 'filters: []', delivery })),
    services: { fn: sub.url },
  });
  for (let i = 0; i < EVENTS; i++) await postBinary(running.url, ce(TYPE, `tx-${i}`), {});
  return { sub, running };
}

describe('deliveries waiting out a backoff together', () => {
  it(`holds ${IN_BACKOFF} deliveries in backoff at once without a MaxListenersExceededWarning, then dead-letters each`, async (t) => {
    const { sub, running } = await unavailable(
      '{ retry: 3, backoffPolicy: exponential, backoffDelay: PT0.02S }',
    );
    t.after(async () => {
      await running.broker.stop({ graceMs: 0 });
      await sub.close();
    });
    await running.broker.whenIdle();
    assert.deepEqual(await leakWarnings(), []);
    assert.equal(sub.received.length, IN_BACKOFF * 4);
    assert.equal(running.broker.deadLetters().length, IN_BACKOFF);
    const stats = running.broker.stats().triggers;
    assert.deepEqual(
      stats.map((s) => [s.retried, s.deadLettered]),
      LANES.map(() => [EVENTS * 3, EVENTS]),
    );
  });

  it('stop() wakes every delivery sleeping in a long backoff, reports each in flight and leaves no backoff timer', async (t) => {
    const sub = await startSubscriber(() => ({ status: 503 }));
    t.after(() => sub.close());
    const baseline = activeTimers();
    const running = await startBroker({
      yaml: LANES.map((name) =>
        triggerYaml({
          name,
          service: 'fn',
          filter: 'filters: []',
          delivery: '{ retry: 1, backoffDelay: PT60S }',
        }),
      ),
      services: { fn: sub.url },
    });
    for (let i = 0; i < EVENTS; i++) await postBinary(running.url, ce(TYPE, `tx-${i}`), {});
    await until(
      () => running.broker.stats().triggers.every((s) => s.retried === EVENTS),
      'every delivery in backoff',
    );
    assert.ok(activeTimers() >= baseline + IN_BACKOFF, 'each delivery waits on its own backoff timer');
    // A 60 s backoff that stop() did not wake would hold stop() past the test's timeout.
    const report = await running.broker.stop({ graceMs: 0 });
    assert.equal(report.left.length, IN_BACKOFF);
    assert.ok(report.left.every((l) => l.state === 'in-flight'));
    assert.deepEqual(running.broker.deadLetters(), []);
    assert.equal(sub.received.length, IN_BACKOFF, 'no retry was sent after stop()');
    assert.ok(activeTimers() <= baseline, `backoff timers left: ${activeTimers() - baseline}`);
    assert.deepEqual(await leakWarnings(), []);
  });

  it("stop() ends a reply's wait for room in a full queue at once and reports the reply queued", {
    timeout: 5000,
  }, async (t) => {
    // B's subscriber holds its one delivery, so replies pile up in B's queue to its limit (2 × capacity = 2).
    const held: (() => void)[] = [];
    const b = await startSubscriber(() => new Promise((r) => held.push(() => r({ status: 202 }))));
    const a = await startSubscriber((req) => ({
      status: 200,
      headers: {
        'ce-specversion': '1.0',
        'ce-id': `reply-${req.headers['ce-id']}`,
        'ce-source': 'test/a',
        'ce-type': 'test.b',
        'content-type': 'application/json',
      },
      body: '{}',
    }));
    t.after(async () => {
      for (const release of held.splice(0)) release();
      await Promise.all([a.close(), b.close()]);
    });
    const running = await startBroker({
      yaml: [
        triggerYaml({ name: 'a', service: 'a', filter: 'filters: [{ exact: { type: test.a } }]' }),
        triggerYaml({ name: 'b', service: 'b', filter: 'filters: [{ exact: { type: test.b } }]' }),
      ],
      services: { a: a.url, b: b.url },
      queueCapacity: 1,
      concurrency: 1,
    });
    for (const id of ['a-1', 'a-2', 'a-3', 'a-4']) await postBinary(running.url, ce('test.a', id), {});
    // a-1's reply is in B's hands, a-2's and a-3's fill B's queue, a-4's waits for room (10 s by default).
    await until(
      () => running.broker.stats().triggers[1]?.accepted === 3 && a.received.length === 4,
      'a reply waiting',
    );
    const report = await running.broker.stop({ graceMs: 0 });
    assert.deepEqual(report.left.map((l) => [l.trigger, l.id, l.state]).sort(), [
      ['b', 'reply-a-1', 'in-flight'],
      ['b', 'reply-a-2', 'queued'],
      ['b', 'reply-a-3', 'queued'],
      ['b', 'reply-a-4', 'queued'],
    ]);
  });
});
