// promote's per-version lease under faults, delivered by the local broker with the real Trigger of eventing/:
// Redis killed while the gate measures and restarted from its AOF. The trained model is judged, not dead-lettered.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promoteFunction } from '../../functions/promote/function.ts';
import { type Broker, createBroker, loadTriggers } from '../../local/broker/index.ts';
import { defaultConfig } from '../../shared/config/index.ts';
import { FlywheelError } from '../../shared/errors/index.ts';
import { EventTypes } from '../../shared/events/index.ts';
import { loadOnnxModel } from '../../shared/inference/onnx.ts';
import { ModelRegistry } from '../../shared/registry/index.ts';
import { createLogger, type RunningFunction, serve } from '../../shared/runtime/index.ts';
import { createRedisStore, type OnlineStore } from '../../shared/store/index.ts';
import { postEvent } from '../support/http.ts';
import { type RedisServer, startRedis, ttlsOf } from '../support/redis.ts';
import { idleWithin } from '../local/broker/support.ts';
import { registerRisk, trainedRisk } from '../support/risk-candidates.ts';

const log = createLogger({ name: 'promote-faults', level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const ROOT = path.resolve(import.meta.dirname, '..', '..');
/** How long Redis stays down: longer than the store's timeouts, shorter than the lease, so it survives the restart. */
const OUTAGE_MS = 2000;
/** Bound on one broker delivery with all its retries (the Trigger's backoff sums to 15.5 s). */
const DELIVERY_GUARD_MS = 40_000;

describe("promote's lease when its holder loses Redis mid-gate, delivered with the Trigger's retry budget", () => {
  let dir: string;
  let redis: RedisServer;
  let store: OnlineStore;
  let fn: RunningFunction;
  let broker: Broker;
  let brokerUrl: string;
  /** What each delivery of a version got: the reply's type, or the status of the error it was answered with. */
  const attempts = new Map<number, string[]>();
  /** What the next model load does first (then it is reset): the gate is measuring when it runs. */
  let onLoad: (() => Promise<void>) | undefined;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'promote-faults-'));
    redis = await startRedis({ appendonly: { dir, fsync: 'always' } });
    store = createRedisStore({ url: redis.url, timeoutMs: 300, log });
    // the production lease: nothing about it is shortened for the test
    const def = promoteFunction({
      store,
      config: defaultConfig({ PROMOTE_TOKEN: 'token' }),
      log,
      load: async (bytes) => {
        const before = onLoad;
        onLoad = undefined;
        await before?.();
        return loadOnnxModel(bytes);
      },
    });
    fn = await serve(
      {
        ...def,
        handle: async (event, ctx) => {
          const seen = attempts.get(event.data.model.version) ?? [];
          attempts.set(event.data.model.version, seen);
          try {
            const outcome = await def.handle(event, ctx);
            seen.push(outcome.kind === 'reply' ? outcome.event.type : outcome.kind);
            return outcome;
          } catch (err) {
            seen.push(err instanceof FlywheelError ? String(err.status) : 'error');
            throw err;
          }
        },
        close: async () => {},
      },
      { port: 0, host: '127.0.0.1', log, maxBodyBytes: 64 * 1024, shutdownGraceMs: 500 },
    );
    const triggers = (await loadTriggers(path.join(ROOT, 'eventing'))).filter(
      (t) => t.subscriber.kind === 'service' && t.subscriber.service === 'promote',
    );
    assert.ok(triggers.length > 0, 'no Trigger delivers to promote in eventing/');
    broker = createBroker({ triggers, resolve: () => fn.url, queueCapacity: 100, log });
    brokerUrl = (await broker.listen({ port: 0, host: '127.0.0.1' })).url;
  });
  after(async () => {
    await broker.stop({ graceMs: 100 });
    await fn.close();
    await store.close();
    await redis.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const sendThroughBroker = async (version: number) => {
    const res = await postEvent(brokerUrl, trainedRisk(version));
    assert.equal(res.status, 202, 'the broker did not take the event');
  };
  const deadLettered = (version: number) =>
    broker
      .deadLetters()
      .filter((d) => d.event.id === trainedRisk(version).id)
      .map((d) => d.reason);

  it('judges a redelivered model.trained after Redis was killed mid-gate and came back from its AOF', async () => {
    const registry = new ModelRegistry({ store });
    const champion = await registerRisk(store, { column: 0, a: 2, b: -2 });
    await sendThroughBroker(champion);
    await idleWithin(broker, DELIVERY_GUARD_MS);
    assert.deepEqual(attempts.get(champion), [EventTypes.modelPromoted]);

    const candidate = await registerRisk(store, { column: 0, a: 2, b: -1.95 });
    let outage: Promise<void> | undefined;
    let leftBehind: number[] = [];
    onLoad = async () => {
      // Redis dies while the gate loads the candidate: loading the champion, the verdict and the release all fail
      await redis.kill();
      outage = (async () => {
        await sleep(OUTAGE_MS);
        await redis.restart();
        leftBehind = await ttlsOf(redis.port, 'fw:lock:promote:*');
      })();
    };
    await sendThroughBroker(candidate);
    await idleWithin(broker, DELIVERY_GUARD_MS);
    await outage;

    // the scenario happened: the failed delivery's lease was still in Redis when it came back
    assert.equal(leftBehind.length, 1, 'no lease survived the restart: the test did not reproduce the fault');
    assert.deepEqual(
      deadLettered(candidate),
      [],
      'model.trained was dead-lettered: the model was never judged',
    );
    const seen = attempts.get(candidate) ?? [];
    assert.equal(seen[0], '503', `the first delivery did not fail on the outage: ${seen.join(', ')}`);
    const last = seen.at(-1);
    assert.ok(
      last === EventTypes.modelPromoted || last === EventTypes.modelRejected,
      `no redelivery was judged: ${seen.join(', ')}`,
    );
    const stats = broker.stats().triggers.find((t) => t.name === 'promote-model-trained');
    assert.equal(stats?.delivered, 2);
    assert.equal(stats?.replies, 2, 'both verdicts went back to the broker');
    // the verdict was stored: a later redelivery gets the same reply, and the alias moved once for it
    const again = await postEvent(fn.url, trainedRisk(candidate));
    assert.equal(again.status, 200);
    assert.equal(again.ce.type, last);
    if (last === EventTypes.modelPromoted) {
      assert.equal(await registry.alias('risk', 'champion'), candidate);
      assert.deepEqual(
        (await registry.history('risk')).map((e) => [e.from, e.to]),
        [
          [null, champion],
          [champion, candidate],
        ],
      );
    }
  });
});
