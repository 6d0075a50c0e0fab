// Contract suite, part 2: every role besides customer histories (claims, locks, records, registry, drift windows), and lifecycle.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DependencyError, InvalidInputError } from '../../../shared/errors/index.ts';
import type { OnlineStore } from '../../../shared/store/index.ts';
import {
  collect,
  customerEvent,
  SHORT_TTL_MS,
  type StoreSubject,
  unique,
  waitPastTtl,
} from './contract-support.ts';

/** Moves a model's champion, its history entry `<prefix><next>`, its notice `<model>:<next>` (watchers filter by model). */
function moveChampion(
  store: OnlineStore,
  model: string,
  expected: string | null,
  next: string,
  prefix: string,
) {
  return store.moveAlias({
    model,
    alias: 'champion',
    expected,
    next,
    historyEntry: `${prefix}${next}`,
    notice: `${model}:${next}`,
  });
}

/** The contract of every role besides customer histories, run unchanged against every implementation. */
export function rolesContract(subject: StoreSubject): void {
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

  describe('records', () => {
    it('writes and reads a document, clears an earlier TTL on a plain write, and expires one with a TTL', async () => {
      const [a, b] = [unique('record'), unique('record')];
      assert.equal(await store().readRecord(a), null);
      await store().writeRecord(a, 'grüße', { ttlMs: SHORT_TTL_MS });
      await store().writeRecord(b, '1', { ttlMs: SHORT_TTL_MS });
      await store().writeRecord(b, '2');
      assert.equal(await store().readRecord(a), 'grüße');
      await waitPastTtl();
      assert.equal(await store().readRecord(a), null);
      assert.equal(await store().readRecord(b), '2');
      await assert.rejects(store().writeRecord(a, 'x', { ttlMs: 0 }), InvalidInputError);
    });
  });

  describe('registry records', () => {
    it('numbers 200 parallel versions exactly, and keeps each version with its exact artifact bytes and holdout', async () => {
      const model = unique('model');
      const numbers = await Promise.all(Array.from({ length: 200 }, () => store().nextModelVersion(model)));
      assert.deepEqual(
        [...numbers].sort((x, y) => x - y),
        Array.from({ length: 200 }, (_, i) => i + 1),
      );
      const bytes = new Uint8Array([0, 255, 128, 10, 13, 0]);
      await store().writeModelVersion({
        model,
        version: 12,
        record: '{"v":12}',
        artifact: bytes,
        holdout: '[1]',
      });
      await store().writeModelVersion({ model, version: 3, record: '{"v":3}' });
      bytes[0] = 7; // the store kept its own copy
      assert.deepEqual(await store().listModelVersions(model), [3, 12]);
      assert.equal(await store().readModelVersion(model, 12), '{"v":12}');
      assert.deepEqual(await store().readModelArtifact(model, 12), new Uint8Array([0, 255, 128, 10, 13, 0]));
      assert.equal(await store().readModelHoldout(model, 12), '[1]');
      assert.equal(await store().readModelArtifact(model, 3), null);
      assert.equal(await store().readModelHoldout(model, 3), null);
      assert.equal(await store().readModelVersion(model, 4), null);
      assert.deepEqual(await store().listModelVersions(unique('model')), []);
      await assert.rejects(store().writeModelVersion({ model, version: 0, record: '{}' }), InvalidInputError);
    });

    it('moves an alias only from the expected value; one of 20 parallel moves wins, with one history entry and one notice', async () => {
      const model = unique('model');
      const notices = await collect(store());
      assert.equal(await store().readAlias(model, 'champion'), null);
      const move = (expected: string | null, next: string) =>
        moveChampion(store(), model, expected, next, '->');
      assert.equal(await move('1', '2'), false);
      assert.equal(await move(null, '1'), true);
      assert.equal(await move(null, '9'), false);
      const wins = await Promise.all(Array.from({ length: 20 }, (_, i) => move('1', String(i + 2))));
      assert.equal(wins.filter(Boolean).length, 1);
      const winner = String(wins.indexOf(true) + 2);
      assert.equal(await store().readAlias(model, 'champion'), winner);
      assert.equal(await store().readAlias(model, 'challenger'), null);
      assert.deepEqual(await store().readAliasHistory(model), ['->1', `->${winner}`]);
      const mine = async (count: number) =>
        (await notices.until((all) => all.filter((m) => m.startsWith(`${model}:`)).length >= count)).filter(
          (m) => m.startsWith(`${model}:`),
        );
      assert.deepEqual(await mine(2), [`${model}:1`, `${model}:${winner}`]);
      await notices.unsubscribe();
    });

    it('delivers notices in order to every watcher until it stops watching', async () => {
      const model = unique('model');
      const a = await collect(store());
      const b = await collect(store());
      const own = (all: readonly string[]) => all.filter((m) => m.startsWith(`${model}:`));
      const move = (expected: string | null, next: string) =>
        moveChampion(store(), model, expected, next, '');
      await move(null, '1');
      await move('1', '2');
      assert.deepEqual(own(await a.until((all) => own(all).length >= 2)), [`${model}:1`, `${model}:2`]);
      assert.deepEqual(own(await b.until((all) => own(all).length >= 2)), [`${model}:1`, `${model}:2`]);
      await a.unsubscribe();
      await move('2', '3');
      assert.deepEqual(own(await b.until((all) => own(all).length >= 3)), [
        `${model}:1`,
        `${model}:2`,
        `${model}:3`,
      ]);
      assert.deepEqual(
        own(a.messages),
        [`${model}:1`, `${model}:2`],
        'delivered to b, so it would have reached a by now',
      );
      await b.unsubscribe();
    });
  });

  describe('drift windows', () => {
    it('adds 100 parallel multi-field increments exactly, with double arithmetic identical to JavaScript', async () => {
      const m = { name: unique('model'), version: 1 };
      await Promise.all(
        Array.from({ length: 100 }, () => store().addDriftCounts(m, 0, { count: 1, sum: 2.5 }, 60_000)),
      );
      assert.deepEqual(await store().addDriftCounts(m, 0, { count: 0, sum: 0 }, 60_000), {
        count: 100,
        sum: 250,
      });
      await store().addDriftCounts(m, 1, { x: 0.1 }, 60_000);
      assert.deepEqual(await store().addDriftCounts(m, 1, { x: 0.2, y: -3 }, 60_000), {
        x: 0.1 + 0.2,
        y: -3,
      });
      assert.deepEqual(await store().addDriftCounts(m, 2, { n: 2 ** 40, k: 1e12 }, 60_000), {
        n: 2 ** 40,
        k: 1e12,
      });
      assert.deepEqual(await store().addDriftCounts(m, 2, { n: 0.5, k: -1e12 }, 60_000), {
        n: 2 ** 40 + 0.5,
        k: 0,
      });
      assert.deepEqual(await store().takeDriftWindow(m, 1), { x: 0.1 + 0.2, y: -3 });
      assert.deepEqual(await store().takeDriftWindow(m, 1), {}, 'taking a window deletes it');
      assert.deepEqual(
        await store().takeDriftWindow({ ...m, version: 2 }, 0),
        {},
        'another champion, another window',
      );
      await assert.rejects(store().addDriftCounts(m, 0, { x: Number.NaN }, 60_000), InvalidInputError);
    });

    it('expires a window its ttl after the last add', async () => {
      const m = { name: unique('model'), version: 1 };
      await store().addDriftCounts(m, 0, { n: 1 }, SHORT_TTL_MS);
      await waitPastTtl();
      assert.deepEqual(await store().takeDriftWindow(m, 0), {});
    });

    it('moves the pointer and the history by compare-and-set, each on its own', async () => {
      const m = { name: unique('model'), version: 3 };
      assert.equal(await store().readDriftRecord(m, 'pointer'), null);
      assert.equal(await store().swapDriftRecord(m, 'pointer', 'a', 'b'), false);
      assert.equal(await store().swapDriftRecord(m, 'pointer', null, 'a'), true);
      assert.equal(await store().swapDriftRecord(m, 'pointer', null, 'z'), false);
      const wins = await Promise.all(
        Array.from({ length: 20 }, (_, i) => store().swapDriftRecord(m, 'pointer', 'a', `p${i}`)),
      );
      assert.equal(wins.filter(Boolean).length, 1);
      assert.equal(await store().readDriftRecord(m, 'pointer'), `p${wins.indexOf(true)}`);
      assert.equal(await store().readDriftRecord(m, 'history'), null);
      assert.equal(await store().swapDriftRecord(m, 'history', null, 'h'), true);
      assert.equal(await store().readDriftRecord({ ...m, version: 4 }, 'history'), null);
    });
  });

  describe('lifecycle', () => {
    it('answers ping while open; after close, ping is false and calls fail with a retriable DependencyError', async () => {
      const s = await subject.open();
      assert.equal(await s.ping(), true);
      await s.close();
      assert.equal(await s.ping(), false);
      const err = await s.readRecord('x').then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(err instanceof DependencyError, `got ${String(err)}`);
      assert.equal(err.retriable, true);
      await assert.rejects(
        s.watchAliases(() => {}),
        DependencyError,
      );
      await assert.rejects(s.applyCustomerEvent(customerEvent({ customerId: 'c' })), DependencyError);
    });
  });
}
