// score over real HTTP with real ONNX models, a real redis-server and the registry: every path, reloads, rollback.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { scoreFunction } from '../../functions/score/function.ts';
import { EventTypes } from '../../shared/events/index.ts';
import { customerFeatures, latestVector, toHistoryRecord } from '../../shared/features/index.ts';
import { ModelRegistry } from '../../shared/registry/index.ts';
import { createLogger, type RunningFunction, serve } from '../../shared/runtime/index.ts';
import { createMemoryStore, createRedisStore, type OnlineStore } from '../../shared/store/index.ts';
import { eventually, postEvent, postJson } from '../support/http.ts';
import { lineage, registerChampions, riskOnnx } from '../support/models.ts';
import { type RedisServer, startRedis } from '../support/redis.ts';

const log = createLogger({ name: 'score', level: 'silent' });
const config = { MODEL_ALIAS_TTL_MS: 60_000, MODEL_LOAD_TIMEOUT_MS: 2_000 };
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
const columns = customerFeatures.columns;
const vector = (amount: number) => columns.map((c) => (c === 'amount' ? amount : 0));

async function startScore(
  store: OnlineStore,
  registry: ModelRegistry,
  aliasTtlMs = config.MODEL_ALIAS_TTL_MS,
) {
  const { def, models } = scoreFunction({
    store,
    registry,
    config: { ...config, MODEL_ALIAS_TTL_MS: aliasTtlMs },
    log,
    ownsStore: false,
  });
  await models.start();
  return serve(def, { port: 0, host: '127.0.0.1', log, maxBodyBytes: 1 << 20, shutdownGraceMs: 1000 });
}

describe('score without a champion', () => {
  let store: OnlineStore;
  let fn: RunningFunction;
  let registry: ModelRegistry;
  before(async () => {
    store = createMemoryStore({ log });
    registry = new ModelRegistry({ store });
    fn = await startScore(store, registry);
  });
  after(async () => {
    await fn.close();
    await store.close();
  });

  it('is not ready, answers REST with 503 and acknowledges CloudEvents without a reply', async () => {
    assert.equal((await fetch(`${fn.url}/health/readiness`)).status, 503);
    const rest = await postJson(`${fn.url}/v1/score`, { features: vector(10) });
    assert.equal(rest.status, 503);
    assert.match(String(rest.json.detail), /no risk and segment champion/);
    const ce = await postEvent(fn.url, {
      id: 'f-0',
      type: EventTypes.featuresUpdated,
      data: featuresData(10),
    });
    assert.equal(ce.status, 202);
    assert.match(
      await (await fetch(`${fn.url}/metrics`)).text(),
      /flywheel_unscored_total\{function="score"\} 1/,
    );
  });

  it('becomes ready as soon as champions are promoted (alias notice)', async () => {
    await registerChampions(registry, -2);
    await eventually(async () =>
      (await fetch(`${fn.url}/health/readiness`)).status === 200 ? true : undefined,
    );
    assert.equal((await postJson(`${fn.url}/v1/score`, { features: vector(10) })).status, 200);
  });
});

