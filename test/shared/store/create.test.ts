// createStore: REDIS_URL selects Redis (one server or a cluster), its absence the embedded store; the log says which.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { loadConfig } from '../../../shared/config/index.ts';
import { createLogger } from '../../../shared/runtime/logger.ts';
import { createStore } from '../../../shared/store/index.ts';
import { startRedis } from '../../support/redis.ts';
import { startRedisCluster } from '../../support/redis-cluster.ts';

/** A logger whose lines land in an array, for asserting on the start-up message. */
function capturingLogger() {
  const lines: { msg?: string; redis?: string; mode?: string; nodes?: string[] }[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()) as { msg?: string });
      done();
    },
  });
  return { log: createLogger({ name: 'store-create', level: 'info', destination }), lines };
}

describe('createStore', () => {
  it('uses the embedded in-process store without a Redis URL and says so', async () => {
    const { log, lines } = capturingLogger();
    const store = createStore({ redisUrl: undefined, timeoutMs: 1000, log });
    assert.equal(store.kind, 'memory');
    assert.deepEqual(
      lines.map((l) => l.msg),
      ['store: embedded in-process memory (set REDIS_URL for Redis)'],
    );
    await store.close();
  });

  it('uses Redis when given a URL, logging it without the password', async () => {
    const server = await startRedis();
    const { log, lines } = capturingLogger();
    const store = createStore({ redisUrl: `redis://:secret@127.0.0.1:${server.port}`, timeoutMs: 1000, log });
    try {
      assert.equal(store.kind, 'redis');
      assert.equal(lines[0]?.msg, 'store: redis, single server');
      assert.equal(lines[0]?.mode, 'single');
      assert.equal(lines[0]?.redis, `redis://:***@127.0.0.1:${server.port}`);
      assert.deepEqual(lines[0]?.nodes, [`127.0.0.1:${server.port}`]);
    } finally {
      await store.close();
      await server.stop();
    }
  });

  it('uses a Redis Cluster for redis+cluster://, logging its nodes without the password, and serves from it', async () => {
    const cluster = await startRedisCluster();
    const [a, b] = cluster.ports;
    const { log, lines } = capturingLogger();
    const store = createStore({
      redisUrl: `redis+cluster://:secret@127.0.0.1:${a},127.0.0.1:${b}`,
      timeoutMs: 2000,
      log,
    });
    try {
      assert.equal(store.kind, 'redis');
      assert.equal(lines[0]?.msg, 'store: redis cluster');
      assert.equal(lines[0]?.mode, 'cluster');
      assert.equal(lines[0]?.redis, `redis+cluster://:***@127.0.0.1:${a},127.0.0.1:${b}`);
      assert.deepEqual(lines[0]?.nodes, [`127.0.0.1:${a}`, `127.0.0.1:${b}`]);
      assert.ok(!JSON.stringify(lines).includes('secret'));
      // these nodes have no password (AUTH would be refused): serve from a seed list whose first node is unreachable
      const open = createStore({
        redisUrl: cluster.url.replace('redis+cluster://', 'redis+cluster://127.0.0.1:1,'),
        timeoutMs: 2000,
        log,
      });
      try {
        await open.writeRecord('k', 'v');
        assert.equal(await open.readRecord('k'), 'v');
      } finally {
        await open.close();
      }
    } finally {
      await store.close();
      await cluster.stop();
    }
  });

  it('accepts the cluster form of REDIS_URL in the configuration and refuses malformed ones readably', () => {
    const ok = loadConfig({ REDIS_URL: 'rediss+cluster://app:pw@10.0.0.1:6379,10.0.0.2:6380' });
    assert.equal(ok.REDIS_URL, 'rediss+cluster://app:pw@10.0.0.1:6379,10.0.0.2:6380');
    assert.throws(() => loadConfig({ REDIS_URL: 'redis+cluster://h1:7000,h2:notaport' }), /host:port/);
    assert.throws(() => loadConfig({ REDIS_URL: 'redis+cluster://h1:7000/3' }), /database 0/);
    assert.throws(() => loadConfig({ REDIS_URL: 'http://h1:7000' }), /scheme/);
  });
});
