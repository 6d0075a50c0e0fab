// Contract suite, part 2: claims, locks, key/value, compare-and-set, hashes, lists, sorted sets, pub/sub, lifecycle.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConflictError, DependencyError, InvalidInputError } from '../../../shared/errors/index.ts';
import {
  collect,
  customerEvent,
  SHORT_TTL_MS,
  type StoreSubject,
  unique,
  waitPastTtl,
} from './contract-support.ts';

/** The contract of every primitive besides the customer operations, run unchanged against every implementation. */
export function primitivesContract(subject: StoreSubject): void {
  const store = () => subject.store();

  describe('claims', () => {
    it('grants a claim once, again after release, and again after its TTL', async () => {
      const key = unique('claim');
      assert.equal(await store().claim(key, 60_000), true);
      assert.equal(await store().claim(key, 60_000), false);
      await store().release(key);
      assert.equal(await store().claim(key, SHORT_TTL_MS), true);
      assert.equal(await store().claim(key, SHORT_TTL_MS), false);
      await waitPastTtl();
      assert.equal(await store().claim(key, 60_000), true);
      await assert.rejects(store().claim(unique('claim'), 1.5), InvalidInputError);
    });

    it('grants exactly one of 50 parallel claims of one key', async () => {
      const key = unique('claim');
      const wins = await Promise.all(Array.from({ length: 50 }, () => store().claim(key, 60_000)));
      assert.equal(wins.filter(Boolean).length, 1);
    });
  });

  describe('locks', () => {
    it('lets only the owner release a lock, and frees it after its TTL', async () => {
      const name = unique('lock');
      assert.equal(await store().acquireLock(name, 'a', 60_000), true);
      assert.equal(await store().acquireLock(name, 'b', 60_000), false);
      assert.equal(await store().releaseLock(name, 'b'), false);
      assert.equal(
        await store().acquireLock(name, 'b', 60_000),
        false,
        'a foreign release left the lock held',
      );
      assert.equal(await store().releaseLock(name, 'a'), true);
      assert.equal(await store().releaseLock(name, 'a'), false);
      assert.equal(await store().acquireLock(name, 'b', SHORT_TTL_MS), true);
      await waitPastTtl();
      assert.equal(await store().acquireLock(name, 'c', 60_000), true, 'the cooldown ended');
      assert.equal(
        await store().releaseLock(name, 'b'),
        false,
        'an expired owner cannot release the next one',
      );
    });

    it('breaks a lock whoever holds it (a cooldown ended early), and says when there was none', async () => {
      const name = unique('cooldown');
      assert.equal(await store().acquireLock(name, 'replica-a', 60_000), true);
      assert.equal(await store().breakLock(name), true);
      assert.equal(
        await store().acquireLock(name, 'replica-b', 60_000),
        true,
        'the broken lock is free again',
      );
      assert.equal(await store().releaseLock(name, 'replica-b'), true);
      assert.equal(await store().breakLock(name), false);
    });
  });

  describe('key/value', () => {
    it('stores strings and exact bytes, deletes, and reads absent keys as null', async () => {
      const key = unique('kv');
      assert.equal(await store().get(key), null);
      assert.equal(await store().getBytes(key), null);
      await store().set(key, 'grüße');
      assert.equal(await store().get(key), 'grüße');
      assert.deepEqual(await store().getBytes(key), new Uint8Array(Buffer.from('grüße')));
      const bytes = new Uint8Array([0, 255, 128, 10, 13, 0]);
      await store().set(key, bytes);
      assert.deepEqual(await store().getBytes(key), bytes);
      await store().del(key);
      assert.equal(await store().get(key), null);
    });

    it('expires a value set with a TTL, and a plain set clears an earlier TTL', async () => {
      const [a, b] = [unique('kv'), unique('kv')];
      await store().set(a, '1', { ttlMs: SHORT_TTL_MS });
      await store().set(b, '1', { ttlMs: SHORT_TTL_MS });
      await store().set(b, '2');
      assert.equal(await store().get(a), '1');
      await waitPastTtl();
      assert.equal(await store().get(a), null);
      assert.equal(await store().get(b), '2');
    });

    it('increments from absent, keeps the TTL, counts 200 parallel increments exactly, refuses non-integers', async () => {
      const [counter, timed, text] = [unique('n'), unique('n'), unique('n')];
      assert.equal(await store().incr(counter), 1);
      const values = await Promise.all(Array.from({ length: 200 }, () => store().incr(counter)));
      assert.deepEqual(
        [...values].sort((x, y) => x - y),
        Array.from({ length: 200 }, (_, i) => i + 2),
      );
      assert.equal(await store().get(counter), '201');
      await store().set(timed, '5', { ttlMs: SHORT_TTL_MS });
      assert.equal(await store().incr(timed), 6);
      await waitPastTtl();
      assert.equal(await store().get(timed), null);
      await store().set(text, 'abc');
      await assert.rejects(store().incr(text), ConflictError);
    });
  });

  describe('compareAndSet', () => {
    it('sets only from the expected value (null = absent)', async () => {
      const key = unique('alias');
      assert.equal(await store().compareAndSet({ key, expected: 'v1', next: 'v2' }), false);
      assert.equal(await store().compareAndSet({ key, expected: null, next: 'v1' }), true);
      assert.equal(await store().compareAndSet({ key, expected: null, next: 'v9' }), false);
      assert.equal(await store().compareAndSet({ key, expected: 'v1', next: 'v2' }), true);
      assert.equal(await store().get(key), 'v2');
      await assert.rejects(
        store().compareAndSet({ key, expected: 'v2', next: 'v3', historyKey: 'h' }),
        InvalidInputError,
      );
    });

    it('lets exactly one of 20 parallel moves from the same value win, appending history and announcing once', async () => {
      const tag = unique('model');
      const [key, historyKey, channel] = [`{${tag}}:champion`, `{${tag}}:history`, unique('alias-moves')];
      await store().set(key, 'v1');
      const sub = await collect(store(), channel);
      const wins = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          store().compareAndSet({
            key,
            expected: 'v1',
            next: `v${i + 2}`,
            historyKey,
            historyEntry: `->v${i + 2}`,
            channel,
            notice: `v${i + 2}`,
          }),
        ),
      );
      assert.equal(wins.filter(Boolean).length, 1);
      const winner = `v${wins.indexOf(true) + 2}`;
      assert.equal(await store().get(key), winner);
      assert.deepEqual(await store().lrange(historyKey, 0, -1), [`->${winner}`]);
      assert.deepEqual(await sub.until(1), [winner]);
      await sub.unsubscribe();
    });
  });

  describe('hashes', () => {
    it('sets and reads fields; an absent hash reads as {}', async () => {
      const key = unique('h');
      assert.deepEqual(await store().hgetall(key), {});
      await store().hset(key, { a: '1', b: 'two' });
      await store().hset(key, { a: '3' });
      await store().hset(key, {});
      assert.deepEqual(await store().hgetall(key), { a: '3', b: 'two' });
      await assert.rejects(store().incr(key), ConflictError, 'a hash is not a counter');
    });

    it('adds 100 parallel multi-field increments exactly, with double arithmetic identical to JavaScript', async () => {
      const key = unique('drift');
      await Promise.all(Array.from({ length: 100 }, () => store().hincrby(key, { count: 1, sum: 2.5 })));
      assert.deepEqual(await store().hincrby(key, { count: 0, sum: 0 }), { count: 100, sum: 250 });
      const d = unique('d');
      await store().hincrby(d, { x: 0.1 });
      assert.deepEqual(await store().hincrby(d, { x: 0.2, y: -3 }), { x: 0.1 + 0.2, y: -3 });
      assert.deepEqual(await store().hgetall(d), { x: String(0.1 + 0.2), y: '-3' });
      const big = unique('big');
      assert.deepEqual(await store().hincrby(big, { n: 2 ** 40, m: 1e12 }), { n: 2 ** 40, m: 1e12 });
      assert.deepEqual(await store().hincrby(big, { n: 0.5, m: -1e12 }), { n: 2 ** 40 + 0.5, m: 0 });
      assert.deepEqual(await store().hgetall(big), { n: String(2 ** 40 + 0.5), m: '0' });
    });

    it('refuses to increment a non-numeric field and changes no field then', async () => {
      const key = unique('h');
      await store().hset(key, { a: '1', b: 'text' });
      await assert.rejects(store().hincrby(key, { a: 1, b: 1 }), ConflictError);
      assert.deepEqual(await store().hgetall(key), { a: '1', b: 'text' });
    });

    it('refreshes the TTL of an incremented hash when asked', async () => {
      const key = unique('h');
      await store().hincrby(key, { n: 1 }, { ttlMs: SHORT_TTL_MS });
      assert.deepEqual(await store().hgetall(key), { n: '1' });
      await waitPastTtl();
      assert.deepEqual(await store().hgetall(key), {});
    });
  });

  describe('lists and sorted sets', () => {
    it('appends to a list and reads ranges with negative indexes', async () => {
      const key = unique('l');
      assert.deepEqual(await store().lrange(key, 0, -1), []);
      for (const [i, v] of ['a', 'b', 'c', 'd'].entries()) assert.equal(await store().rpush(key, v), i + 1);
      assert.deepEqual(await store().lrange(key, 0, -1), ['a', 'b', 'c', 'd']);
      assert.deepEqual(await store().lrange(key, -2, -1), ['c', 'd']);
      assert.deepEqual(await store().lrange(key, 1, 100), ['b', 'c', 'd']);
      assert.deepEqual(await store().lrange(key, 3, 1), []);
    });

    it('orders by score then member, re-scores members, bounds inclusively, allows infinities and a limit', async () => {
      const key = unique('z');
      for (const [score, member] of [
        [3, 'c'],
        [1, 'b'],
        [1, 'a'],
        [2, 'x'],
        [-1.5, 'neg'],
      ] as const) {
        await store().zadd(key, score, member);
      }
      await store().zadd(key, 10, 'x');
      const all = await store().zrangeByScore(key, Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY);
      assert.deepEqual(
        all.map((e) => [e.member, e.score]),
        [
          ['neg', -1.5],
          ['a', 1],
          ['b', 1],
          ['c', 3],
          ['x', 10],
        ],
      );
      assert.deepEqual(
        (await store().zrangeByScore(key, 1, 3)).map((e) => e.member),
        ['a', 'b', 'c'],
      );
      assert.deepEqual(
        (await store().zrangeByScore(key, 1, 10, { limit: 2 })).map((e) => e.member),
        ['a', 'b'],
      );
      assert.deepEqual(await store().zrangeByScore(unique('z'), 0, 1), []);
    });
  });

  describe('pub/sub', () => {
    it('delivers notices in order to every subscriber until it unsubscribes', async () => {
      const channel = unique('ch');
      const a = await collect(store(), channel);
      const b = await collect(store(), channel);
      await store().publish(channel, 'm1');
      await store().publish(channel, 'm2');
      assert.deepEqual(await a.until(2), ['m1', 'm2']);
      assert.deepEqual(await b.until(2), ['m1', 'm2']);
      await a.unsubscribe();
      await store().publish(channel, 'm3');
      assert.deepEqual(await b.until(3), ['m1', 'm2', 'm3']);
      assert.deepEqual(a.messages, ['m1', 'm2'], 'delivered to b, so it would have reached a by now');
      await b.unsubscribe();
    });
  });

  describe('lifecycle', () => {
    it('answers ping while open; after close, ping is false and calls fail with a retriable DependencyError', async () => {
      const s = await subject.open();
      assert.equal(await s.ping(), true);
      await s.close();
      assert.equal(await s.ping(), false);
      const err = await s.get('x').then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(err instanceof DependencyError, `got ${String(err)}`);
      assert.equal(err.retriable, true);
      await assert.rejects(
        s.subscribe('ch', () => {}),
        DependencyError,
      );
      await assert.rejects(s.applyCustomerEvent(customerEvent({ customerId: 'c' })), DependencyError);
    });
  });
}