describe('score on Redis', () => {
  let redis: RedisServer;
  let store: OnlineStore;
  let registry: ModelRegistry;
  let fn: RunningFunction;
  before(async () => {
    redis = await startRedis();
    store = createRedisStore({ url: redis.url, timeoutMs: 1000, log });
    registry = new ModelRegistry({ store });
    await registerChampions(registry, -2);
    fn = await startScore(store, registry);
  });
  after(async () => {
    await fn.close();
    await store.close();
    await redis.stop();
  });

  it('gives the same answer over REST, the v2 protocol and the CloudEvent path', async () => {
    const rest = await postJson(`${fn.url}/v1/score`, {
      features: Object.fromEntries(columns.map((c, i) => [c, vector(150)[i] ?? 0])),
    });
    const v2 = await postJson(`${fn.url}/v2/models/risk/infer`, {
      inputs: [{ name: 'features', shape: [1, 16], datatype: 'FP32', data: vector(150) }],
    });
    const ce = await postEvent(fn.url, {
      id: 'f-1',
      type: EventTypes.featuresUpdated,
      data: featuresData(150),
    });
    const restResult = (
      rest.json.results as { risk: number; segment: number; model: { version: number } }[]
    )[0];
    const v2Risk = (v2.json.outputs as { data: number[] }[])[0]?.data[0];
    const ceData = ce.body as { risk: number; segment: number; riskBand: string };
    const expected = sigmoid(1.5 - 2);
    assert.ok(Math.abs((restResult?.risk ?? 0) - expected) < 1e-6);
    assert.equal(v2Risk, restResult?.risk);
    assert.equal(ceData.risk, restResult?.risk);
    assert.equal(ceData.segment, 1);
    assert.equal(restResult?.segment, 1);
    assert.equal(ce.ce.riskband, 'medium');
    assert.equal(ce.ce.segment, '1');
    assert.equal(ce.ce.id, 'f-1');
    assert.equal(ce.ce.type, EventTypes.scoreComputed);
  });

  it('scores customers by id from their stored history, and flags unknown ones as defaults', async () => {
    const t0 = Date.UTC(2026, 10, 1);
    const txs = [20, 80, 250].map((amount, i) => ({
      transactionId: `t${i}`,
      customerId: 'alice',
      amount,
      currency: 'EUR',
      merchantCategory: 'grocery',
      channel: 'pos' as const,
      country: 'DE',
      occurredAt: t0 + i * 60_000,
      ingestedAt: t0,
    }));
    for (const tx of txs) {
      await store.applyCustomerEvent({
        customerId: 'alice',
        eventKey: tx.transactionId,
        eventTime: tx.occurredAt,
        orderKey: tx.transactionId,
        value: tx.amount,
        record: JSON.stringify(toHistoryRecord(tx)),
        windowsMs: customerFeatures.windowsMs,
        retentionMs: customerFeatures.retentionMs,
        maxEvents: 100,
        allowedLatenessMs: 3_600_000,
        claimTtlMs: 60_000,
        firstSeen: ['country:DE'],
        featureSetVersion: customerFeatures.version,
      });
    }
    const res = await postJson(`${fn.url}/v1/score`, { customerIds: ['alice', 'nobody'] });
    assert.equal(res.status, 200);
    const [alice, nobody] = res.json.results as { customerId: string; risk: number; defaults?: boolean }[];
    const state = (await store.readCustomers(['alice'], customerFeatures)).get('alice');
    const v = state ? latestVector(customerFeatures, state) : null;
    assert.equal(v?.[columns.indexOf('amount')], 250);
    assert.equal(v?.[columns.indexOf('txn_count_10m')], 2);
    assert.ok(Math.abs((alice?.risk ?? 0) - sigmoid(2.5 - 2)) < 1e-6);
    assert.equal(alice?.defaults, undefined);
    assert.equal(nobody?.customerId, 'nobody');
    assert.equal(nobody?.defaults, true);
  });

  const bad: [string, string, unknown, number, string][] = [
    ['a vector of the wrong length', '/v1/score', { features: [1, 2, 3] }, 400, 'features'],
    ['a non-numeric value', '/v1/score', { features: [...vector(1).slice(1), 'x'] }, 400, 'features.15'],
    ['a missing named feature', '/v1/score', { features: { amount: 3 } }, 400, 'features.txn_count_10m'],
    ['an unknown request shape', '/v1/score', { vector: [1] }, 400, 'body'],
  ];
  for (const [what, path, body, status, field] of bad) {
    it(`answers ${status} naming ${field} for ${what}`, async () => {
      const res = await postJson(`${fn.url}${path}`, body);
      assert.equal(res.status, status);
      assert.equal(res.json.field, field);
    });
  }

  it('answers the v2 protocol: metadata, readiness, unknown model 404, wrong shape 400', async () => {
    const meta = (await (await fetch(`${fn.url}/v2/models/risk`)).json()) as {
      inputs: { shape: number[] }[];
      versions: string[];
    };
    assert.deepEqual(meta.inputs[0]?.shape, [-1, 16]);
    assert.deepEqual(meta.versions, ['1']);
    assert.equal((await fetch(`${fn.url}/v2/models/segment/ready`)).status, 200);
    assert.equal((await fetch(`${fn.url}/v2/health/ready`)).status, 200);
    assert.equal((await fetch(`${fn.url}/v2/models/fraud/ready`)).status, 404);
    const wrong = await postJson(`${fn.url}/v2/models/risk/infer`, {
      inputs: [{ name: 'features', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] }],
    });
    assert.equal(wrong.status, 400);
    assert.match(String(wrong.json.error), /takes \[N, 16\]/);
    const infer = (data: unknown[], shape = [2, 16]) =>
      postJson(`${fn.url}/v2/models/risk/infer`, {
        inputs: [{ name: 'features', shape, datatype: 'FP32', data }],
      });
    const row = Array.from({ length: 16 }, (_, i) => i / 16);
    const asRows = await infer([row, row]);
    const flat = await infer([...row, ...row]);
    assert.equal(asRows.status, 200);
    assert.deepEqual(asRows.json.outputs, flat.json.outputs, 'rows as arrays or flat: the same tensor');
    const notNumber = await infer([row, [...row.slice(0, 5), 'x', ...row.slice(6)]]);
    assert.equal(notNumber.status, 400);
    assert.match(String(notNumber.json.error), /inputs\.0\.data\.1\.5 must be a finite number/);
    const short = await infer([...row, ...row.slice(1)]);
    assert.equal(short.status, 400);
    assert.match(String(short.json.error), /needs 32 values, got 31/);
    assert.equal((await infer([...row, ...row, 1])).status, 400);
  });

  it('swaps in a promoted version under a steady stream of requests without failing one', async () => {
    const v2 = await registry.register({ name: 'risk', artifact: riskOnnx({ bias: 2 }), lineage: lineage() });
    const seen: number[][] = [[], [], [], []];
    let stop = false;
    const clients = seen.map(async (versions) => {
      while (!stop) {
        const r = await postJson(`${fn.url}/v1/score`, { features: vector(10) });
        assert.equal(r.status, 200);
        versions.push((r.json.results as { model: { version: number } }[])[0]?.model.version ?? -1);
      }
    });
    await new Promise((r) => setTimeout(r, 200));
    await registry.moveAlias({
      name: 'risk',
      alias: 'champion',
      to: v2.version,
      actor: 'test',
      reason: 'reload',
    });
    await eventually(() => (seen.every((s) => s.at(-1) === v2.version) ? true : undefined));
    stop = true;
    await Promise.all(clients);
    for (const versions of seen) {
      assert.ok(
        versions.every((v) => v === 1 || v === v2.version),
        'only the old or the new version',
      );
      const firstNew = versions.indexOf(v2.version);
      assert.ok(firstNew > 0, 'served the old version before the move');
      assert.ok(
        versions.slice(firstNew).every((v) => v === v2.version),
        'never back to the old one after the swap',
      );
    }
  });

  it('rolls back on every replica, including one that missed the notice (alias TTL)', async () => {
    const other = await startScore(store, registry, 200);
    const version = async (url: string) =>
      (
        (await postJson(`${url}/v1/score`, { features: vector(10) })).json.results as {
          model: { version: number };
        }[]
      )[0]?.model.version;
    assert.equal(await version(other.url), await version(fn.url));
    const before = await registry.alias('risk', 'champion');
    const entry = await registry.rollback('risk', { actor: 'ops', reason: 'test' });
    assert.notEqual(entry.to, before);
    await eventually(async () =>
      (await version(fn.url)) === entry.to && (await version(other.url)) === entry.to ? true : undefined,
    );
    await other.close();
  });

  it('scores the challenger in shadow without changing the decision', async () => {
    const challenger = await registry.register({
      name: 'risk',
      artifact: riskOnnx({ bias: 5 }),
      lineage: lineage(),
    });
    await registry.moveAlias({
      name: 'risk',
      alias: 'challenger',
      to: challenger.version,
      actor: 'test',
      reason: 'shadow',
    });
    const res = await eventually(async () => {
      const ce = await postEvent(fn.url, {
        id: 'f-2',
        type: EventTypes.featuresUpdated,
        data: featuresData(10),
      });
      return (ce.body as { challenger?: unknown }).challenger ? ce : undefined;
    });
    const data = res.body as {
      risk: number;
      model: { version: number };
      challenger: { risk: number; model: { version: number } };
    };
    const champion = await registry.alias('risk', 'champion');
    assert.equal(data.model.version, champion);
    assert.equal(data.challenger.model.version, challenger.version);
    assert.ok(Math.abs(data.challenger.risk - sigmoid(0.1 + 5)) < 1e-6);
    assert.notEqual(data.risk, data.challenger.risk);
  });
});

function featuresData(amount: number) {
  return {
    customerId: 'c-1',
    transactionId: 't-1',
    featureSet: { name: customerFeatures.name, version: customerFeatures.version },
    values: Object.fromEntries(columns.map((c, i) => [c, vector(amount)[i] ?? 0])),
    occurredAt: 1,
    asOf: 2,
  };
}
