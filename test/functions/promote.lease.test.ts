// promote's per-version lease on a real redis-server: renewed while the gate works, never past its longest hold.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promoteFunction } from '../../functions/promote/function.ts';
import { defaultConfig } from '../../shared/config/index.ts';
import { EventTypes } from '../../shared/events/index.ts';
import { loadOnnxModel } from '../../shared/inference/onnx.ts';
import { ModelRegistry } from '../../shared/registry/index.ts';
import { createLogger, type RunningFunction, serve } from '../../shared/runtime/index.ts';
import { createRedisStore, type OnlineStore } from '../../shared/store/index.ts';
import { postEvent } from '../support/http.ts';
import { gate } from '../support/gate.ts';
import { type RedisServer, startRedis } from '../support/redis.ts';
import { registerRisk, trainedRisk } from '../support/risk-candidates.ts';

const log = createLogger({ name: 'promote-lease', level: process.env.TEST_LOG_LEVEL ?? 'silent' });
/** A short lease, so the test waits little; renewed every third of it, for at most two of it. */
const TTL_MS = 3000;
const MAX_HOLD_MS = 2 * TTL_MS;

describe("promote's per-version lease", () => {
  let redis: RedisServer;
  let store: OnlineStore;
  let registry: ModelRegistry;
  let fn: RunningFunction;
  /** Held once by the next model load (the gate is measuring), then reset. */
  let nextLoad: (() => Promise<void>) | undefined;

  before(async () => {
    redis = await startRedis();
    store = createRedisStore({ url: redis.url, timeoutMs: 2000, log });
    registry = new ModelRegistry({ store });
    const def = promoteFunction({
      store,
      config: defaultConfig({ PROMOTE_TOKEN: 'token' }),
      log,
      lease: { ttlMs: TTL_MS, maxHoldMs: MAX_HOLD_MS },
      load: async (bytes) => {
        const hold = nextLoad;
        nextLoad = undefined;
        await hold?.();
        return loadOnnxModel(bytes);
      },
    });
    fn = await serve(
      { ...def, close: async () => {} },
      { port: 0, host: '127.0.0.1', log, maxBodyBytes: 64 * 1024, shutdownGraceMs: 500 },
    );
  });
  after(async () => {
    await fn.close();
    await store.close();
    await redis.stop();
  });

  const send = (version: number) => postEvent(fn.url, trainedRisk(version));
  const verdict = (res: Awaited<ReturnType<typeof send>>) => ({
    status: res.status,
    type: res.ce.type,
    id: res.ce.id,
  });
  const movesTo = async (version: number) =>
    (await registry.history('risk')).filter((e) => e.to === version).length;

  it('keeps the lease through a gate slower than its TTL: a copy meanwhile gets 409 (retried), then the verdict', async () => {
    const v = await registerRisk(store, { column: 0, a: 2, b: -2 });
    const slow = gate();
    nextLoad = slow.wait;
    const first = send(v);
    await slow.reached;
    await sleep(TTL_MS * 1.5); // without renewals the lease would have lapsed by now
    const copy = await send(v);
    assert.equal(copy.status, 409, 'a copy got past a live lease');
    assert.match(String(copy.body.detail), /being judged by another delivery/);
    assert.equal(copy.body.retriable, true, 'the problem document must tell the sender to retry');
    slow.open();
    const judged = verdict(await first);
    assert.deepEqual(judged, {
      status: 200,
      type: EventTypes.modelPromoted,
      id: `promote-risk-v${v}-promoted`,
    });
    assert.deepEqual(verdict(await send(v)), judged);
    assert.equal(await movesTo(v), 1);
  });

  it('stops renewing at its longest hold: a copy gets in and is judged, and the stuck delivery replies its verdict', async () => {
    const v = await registerRisk(store, { column: 0, a: 2, b: -1.95 });
    const stuck = gate();
    nextLoad = stuck.wait;
    const first = send(v);
    await stuck.reached;
    assert.equal((await send(v)).status, 409, 'the lease was not held at all');

    // the copy is retried until it is judged; bounded well past the longest hold
    let judged: ReturnType<typeof verdict> | undefined;
    for (let i = 0; i < 40 && !judged; i++) {
      await sleep(MAX_HOLD_MS / 10);
      const res = await send(v);
      if (res.status === 200) judged = verdict(res);
      else assert.equal(res.status, 409);
    }
    assert.ok(judged, 'a stuck delivery kept its lease');

    stuck.open();
    // the stuck delivery's lease lapsed: it retakes the free lease, finds the copy's verdict and replies it
    assert.deepEqual(verdict(await first), judged);
    assert.ok((await movesTo(v)) <= 1, 'the alias moved twice for one version');
  });

  it('judges alone past its longest hold: with no other delivery it retakes the lapsed lease', async () => {
    const v = await registerRisk(store, { column: 0, a: 2, b: -1.9 });
    const slow = gate();
    nextLoad = slow.wait;
    const first = send(v);
    await slow.reached;
    await sleep(MAX_HOLD_MS + TTL_MS); // renewals stopped at the longest hold, and the lease has lapsed since
    slow.open();
    const judged = verdict(await first);
    assert.equal(judged.status, 200, 'a slow gate with no competitor was not judged');
    assert.ok(judged.type === EventTypes.modelPromoted || judged.type === EventTypes.modelRejected);
    assert.deepEqual(verdict(await send(v)), judged, 'the verdict was not stored');
  });
});
