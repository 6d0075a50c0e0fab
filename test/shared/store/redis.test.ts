// Redis-only guarantees: one round trip per featurize update and per batch read, the key layout and its TTLs.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DependencyError } from '../../../shared/errors/index.ts';
import { createLogger } from '../../../shared/runtime/logger.ts';
import { createRedisStore, type OnlineStore } from '../../../shared/store/index.ts';
import { customerKeys } from '../../../shared/store/keys.ts';
import {
  commandCalls,
  type RedisServer,
  redisCommand,
  startRedis,
  startRoundTripProxy,
} from '../../support/redis.ts';
import { customerEvent, T0, unique } from './contract-support.ts';

const log = createLogger({ name: 'store-redis', level: 'silent' });
const QUERY = { retentionMs: 3_600_000, windowsMs: [3_600_000] };

describe('Redis store', () => {
  let server: RedisServer;
  let store: OnlineStore;
  before(async () => {
    server = await startRedis();
    store = createRedisStore({ url: server.url, timeoutMs: 2000, log });
  });
  after(async () => {
    await store.close();
    await server.stop();
  });

  it('applies an event and reads many customers in one round trip each', async () => {
    const proxy = await startRoundTripProxy({ target: server.port });
    const viaProxy = createRedisStore({ url: proxy.url, timeoutMs: 5000, log });
    try {
      assert.equal(await viaProxy.ping(), true);
      const ids = Array.from({ length: 5 }, () => unique('c'));
      for (const customerId of ids) {
        await viaProxy.applyCustomerEvent(customerEvent({ customerId, firstSeen: ['country:DE'] }));
      }
      proxy.reset();
      await viaProxy.readRecord('a');
      await viaProxy.readRecord('b');
      assert.equal(proxy.roundTrips(), 2, 'calibration: two awaited calls are two round trips');
      proxy.reset();
      const applied = await viaProxy.applyCustomerEvent(
        customerEvent({ customerId: ids[0] ?? '', firstSeen: ['x:1'] }),
      );
      assert.equal(applied.kind, 'applied');
      assert.equal(proxy.roundTrips(), 1, 'applyCustomerEvent');
      proxy.reset();
      const read = await viaProxy.readCustomers(ids, QUERY);
      assert.equal(read.size, 5);
      assert.equal(proxy.roundTrips(), 1, 'readCustomers of 5 customers');
    } finally {
      await viaProxy.close();
      await proxy.close();
    }
  });

  it('runs one script per featurize update and one per customer in a batch read', async () => {
    const customerId = unique('c');
    await store.applyCustomerEvent(customerEvent({ customerId }));
    const before = await commandCalls(server.port);
    await store.applyCustomerEvent(customerEvent({ customerId }));
    await store.readCustomers([customerId, unique('c')], QUERY);
    const afterCalls = await commandCalls(server.port);
    const delta = (name: string) => (afterCalls[name] ?? 0) - (before[name] ?? 0);
    assert.equal(delta('evalsha') + delta('eval'), 3);
    assert.equal(delta('info'), 1, 'only the INFO of this measurement');
  });

  it('lays keys out as documented, hash-tagged by customer, each with its TTL', async () => {
    const customerId = unique('cust');
    await store.applyCustomerEvent(
      customerEvent({
        customerId,
        eventKey: 'src/1',
        firstSeen: ['country:DE'],
        claimTtlMs: 60_000,
        idleTtlMs: 120_000,
      }),
    );
    const keys = await redisCommand(server.port, ['KEYS', `fw:{${customerId}}:*`]);
    assert.ok(Array.isArray(keys));
    const sorted = keys.map(String).sort();
    assert.equal(sorted.length, 4);
    assert.match(sorted[0] ?? '', new RegExp(`^fw:\\{${customerId}\\}:claim:[0-9a-f]{40}$`));
    assert.deepEqual(sorted.slice(1), [
      `fw:{${customerId}}:events`,
      `fw:{${customerId}}:firstseen`,
      `fw:{${customerId}}:latest`,
    ]);
    const ttl = async (key: string) => Number(await redisCommand(server.port, ['PTTL', key]));
    const claimTtl = await ttl(sorted[0] ?? '');
    assert.ok(claimTtl > 0 && claimTtl <= 60_000, `claim TTL ${claimTtl}`);
    for (const key of sorted.slice(1)) {
      const t = await ttl(key);
      assert.ok(t > 60_000 && t <= 120_000, `${key} TTL ${t}`);
    }

    await store.claim('job-1', 30_000);
    await store.acquireLock('retrain:risk', 'me', 30_000);
    await store.moveAlias({
      model: 'risk',
      alias: 'champion',
      expected: null,
      next: '1',
      historyEntry: '',
      notice: '',
    });
    assert.ok((await ttl('fw:claim:job-1')) > 0);
    assert.ok((await ttl('fw:lock:retrain:risk')) > 0);
    assert.equal(await ttl('fw:registry:{risk}:alias:champion'), -1, 'registry keys do not expire');
  });

  it('refuses a history member it did not write (another layout) with a retriable error, not NaN features', async () => {
    const customerId = unique('cust');
    await store.applyCustomerEvent(customerEvent({ customerId }));
    const events = customerKeys(customerId).history;
    await redisCommand(server.port, ['ZADD', events, String(T0 - 1000), 'h0123456789abcdef:{"t":1}']);
    const isLayoutError = (err: unknown) =>
      err instanceof DependencyError && err.retriable && /not in the layout/.test(err.message);
    await assert.rejects(store.readCustomers([customerId], QUERY), isLayoutError);
    await assert.rejects(
      store.applyCustomerEvent(customerEvent({ customerId, eventTime: T0 + 1000 })),
      isLayoutError,
    );
  });
});
