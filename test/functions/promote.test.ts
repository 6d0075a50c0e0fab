// promote with real ONNX models in the registry: the gate's outcomes, idempotency, races, and the admin API.
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { after, before, describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import { promoteFunction } from '../../functions/promote/function.ts';
import type { PromoteType } from '../../functions/promote/handler.ts';
import { defaultConfig } from '../../shared/config/index.ts';
import { BusyError } from '../../shared/errors/index.ts';
import {
  EventTypes,
  Extensions,
  type FlywheelEvent,
  makeEvent,
  ModelPromotedSchema,
  ModelRejectedSchema,
} from '../../shared/events/index.ts';
import { customerFeatures } from '../../shared/features/index.ts';
import { ModelRegistry } from '../../shared/registry/index.ts';
import {
  createApp,
  createLogger,
  createMetrics,
  type EventOf,
  type FunctionDefinition,
  type Outcome,
} from '../../shared/runtime/index.ts';
import { createMemoryStore, createRedisStore, type OnlineStore } from '../../shared/store/index.ts';
import { exportSegmentOnnx } from '../../shared/training/onnx-export.ts';
import { SegmentTrainingConfigSchema } from '../../shared/training/segment-model.ts';
import { lineage } from '../support/models.ts';
import { type RedisServer, startRedis } from '../support/redis.ts';
import { registerRisk } from '../support/risk-candidates.ts';

const log = createLogger({ name: 'test', level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const TOKEN = 's3cret-token';
/** The default gate, latency included: it judges candidates against the champion timed beside them. */
const config = defaultConfig({ PROMOTE_TOKEN: TOKEN });
const LIVE = customerFeatures.columns;

async function registerSegment(store: OnlineStore, silhouette: number): Promise<number> {
  const width = LIVE.length;
  const centroid = (x: number) => LIVE.map((_, i) => (i === 0 ? x : 0));
  const bytes = exportSegmentOnnx(
    {
      kind: 'segment',
      columns: [...LIVE],
      scaler: { mean: new Array<number>(width).fill(0), std: new Array<number>(width).fill(1) },
      centroids: [centroid(-1), centroid(1)],
      centroidsRaw: [centroid(-1), centroid(1)],
      metrics: { k: 2, inertia: 1, silhouette, silhouetteSampled: false, sizes: [1, 1], candidates: [] },
      training: { rows: 2, iterations: 1, config: SegmentTrainingConfigSchema.parse({}) },
    },
    { name: 'segment' },
  );
  const record = await new ModelRegistry({ store }).register({
    name: 'segment',
    artifact: bytes,
    lineage: lineage({ metrics: { silhouette, k: 2 }, columns: LIVE }),
  });
  return record.version;
}

function trained(
  name: 'risk' | 'segment',
  version: number,
  id = `trained-${name}-${version}`,
): EventOf<PromoteType> {
  return makeEvent({
    type: EventTypes.modelTrained,
    source: 'test/trainer',
    id,
    data: {
      model: { name, version },
      featureSet: { name: customerFeatures.name, version: customerFeatures.version },
      range: { from: 0, to: 1 },
      holdout: { from: 1, to: 2 },
      metrics: {},
      backend: 'cpu',
      artifact: `registry://${name}/${version}`,
    },
  });
}

const ctx = () => ({ log, metrics: createMetrics('promote') });

async function reply(
  fn: FunctionDefinition<PromoteType>,
  event: EventOf<PromoteType>,
): Promise<FlywheelEvent> {
  const outcome: Outcome = await fn.handle(event, ctx());
  assert.equal(outcome.kind, 'reply');
  return outcome.event;
}

/** Runs `fn` while a worker thread spins on every core: the machine is as busy as it gets. */
async function withEveryCoreBusy<T>(fn: () => Promise<T>): Promise<T> {
  const spinners = Array.from(
    { length: availableParallelism() },
    () => new Worker('for (;;) {}', { eval: true }),
  );
  await Promise.all(spinners.map((w) => new Promise((resolve) => w.once('online', resolve))));
  try {
    return await fn();
  } finally {
    await Promise.all(spinners.map((w) => w.terminate()));
  }
}

/** The TRUE model (column 0, a = 2, b = −2) promoted as the first champion. */
async function withChampion(store: OnlineStore, fn: FunctionDefinition<PromoteType>): Promise<number> {
  const v = await registerRisk(store, { column: 0, a: 2, b: -2 });
  const first = await reply(fn, trained('risk', v));
  assert.equal(first.type, EventTypes.modelPromoted);
  return v;
}

function setup(overrides: Record<string, string> = {}) {
  const store = createMemoryStore();
  const registry = new ModelRegistry({ store });
  const fn = promoteFunction({
    store,
    config: defaultConfig({ PROMOTE_TOKEN: TOKEN, ...overrides }),
    log,
  });
  return { store, registry, fn };
}

describe('promote on model.trained', () => {
  it('promotes the first model that meets the floors, and records it in the history', async () => {
    const { store, registry, fn } = setup();
    const v = await registerRisk(store, { column: 0, a: 2, b: -2 });
    const event = await reply(fn, trained('risk', v));
    assert.equal(event.type, EventTypes.modelPromoted);
    assert.equal(event.extensions[Extensions.model], 'risk');
    const data = ModelPromotedSchema.parse(event.data);
    assert.deepEqual(data.model, { name: 'risk', version: v });
    assert.equal(data.previous, null);
    assert.deepEqual(
      data.checks.map((c) => [c.check, c.passed]),
      [
        ['signature', true],
        ['holdout', true],
        ['auc', true],
        ['brier', true],
        ['latency-ceiling', true],
      ],
    );
    const auc = data.checks.find((c) => c.check === 'auc')?.value ?? 0;
    assert.ok(auc > 0.8, `holdout AUC ${auc}`);
    assert.equal(await registry.alias('risk', 'champion'), v);
    const history = await registry.history('risk');
    assert.deepEqual(
      history.map((e) => [e.from, e.to, e.actor]),
      [[null, v, 'promote']],
    );
  });

  it('rejects a first model under the AUC floor and leaves the alias unset', async () => {
    const { store, registry, fn } = setup();
    const v = await registerRisk(store, { column: 3, a: 2, b: -2 });
    const event = await reply(fn, trained('risk', v));
    assert.equal(event.type, EventTypes.modelRejected);
    const data = ModelRejectedSchema.parse(event.data);
    assert.equal(data.champion, null);
    assert.ok(
      data.reasons.some((r) => /^auc: ROC AUC 0\.\d+ \(floor 0\.7\)$/.test(r)),
      data.reasons.join('\n'),
    );
    assert.equal(await registry.alias('risk', 'champion'), null);
  });

  it('promotes a better candidate over the champion, and rejects a worse one with every failed check', async () => {
    const { store, registry, fn } = setup();
    // Champion: a weak model on a noise column, put in place by an operator; candidate: the true model.
    const weak = await registerRisk(store, { column: 5, a: 1, b: -1.5 });
    await registry.moveAlias({
      name: 'risk',
      alias: 'champion',
      to: weak,
      actor: 'operator',
      reason: 'test',
    });
    const better = await registerRisk(store, { column: 0, a: 2, b: -2 });
    const promoted = ModelPromotedSchema.parse((await reply(fn, trained('risk', better))).data);
    assert.equal(promoted.previous, weak);
    assert.match(promoted.reasons[0] ?? '', new RegExp(`against champion v${weak}`));
    const worse = await registerRisk(store, { column: 7, a: 2, b: -2 });
    const rejected = await reply(fn, trained('risk', worse));
    assert.equal(rejected.type, EventTypes.modelRejected);
    const data = ModelRejectedSchema.parse(rejected.data);
    assert.equal(data.champion, better);
    assert.deepEqual(
      data.checks.filter((c) => !c.passed).map((c) => c.check),
      ['auc', 'brier'],
    );
    const auc = data.checks.find((c) => c.check === 'auc');
    assert.ok(auc?.value !== null && auc?.threshold !== null && (auc?.value ?? 1) < (auc?.threshold ?? 0));
    assert.equal(data.reasons.length, 2);
    assert.match(
      data.reasons[0] ?? '',
      new RegExp(`^auc: ROC AUC 0\\.\\d+ vs champion v${better} 0\\.\\d+ \\(margin 0\\.005\\)$`),
    );
    assert.equal(await registry.alias('risk', 'champion'), better);
    assert.equal((await registry.history('risk')).length, 2);
  });

  it('promotes a tie within the margins (same ranking, Brier within 0.005), as documented', async () => {
    const { store, registry, fn } = setup();
    const champion = await withChampion(store, fn);
    const tie = await registerRisk(store, { column: 0, a: 2, b: -2.05 });
    const data = ModelPromotedSchema.parse((await reply(fn, trained('risk', tie))).data);
    const auc = data.checks.find((c) => c.check === 'auc');
    const brier = data.checks.find((c) => c.check === 'brier');
    assert.equal(
      auc?.value,
      (auc?.threshold ?? 0) + config.PROMOTE_AUC_MARGIN,
      'equal AUC: a monotone transform',
    );
    const championBrier = (brier?.threshold ?? 0) - config.PROMOTE_BRIER_MARGIN;
    const difference = (brier?.value ?? 1) - championBrier;
    assert.ok(difference !== 0 && Math.abs(difference) <= config.PROMOTE_BRIER_MARGIN, `Brier ${difference}`);
    assert.equal(data.previous, champion);
    assert.equal(await registry.alias('risk', 'champion'), tie);
  });

  it('rejects a candidate with a different feature signature, naming the difference', async () => {
    const { store, registry, fn } = setup();
    const champion = await withChampion(store, fn);
    const v = await registerRisk(store, { column: 0, a: 2, b: -2, columns: LIVE.slice(0, -1) });
    const data = ModelRejectedSchema.parse((await reply(fn, trained('risk', v))).data);
    const signature = data.checks.find((c) => c.check === 'signature');
    assert.equal(signature?.passed, false);
    assert.match(
      signature?.detail ?? '',
      /15 columns, live 16; first difference at position 15 \(none vs is_online\)/,
    );
    assert.match(data.reasons.join('\n'), /champion v\d+: the holdout has no column is_online/);
    assert.equal(await registry.alias('risk', 'champion'), champion);
  });

  it('rejects a first model whose median single-row inference is over the ceiling, naming both', async () => {
    const { store, fn } = setup({ PROMOTE_LATENCY_BUDGET_MS: '0.000001' });
    const v = await registerRisk(store, { column: 0, a: 2, b: -2 });
    const data = ModelRejectedSchema.parse((await reply(fn, trained('risk', v))).data);
    const ceiling = data.checks.find((c) => c.check === 'latency-ceiling');
    assert.equal(ceiling?.passed, false);
    assert.ok((ceiling?.value ?? 0) > 0.000001);
    assert.equal(
      data.checks.find((c) => c.check === 'latency'),
      undefined,
      'no champion: only the ceiling',
    );
    assert.equal(data.reasons.length, 1);
    assert.match(
      data.reasons[0] ?? '',
      /^latency-ceiling: median single-row inference [\d.e-]+ ms, p99 [\d.e-]+ ms \(ceiling 0\.000001 ms on the median\)$/,
    );
  });

  it('promotes a candidate identical to a slow champion, measured while every core is busy', async () => {
    // The champion runs 1006 nodes a row (a quarter of a millisecond; load makes its p99 tens of milliseconds); the
    // candidate is the same model retrained. Whatever load does to the times, the same graph is not slower than itself.
    const { store, registry, fn } = setup();
    const slow = { column: 0, a: 2, b: -2, depth: 500 };
    const champion = await registerRisk(store, slow);
    await registry.moveAlias({
      name: 'risk',
      alias: 'champion',
      to: champion,
      actor: 'operator',
      reason: 'test',
    });
    const candidate = await registerRisk(store, slow);
    const event = await withEveryCoreBusy(() => reply(fn, trained('risk', candidate)));
    assert.equal(event.type, EventTypes.modelPromoted, JSON.stringify(event.data));
    const data = ModelPromotedSchema.parse(event.data);
    assert.deepEqual(
      data.checks.map((c) => [c.check, c.passed]),
      [
        ['signature', true],
        ['holdout', true],
        ['auc', true],
        ['brier', true],
        ['latency', true],
        ['latency-ceiling', true],
      ],
    );
    const latency = data.checks.find((c) => c.check === 'latency');
    assert.equal(latency?.threshold, 1.5);
    assert.match(
      latency?.detail ?? '',
      new RegExp(
        `^median single-row inference [\\d.]+ ms vs champion v${champion} [\\d.]+ ms, interleaved over 10 rounds: ` +
          'ratio [\\d.]+ \\(allowed 1\\.5\\); per row 1006 nodes, 4072 operations vs 1006 nodes, 4072 operations',
      ),
    );
    assert.equal(await registry.alias('risk', 'champion'), candidate);
  });

  it('rejects a candidate doing far more work per row than the champion, naming both medians and the ratio', async () => {
    const { store, registry, fn } = setup();
    const champion = await withChampion(store, fn);
    // The champion's answers exactly, through 500 more layers: only the latency can tell them apart.
    const deep = await registerRisk(store, { column: 0, a: 2, b: -2, depth: 500 });
    const data = ModelRejectedSchema.parse((await reply(fn, trained('risk', deep))).data);
    assert.deepEqual(
      data.checks.filter((c) => !c.passed).map((c) => c.check),
      ['latency'],
    );
    const auc = data.checks.find((c) => c.check === 'auc');
    assert.equal(
      auc?.value,
      (auc?.threshold ?? 0) + config.PROMOTE_AUC_MARGIN,
      'the same AUC as the champion',
    );
    const latency = data.checks.find((c) => c.check === 'latency');
    assert.equal(latency?.threshold, 1.5);
    assert.equal(data.reasons.length, 1);
    const m = new RegExp(
      `^latency: median single-row inference ([\\d.]+) ms vs champion v${champion} ([\\d.]+) ms, ` +
        'interleaved over 10 rounds: ratio ([\\d.]+) \\(allowed 1\\.5\\); ' +
        'per row 1006 nodes, 4072 operations vs 6 nodes, 72 operations$',
    ).exec(data.reasons[0] ?? '');
    assert.ok(m, data.reasons[0]);
    const [candidateMs, championMs, ratio] = [m[1], m[2], m[3]].map(Number);
    assert.ok((candidateMs ?? 0) > (championMs ?? 0), data.reasons[0]);
    assert.equal(ratio, Number((latency?.value ?? 0).toPrecision(4)));
    assert.ok((latency?.value ?? 0) > 1.5);
    assert.equal(await registry.alias('risk', 'champion'), champion);
  });

  it('replies the same verdict to a redelivered model.trained and moves nothing twice', async () => {
    const { store, registry, fn } = setup();
    const champion = await withChampion(store, fn);
    const v = await registerRisk(store, { column: 0, a: 2, b: -2.05 });
    const first = await reply(fn, trained('risk', v));
    const again = await reply(fn, trained('risk', v));
    assert.deepEqual(again, first);
    assert.equal(first.id, `promote-risk-v${v}-promoted`);
    assert.deepEqual(
      (await registry.history('risk')).map((e) => [e.from, e.to]),
      [
        [null, champion],
        [champion, v],
      ],
    );
    // A concurrent duplicate is turned away (409: the broker retries it) and then gets the same reply.
    const w = await registerRisk(store, { column: 7, a: 2, b: -2 });
    const both = await Promise.allSettled([
      fn.handle(trained('risk', w), ctx()),
      fn.handle(trained('risk', w), ctx()),
    ]);
    assert.deepEqual(both.map((r) => r.status).sort(), ['fulfilled', 'rejected']);
    const refused = both.find((r) => r.status === 'rejected');
    assert.ok(refused?.status === 'rejected' && refused.reason instanceof BusyError);
    assert.equal(refused.reason.retriable, true, '409 is retried by the broker: the error must say so');
    const retried = await reply(fn, trained('risk', w));
    const judged = both.find((r) => r.status === 'fulfilled');
    assert.ok(judged?.status === 'fulfilled' && judged.value.kind === 'reply');
    assert.deepEqual(retried, judged.value.event);
    assert.equal(retried.type, EventTypes.modelRejected);
    assert.equal((await registry.history('risk')).length, 2);
  });

  it('ends concurrent candidates with one champion and a history where each move starts from the last', async () => {
    const { store, registry, fn } = setup();
    const champion = await withChampion(store, fn);
    const other = promoteFunction({ store, config, log });
    const a = await registerRisk(store, { column: 0, a: 2, b: -2.05 });
    const b = await registerRisk(store, { column: 0, a: 2, b: -1.95 });
    const [ra, rb] = await Promise.all([reply(fn, trained('risk', a)), reply(other, trained('risk', b))]);
    const pa = ModelPromotedSchema.parse(ra?.data);
    const pb = ModelPromotedSchema.parse(rb?.data);
    const history = await registry.history('risk');
    assert.equal(history.length, 3);
    for (let i = 1; i < history.length; i++) {
      assert.equal(history[i]?.from, history[i - 1]?.to, 'each move starts where the last ended');
    }
    const last = history[2]?.to;
    assert.equal(await registry.alias('risk', 'champion'), last);
    // The loser of the compare-and-set measured again against the winner, and its reply says so.
    const [winner, loser] = pa.previous === champion ? [pa, pb] : [pb, pa];
    assert.equal(winner.previous, champion);
    assert.equal(loser.previous, winner.model.version);
    assert.equal(last, loser.model.version);
  });

  it('judges segment models on the silhouette floor and latency', async () => {
    const { store, registry, fn } = setup();
    const good = await registerSegment(store, 0.6);
    assert.equal((await reply(fn, trained('segment', good))).type, EventTypes.modelPromoted);
    const poor = await registerSegment(store, 0.1);
    const data = ModelRejectedSchema.parse((await reply(fn, trained('segment', poor))).data);
    assert.deepEqual(data.reasons, ['silhouette: silhouette 0.1 (floor 0.25)']);
    const latency = data.checks.find((c) => c.check === 'latency');
    assert.equal(latency?.passed, true);
    assert.match(
      latency?.detail ?? '',
      new RegExp(`vs champion v${good} .*per row 7 nodes, 130 operations vs 7 nodes`),
    );
    assert.equal(await registry.alias('segment', 'champion'), good);
  });
});

describe('promote admin API', () => {
  const post = (input: { token?: string; body?: unknown }) => {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (input.token !== undefined) headers.authorization = `Bearer ${input.token}`;
    return {
      method: 'POST',
      headers,
      body:
        input.body === undefined
          ? ''
          : typeof input.body === 'string'
            ? input.body
            : JSON.stringify(input.body),
    };
  };

  async function admin() {
    const s = setup();
    const champion = await withChampion(s.store, s.fn);
    const next = await registerRisk(s.store, { column: 0, a: 2, b: -2.05 });
    const { app } = createApp(s.fn, { log, maxBodyBytes: 65_536 });
    return { ...s, app, champion, next };
  }

  it('answers 401 without a valid bearer token, and nothing moves', async () => {
    const { app, registry, champion, next } = await admin();
    for (const token of [undefined, '', 'wrong', `${TOKEN}x`, TOKEN.slice(0, -1)]) {
      const res = await app.request(
        '/v1/models/risk/promote',
        post({ ...(token === undefined ? {} : { token }), body: { version: next } }),
      );
      assert.equal(res.status, 401, `token ${token}`);
      assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="flywheel-promote"');
      assert.equal(res.headers.get('content-type'), 'application/problem+json');
    }
    const rollback = await app.request('/v1/models/risk/rollback', post({ token: 'nope' }));
    assert.equal(rollback.status, 401);
    assert.equal(await registry.alias('risk', 'champion'), champion);
    assert.equal((await registry.history('risk')).length, 1);
  });

  it('refuses every request when no token is configured', async () => {
    const store = createMemoryStore();
    const fn = promoteFunction({ store, config: defaultConfig({}), log });
    const { app } = createApp(fn, { log, maxBodyBytes: 65_536 });
    const res = await app.request('/v1/models/risk/rollback', post({ token: 'anything' }));
    assert.equal(res.status, 401);
  });

  it('moves the champion to a given version, then rolls it back', async () => {
    const { app, registry, champion, next } = await admin();
    const res = await app.request(
      '/v1/models/risk/promote',
      post({ token: TOKEN, body: { version: next, actor: 'alice', reason: 'canary looked good' } }),
    );
    assert.equal(res.status, 200);
    const body = (await res.json()) as { model: unknown; previous: unknown };
    assert.deepEqual(body.model, { name: 'risk', version: next });
    assert.equal(body.previous, champion);
    assert.equal(await registry.alias('risk', 'champion'), next);
    const back = await app.request('/v1/models/risk/rollback', post({ token: TOKEN }));
    assert.equal(back.status, 200);
    assert.equal(await registry.alias('risk', 'champion'), champion);
    const history = await registry.history('risk');
    assert.deepEqual(
      history.map((e) => [e.from, e.to, e.actor, e.rollback]),
      [
        [null, champion, 'promote', false],
        [champion, next, 'alice', false],
        [next, champion, 'operator', true],
      ],
    );
  });

  it('answers 400 on a bad body, 404 on an unknown model or version, 409 on a lost compare-and-set', async () => {
    const { app, registry, champion, next, store } = await admin();
    const call = (path: string, body?: unknown) => app.request(path, post({ token: TOKEN, body }));
    const bad = await call('/v1/models/risk/promote', { version: 'two' });
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as { field?: string }).field, 'body.version');
    assert.equal((await call('/v1/models/risk/promote', '{not json')).status, 400);
    assert.equal((await call('/v1/models/fraud/promote', { version: 1 })).status, 404);
    assert.equal((await call('/v1/models/risk/promote', { version: 99 })).status, 404);
    const lost = await call('/v1/models/risk/promote', { version: next, expected: next });
    assert.equal(lost.status, 409);
    const narrow = await registerRisk(store, { column: 0, a: 2, b: -2, columns: LIVE.slice(0, -1) });
    const mismatch = await call('/v1/models/risk/promote', { version: narrow });
    assert.equal(mismatch.status, 400);
    assert.match(((await mismatch.json()) as { detail: string }).detail, /cannot serve live rows/);
    assert.equal(await registry.alias('risk', 'champion'), champion);
    const segmentRollback = await call('/v1/models/segment/rollback');
    assert.equal(segmentRollback.status, 409, 'nothing to roll back to');
  });

  it('refuses a body over MAX_BODY_BYTES with 413, and nothing moves', async () => {
    const { app, registry, champion, next } = await admin();
    const reason = 'x'.repeat(70_000);
    for (const path of ['/v1/models/risk/promote', '/v1/models/risk/rollback']) {
      const res = await app.request(path, post({ token: TOKEN, body: { version: next, reason } }));
      assert.equal(res.status, 413, path);
      assert.equal(res.headers.get('content-type'), 'application/problem+json');
      assert.equal(((await res.json()) as { title: string }).title, 'payload too large');
    }
    assert.equal(await registry.alias('risk', 'champion'), champion);
    assert.equal((await registry.history('risk')).length, 1);
  });
});

describe('promote on a real redis-server', () => {
  let server: RedisServer;
  before(async () => {
    server = await startRedis();
  });
  after(() => server.stop());

  it('promotes, answers a redelivery with the same verdict, and rolls back over HTTP', async () => {
    const store = createRedisStore({ url: server.url, timeoutMs: 2_000, log });
    const fn = promoteFunction({ store, config, log });
    try {
      const registry = new ModelRegistry({ store });
      const first = await withChampion(store, fn);
      const v = await registerRisk(store, { column: 0, a: 2, b: -1.95 });
      const promoted = await reply(fn, trained('risk', v));
      assert.equal(promoted.type, EventTypes.modelPromoted);
      assert.deepEqual(await reply(fn, trained('risk', v)), promoted);
      assert.equal(await registry.alias('risk', 'champion'), v);
      const { app } = createApp(fn, { log, maxBodyBytes: 65_536 });
      const back = await app.request('/v1/models/risk/rollback', {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      assert.equal(back.status, 200);
      assert.equal(await registry.alias('risk', 'champion'), first);
      assert.deepEqual(
        (await registry.history('risk')).map((e) => [e.from, e.to, e.rollback]),
        [
          [null, first, false],
          [first, v, false],
          [v, first, true],
        ],
      );
    } finally {
      await fn.close?.();
    }
  });
});
