// Fault tests against a real redis-server: killed, frozen, or absent at start-up; the store fails fast and heals.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { DependencyError } from '../../shared/errors/index.ts';
import { createLogger } from '../../shared/runtime/logger.ts';
import { type CustomerEventInput, createRedisStore, type OnlineStore } from '../../shared/store/index.ts';
import { type RedisServer, startRedis } from '../support/redis.ts';
import { collect, customerEvent, storedHistory, unique } from './store/contract-support.ts';

const log = createLogger({ name: 'store-faults', level: 'silent' });
const TIMEOUT_MS = 300;
/** A call that has not settled by then hangs: the store promised to fail within about TIMEOUT_MS. */
const HANG_GUARD_MS = 5000;

/** Settles like `p`, or rejects with 'hung' when it does not settle in HANG_GUARD_MS (a hang fails the test). */
async function settled<T>(p: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`hung: no answer within ${HANG_GUARD_MS} ms`)), HANG_GUARD_MS);
  });
  try {
    return await Promise.race([p.then((value) => ({ ok: true as const, value })), guard]);
  } catch (error) {
    if (error instanceof Error && error.message.startsWith('hung')) throw error;
    return { ok: false, error };
  } finally {
    clearTimeout(timer);
  }
}

function assertRetriable(outcome: { ok: boolean; error?: unknown }, what: string): void {
  assert.equal(outcome.ok, false, `${what} should have failed while Redis is down`);
  assert.ok(
    outcome.error instanceof DependencyError,
    `${what}: expected DependencyError, got ${String(outcome.error)}`,
  );
  assert.equal(outcome.error.retriable, true);
}

/** Polls until the store answers again by itself (no reconnect call); bounded. */
async function recovered(store: OnlineStore): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await store.ping()) return;
    await sleep(50);
  }
  assert.fail('the store did not recover within 100 attempts');
}

const events = (customerId: string, prefix: string, n: number): CustomerEventInput[] =>
  Array.from({ length: n }, (_, i) =>
    customerEvent({ customerId, eventKey: `${prefix}-${i}`, record: `${prefix}-${i}` }),
  );

describe('OnlineStore on Redis under faults', () => {
  let server: RedisServer;
  let store: OnlineStore;
  before(async () => {
    server = await startRedis();
    store = createRedisStore({ url: server.url, timeoutMs: TIMEOUT_MS, log });
  });
  after(async () => {
    await store.close();
    await server.stop();
  });

  it('Redis killed mid-stream: each event is applied once or rejected retriably, and applies after the restart', async () => {
    const customerId = unique('c');
    const stream = events(customerId, 'e', 150);
    const outcomes = new Map<string, Awaited<ReturnType<typeof settled>>>();
    const send = async (batch: CustomerEventInput[]) =>
      Promise.all(
        batch.map(async (e) => outcomes.set(e.eventKey, await settled(store.applyCustomerEvent(e)))),
      );

    await send(stream.slice(0, 50));
    const inFlight = send(stream.slice(50, 100));
    await server.kill();
    await inFlight;
    await send(stream.slice(100));

    for (const [key, outcome] of outcomes) {
      if (!outcome.ok) assertRetriable(outcome, key);
    }
    for (const e of stream.slice(100)) assertRetriable(outcomes.get(e.eventKey) ?? { ok: true }, e.eventKey);
    const down = await Promise.all([
      settled(store.readCustomers([customerId], { retentionMs: 1000, windowsMs: [1000] })),
      settled(store.claim(unique('k'), 1000)),
      settled(store.acquireLock(unique('l'), 'me', 1000)),
      settled(store.writeRecord(unique('k'), 'v')),
      settled(store.addDriftCounts({ name: unique('m'), version: 1 }, 0, { n: 1 }, 1000)),
      settled(store.swapDriftRecord({ name: unique('m'), version: 1 }, 'pointer', null, 'v')),
      settled(store.nextModelVersion(unique('m'))),
    ]);
    for (const [i, outcome] of down.entries()) assertRetriable(outcome, `call ${i}`);
    assert.equal(await store.ping(), false);

    await server.restart(); // persistence is off: what was applied before the kill is gone with the old process
    await recovered(store);
    const rejected = stream.filter((e) => outcomes.get(e.eventKey)?.ok === false);
    assert.ok(
      rejected.length >= 50,
      `the events sent while Redis was down were rejected (${rejected.length})`,
    );
    const retried = await Promise.all(rejected.map((e) => store.applyCustomerEvent(e)));
    assert.deepEqual(new Set(retried.map((r) => r.kind)), new Set(['applied']));
    const again = await Promise.all(rejected.map((e) => store.applyCustomerEvent(e)));
    assert.deepEqual(new Set(again.map((r) => r.kind)), new Set(['duplicate']));
    const history = await storedHistory(store, customerId);
    assert.deepEqual(history.map(([, record]) => record).sort(), rejected.map((e) => e.record).sort());
  });

  it('Redis frozen (data kept): calls time out retriably, and after it resumes nothing is applied twice', async () => {
    const customerId = unique('c');
    const before = events(customerId, 'a', 40);
    const during = events(customerId, 'b', 20);
    for (const r of await Promise.all(before.map((e) => store.applyCustomerEvent(e))))
      assert.equal(r.kind, 'applied');

    server.freeze();
    try {
      const outcomes = await Promise.all(
        [...during, ...before.slice(0, 5)].map((e) => settled(store.applyCustomerEvent(e))),
      );
      for (const [i, o] of outcomes.entries()) assertRetriable(o, `event ${i}`);
      assert.equal(await store.ping(), false);
    } finally {
      server.thaw();
    }

    await recovered(store);
    const retried = await Promise.all([...during, ...before].map((e) => store.applyCustomerEvent(e)));
    for (const r of retried) assert.ok(r.kind === 'applied' || r.kind === 'duplicate', r.kind);
    assert.deepEqual(new Set(retried.slice(during.length).map((r) => r.kind)), new Set(['duplicate']));
    const history = await storedHistory(store, customerId);
    assert.deepEqual(
      history.map(([, record]) => record).sort(),
      [...before, ...during].map((e) => e.record).sort(),
      'every event exactly once',
    );
  });

  it('resubscribes by itself after a restart', async () => {
    const model = unique('model');
    const sub = await collect(store);
    // each move is a first move of its own model, so every one succeeds and announces, however many it takes
    const move = (n: string) =>
      store.moveAlias({
        model: `${model}-${n}`,
        alias: 'champion',
        expected: null,
        next: n,
        historyEntry: n,
        notice: n,
      });
    await move('before');
    await sub.until((all) => all.length >= 1);
    await server.restart();
    await recovered(store);
    for (let i = 0; i < 100 && sub.messages.length < 2; i++) {
      await move(`after-${i}`);
      await sleep(50);
    }
    assert.equal(sub.messages[0], 'before');
    assert.match(sub.messages[1] ?? '', /^after-\d+$/);
    await sub.unsubscribe();
  });
});

describe('OnlineStore on Redis that is down at start-up', () => {
  it('fails calls retriably, then works by itself once Redis starts', async () => {
    const server = await startRedis();
    await server.stop();
    const store = createRedisStore({ url: server.url, timeoutMs: TIMEOUT_MS, log });
    try {
      assertRetriable(await settled(store.readRecord('k')), 'readRecord');
      assert.equal(await store.ping(), false);
      await server.restart();
      await recovered(store);
      await store.writeRecord('k', 'v');
      assert.equal(await store.readRecord('k'), 'v');
    } finally {
      await store.close();
      await server.stop();
    }
  });
});
