// The model registry on the in-process store, Redis and a Redis Cluster: versions with lineage, signature checks, CAS aliases, history, rollback, notices.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ConflictError, InvalidInputError } from '../../../shared/errors/index.ts';
import { type AliasNotice, ModelRegistry } from '../../../shared/registry/index.ts';
import { createLogger } from '../../../shared/runtime/index.ts';
import { createMemoryStore, createRedisStore, type OnlineStore } from '../../../shared/store/index.ts';
import { lineage, riskOnnx, segmentOnnx } from '../../support/models.ts';
import { type RedisServer, startRedis } from '../../support/redis.ts';
import { type RedisCluster, startRedisCluster } from '../../support/redis-cluster.ts';

const log = createLogger({ name: 'test', level: 'silent' });

function registryContract(name: string, makeStore: () => Promise<OnlineStore>) {
  describe(`ModelRegistry on ${name}`, () => {
    let store: OnlineStore;
    let registry: ModelRegistry;
    before(async () => {
      store = await makeStore();
      registry = new ModelRegistry({ store });
    });
    after(() => store.close());

    it('registers versions 1, 2, … with their lineage and returns the artifact byte for byte', async () => {
      const bytes = riskOnnx({ bias: -1 });
      const v1 = await registry.register({ name: 'risk', artifact: bytes, lineage: lineage() });
      const v2 = await registry.register({
        name: 'risk',
        artifact: riskOnnx({ bias: 1 }),
        lineage: lineage({ metrics: { rocAuc: 0.95 } }),
      });
      assert.deepEqual([v1.version, v2.version], [1, 2]);
      assert.equal(v1.signature.width, 16);
      assert.equal(v1.artifact.kind, 'inline');
      assert.equal(Buffer.compare(await registry.artifact('risk', 1), bytes), 0);
      assert.equal((await registry.get('risk', 2)).lineage.metrics.rocAuc, 0.95);
      assert.deepEqual(
        (await registry.list('risk')).map((v) => v.version),
        [1, 2],
      );
    });

    it('rejects a file that is not ONNX, and a model whose inputs do not match the feature set', async () => {
      await assert.rejects(
        registry.register({ name: 'risk', artifact: new Uint8Array([1, 2, 3]), lineage: lineage() }),
        (err) => {
          assert.ok(err instanceof InvalidInputError);
          assert.equal(err.field, 'artifact');
          return true;
        },
      );
      const short = lineage();
      short.featureSet.columns = short.featureSet.columns.slice(0, 5);
      await assert.rejects(
        registry.register({ name: 'risk', artifact: riskOnnx({ bias: 0 }), lineage: short }),
        /16 features, the feature set has 5/,
      );
      await assert.rejects(
        registry.register({ name: 'risk', artifact: segmentOnnx(), lineage: lineage() }),
        /declares itself a segment model/,
      );
    });

    it('moves an alias only from the expected version and announces every move', async () => {
      const notices: AliasNotice[] = [];
      const unwatch = await registry.watch((n) => notices.push(n));
      await registry.moveAlias({
        name: 'risk',
        alias: 'champion',
        to: 1,
        expected: null,
        actor: 'alice',
        reason: 'first',
      });
      await assert.rejects(
        registry.moveAlias({
          name: 'risk',
          alias: 'champion',
          to: 2,
          expected: null,
          actor: 'bob',
          reason: 'stale',
        }),
        ConflictError,
      );
      await registry.moveAlias({
        name: 'risk',
        alias: 'champion',
        to: 2,
        expected: 1,
        actor: 'carol',
        reason: 'better',
      });
      assert.equal(await registry.alias('risk', 'champion'), 2);
      for (let i = 0; i < 50 && notices.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
      unwatch();
      assert.deepEqual(
        notices.map((n) => [n.alias, n.previous, n.version]),
        [
          ['champion', null, 1],
          ['champion', 1, 2],
        ],
      );
      assert.deepEqual(
        (await registry.history('risk')).map((h) => [h.from, h.to, h.actor]),
        [
          [null, 1, 'alice'],
          [1, 2, 'carol'],
        ],
      );
    });

    it('lets exactly one of two concurrent moves from the same version win', async () => {
      const v3 = await registry.register({
        name: 'risk',
        artifact: riskOnnx({ bias: 3 }),
        lineage: lineage(),
      });
      const results = await Promise.allSettled([
        registry.moveAlias({
          name: 'risk',
          alias: 'champion',
          to: v3.version,
          expected: 2,
          actor: 'x',
          reason: 'race',
        }),
        registry.moveAlias({
          name: 'risk',
          alias: 'champion',
          to: 1,
          expected: 2,
          actor: 'y',
          reason: 'race',
        }),
      ]);
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
      const winner = results[0]?.status === 'fulfilled' ? v3.version : 1;
      assert.equal(await registry.alias('risk', 'champion'), winner);
      // put v3 in place for the rollback test whatever won
      if (winner !== v3.version) {
        await registry.moveAlias({
          name: 'risk',
          alias: 'champion',
          to: v3.version,
          actor: 'x',
          reason: 'again',
        });
      }
    });

    it('rolls back through earlier champions one step at a time, recording each step', async () => {
      const before = await registry.history('risk');
      const last = before.at(-1);
      assert.equal(last?.to, 3);
      const first = await registry.rollback('risk', { actor: 'ops', reason: 'bad model' });
      assert.equal(first.to, last?.from);
      assert.equal(first.rollback, true);
      assert.equal(await registry.alias('risk', 'champion'), last?.from);
      const entries = await registry.history('risk');
      assert.equal(entries.length, before.length + 1);
    });

    it('refuses to roll back a model that has never had an earlier champion', async () => {
      const s = await registry.register({ name: 'segment', artifact: segmentOnnx(), lineage: lineage() });
      await registry.moveAlias({
        name: 'segment',
        alias: 'champion',
        to: s.version,
        actor: 'a',
        reason: 'first',
      });
      await assert.rejects(registry.rollback('segment', { actor: 'ops', reason: 'x' }), ConflictError);
    });
  });
}

registryContract('the in-process store', async () => createMemoryStore({ log }));

let redis: RedisServer;
before(async () => {
  redis = await startRedis();
});
after(() => redis.stop());
registryContract('Redis', async () => createRedisStore({ url: redis.url, timeoutMs: 1000, log }));

let cluster: RedisCluster;
before(async () => {
  cluster = await startRedisCluster();
});
after(() => cluster.stop());
registryContract('a Redis Cluster', async () => createRedisStore({ url: cluster.url, timeoutMs: 2000, log }));
