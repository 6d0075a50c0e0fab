// renewLock on both stores (memory and a private redis-server): only the owner re-arms a lock, and only while it holds it.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { InvalidInputError } from '../../../shared/errors/index.ts';
import { createLogger } from '../../../shared/runtime/logger.ts';
import { createMemoryStore, createRedisStore, type OnlineStore } from '../../../shared/store/index.ts';
import { type RedisServer, startRedis } from '../../support/redis.ts';
import { SHORT_TTL_MS, unique, waitPastTtl } from './contract-support.ts';

const log = createLogger({ name: 'store-test', level: 'silent' });

function renewContract(store: () => OnlineStore): void {
  it('keeps a short lock held past its first TTL when its owner renews it', async () => {
    const name = unique('lease');
    assert.equal(await store().acquireLock(name, 'a', SHORT_TTL_MS), true);
    assert.equal(await store().renewLock(name, 'a', 60_000), true);
    await waitPastTtl();
    assert.equal(await store().acquireLock(name, 'b', 60_000), false, 'the renewed lock lapsed');
    assert.equal(await store().releaseLock(name, 'a'), true);
  });

  it('re-arms to the given TTL from now, so a renewal can also shorten a lock', async () => {
    const name = unique('lease');
    assert.equal(await store().acquireLock(name, 'a', 60_000), true);
    assert.equal(await store().renewLock(name, 'a', SHORT_TTL_MS), true);
    await waitPastTtl();
    assert.equal(await store().acquireLock(name, 'b', 60_000), true, 'the re-armed lock did not lapse');
  });

  it("refuses another owner's renewal and leaves the lock's expiry alone", async () => {
    const name = unique('lease');
    assert.equal(await store().acquireLock(name, 'a', SHORT_TTL_MS), true);
    assert.equal(await store().renewLock(name, 'b', 60_000), false);
    await waitPastTtl();
    assert.equal(await store().acquireLock(name, 'c', 60_000), true, 'a foreign renewal extended the lock');
  });

  it('refuses to renew a lock that already lapsed or was released (the holder learns it lost it)', async () => {
    const lapsed = unique('lease');
    assert.equal(await store().acquireLock(lapsed, 'a', SHORT_TTL_MS), true);
    await waitPastTtl();
    assert.equal(await store().renewLock(lapsed, 'a', 60_000), false);
    assert.equal(await store().acquireLock(lapsed, 'b', 60_000), true);

    const released = unique('lease');
    assert.equal(await store().acquireLock(released, 'a', 60_000), true);
    assert.equal(await store().releaseLock(released, 'a'), true);
    assert.equal(await store().renewLock(released, 'a', 60_000), false);
    assert.equal(
      await store().acquireLock(released, 'b', SHORT_TTL_MS),
      true,
      'the renewal re-created the lock',
    );
  });

  it('refuses a TTL that is not a positive integer', async () => {
    await assert.rejects(store().renewLock(unique('lease'), 'a', 0), InvalidInputError);
    await assert.rejects(store().renewLock(unique('lease'), 'a', 1.5), InvalidInputError);
  });
}

describe('renewLock: memory', () => {
  let store: OnlineStore | undefined;
  before(() => {
    store = createMemoryStore({ log });
  });
  after(() => store?.close());
  renewContract(() => required(store));
});

describe('renewLock: redis', () => {
  let server: RedisServer | undefined;
  let store: OnlineStore | undefined;
  before(async () => {
    server = await startRedis();
    store = createRedisStore({ url: server.url, timeoutMs: 2000, log });
  });
  after(async () => {
    await store?.close();
    await server?.stop();
  });
  renewContract(() => required(store));
});

function required<T>(value: T | undefined): T {
  if (value === undefined) throw new Error('the store was not opened (see the before hook)');
  return value;
}
