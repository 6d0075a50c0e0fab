// createStore: REDIS_URL selects Redis, its absence the embedded store, and the start-up log says which.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { createLogger } from '../../../shared/runtime/logger.ts';
import { createStore } from '../../../shared/store/index.ts';
import { startRedis } from '../../support/redis.ts';

/** A logger whose lines land in an array, for asserting on the start-up message. */
function capturingLogger() {
  const lines: { msg?: string; redis?: string }[] = [];
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
      assert.equal(lines[0]?.msg, 'store: redis');
      assert.equal(lines[0]?.redis, `redis://:***@127.0.0.1:${server.port}`);
    } finally {
      await store.close();
      await server.stop();
    }
  });
});
