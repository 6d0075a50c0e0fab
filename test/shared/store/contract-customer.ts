// Contract suite, part 1: applyCustomerEvent and readCustomers (idempotency, atomicity, lateness, trimming, TTL).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidInputError } from '../../../shared/errors/index.ts';
import type { CustomerEventResult } from '../../../shared/store/index.ts';
import {
  customerEvent,
  emptySummary,
  SHORT_TTL_MS,
  type StoreSubject,
  single,
  storedHistory,
  T0,
  unique,
  waitPastTtl,
} from './contract-support.ts';

/** What readCustomers is asked to summarise in these tests (the default customerEvent window). */
const QUERY = { retentionMs: 3_600_000, windowsMs: [3_600_000] };

function applied(r: CustomerEventResult) {
  assert.notEqual(r.kind, 'too-late');
  if (r.kind === 'too-late') throw new Error('unreachable');
  return r;
}

/** The applyCustomerEvent / readCustomers contract, run unchanged against every implementation. */
export function customerContract(subject: StoreSubject): void {
  const store = () => subject.store();
  const history = (customerId: string) => storedHistory(store(), customerId);
  const read = (customerIds: string[]) => store().readCustomers(customerIds, QUERY);

  describe('applyCustomerEvent', () => {
    it('applies a first event with no prior entries and unseen first-seen fields', async () => {
      const customerId = unique('c');
      const r = await store().applyCustomerEvent(
        customerEvent({ customerId, record: 'a', firstSeen: ['country:DE'] }),
      );
      assert.deepEqual(r, { kind: 'applied', prior: emptySummary(), firstSeen: { 'country:DE': null } });
      assert.deepEqual(
        await read([customerId]),
        new Map([
          [
            customerId,
            { latest: { time: T0, record: 'a' }, prior: emptySummary(), firstSeen: { 'country:DE': T0 } },
          ],
        ]),
      );
    });

    it('summarises the earlier entries of the window and returns the first-seen values from before the event', async () => {
      const customerId = unique('c');
      const fields = ['country:DE', 'device:x'];
      await store().applyCustomerEvent(
        customerEvent({ customerId, eventTime: T0, record: 'a', value: 2.5, firstSeen: ['country:DE'] }),
      );
      const r = await store().applyCustomerEvent(
        customerEvent({ customerId, eventTime: T0 + 10, record: 'b', firstSeen: fields }),
      );
      assert.deepEqual(r, {
        kind: 'applied',
        prior: { windows: [single(2.5)], lastTime: T0 },
        firstSeen: { 'country:DE': T0, 'device:x': null },
      });
    });

    it('computes count, sum, mean, min, max, population std and last per window, in time order', async () => {
      const customerId = unique('c');
      const windowsMs = [3_600_000, 40];
      const apply = (t: number, value: number, record: string) =>
        store().applyCustomerEvent(
          customerEvent({ customerId, eventTime: T0 + t, value, record, windowsMs }),
        );
      // times 0, 50, 80, 80 (equal times go by order key: 'c' before 'd'), values 2, 4, 6, 0; the event is at 110.
      await apply(80, 0, 'd');
      await apply(0, 2, 'a');
      await apply(80, 6, 'c');
      await apply(50, 4, 'b');
      const r = applied(await apply(110, 100, 'e'));
      assert.deepEqual(r.prior, {
        windows: [
          { count: 4, sum: 12, mean: 3, min: 0, max: 6, std: Math.sqrt(5), last: 0 },
          { count: 2, sum: 6, mean: 3, min: 0, max: 6, std: 3, last: 0 },
        ],
        lastTime: T0 + 80,
      });
    });

    it('changes state once when the same event is applied twice, and answers the redelivery like the first call', async () => {
      const customerId = unique('c');
      await store().applyCustomerEvent(
        customerEvent({ customerId, eventTime: T0 - 5, record: 'earlier', firstSeen: ['country:FR'] }),
      );
      const event = customerEvent({
        customerId,
        eventKey: 'src/e-1',
        record: 'x',
        firstSeen: ['country:FR', 'country:DE'],
      });
      const first = applied(await store().applyCustomerEvent(event));
      const second = applied(await store().applyCustomerEvent(event));
      assert.equal(first.kind, 'applied');
      assert.equal(second.kind, 'duplicate');
      assert.deepEqual(second.prior, first.prior);
      assert.deepEqual(second.firstSeen, first.firstSeen);
      assert.deepEqual(first.firstSeen, { 'country:FR': T0 - 5, 'country:DE': null });
      assert.deepEqual(await history(customerId), [
        [T0 - 5, 'earlier'],
        [T0, 'x'],
      ]);
    });

    it('answers a duplicate with the first-seen values of its first delivery even after later events moved them', async () => {
      const customerId = unique('c');
      const event = customerEvent({ customerId, eventKey: 'e-1', eventTime: T0, firstSeen: ['country:DE'] });
      await store().applyCustomerEvent(event);
      await store().applyCustomerEvent(
        customerEvent({ customerId, eventTime: T0 - 100, record: 'late', firstSeen: ['country:DE'] }),
      );
      const again = applied(await store().applyCustomerEvent(event));
      assert.equal(again.kind, 'duplicate');
      assert.deepEqual(again.firstSeen, { 'country:DE': null });
      assert.deepEqual(
        again.prior,
        { windows: [single(1)], lastTime: T0 - 100 },
        'prior is the history as it is now',
      );
    });

    it('loses nothing under 200 parallel updates of one customer: exactly 200 entries, the minimum first-seen', async () => {
      const customerId = unique('c');
      const n = 200;
      const results = await Promise.all(
        Array.from({ length: n }, (_, i) =>
          store().applyCustomerEvent(
            customerEvent({
              customerId,
              eventKey: `e-${i}`,
              eventTime: T0 + ((i * 7919) % n),
              record: 'same',
              firstSeen: ['country:DE'],
            }),
          ),
        ),
      );
      assert.equal(results.filter((r) => r.kind === 'applied').length, n);
      assert.deepEqual(
        (await history(customerId)).map(([t]) => t),
        Array.from({ length: n }, (_, i) => T0 + i),
      );
      const state = (await read([customerId])).get(customerId);
      assert.deepEqual(state?.firstSeen, { 'country:DE': T0 });
      assert.equal(state?.prior.windows[0]?.count, n - 1, 'the latest sees the other 199');
    });

    it('applies an event delivered 50 times in parallel exactly once', async () => {
      const customerId = unique('c');
      const event = customerEvent({ customerId, eventKey: 'e-once', record: 'once' });
      const results = await Promise.all(Array.from({ length: 50 }, () => store().applyCustomerEvent(event)));
      assert.deepEqual(results.map((r) => r.kind).sort(), [
        'applied',
        ...Array<string>(49).fill('duplicate'),
      ]);
      assert.deepEqual(await history(customerId), [[T0, 'once']]);
    });

    it('refuses an event older than newest - allowedLatenessMs, writes nothing and keeps no claim', async () => {
      const customerId = unique('c');
      const base = { customerId, allowedLatenessMs: 1000, firstSeen: ['country:DE'] };
      await store().applyCustomerEvent(customerEvent({ ...base, eventTime: T0 + 10_000, record: 'new' }));
      const late = customerEvent({ ...base, eventKey: 'late', eventTime: T0 + 8_999, record: 'late' });
      assert.deepEqual(await store().applyCustomerEvent(late), { kind: 'too-late', newest: T0 + 10_000 });
      assert.deepEqual(await history(customerId), [[T0 + 10_000, 'new']]);
      assert.deepEqual((await read([customerId])).get(customerId)?.firstSeen, {
        'country:DE': T0 + 10_000,
      });
      const inTime = applied(await store().applyCustomerEvent({ ...late, eventTime: T0 + 9_000 }));
      assert.equal(inTime.kind, 'applied', 'the refused event left no claim behind');
      assert.deepEqual(inTime.firstSeen, { 'country:DE': T0 + 10_000 });
      assert.deepEqual(await history(customerId), [
        [T0 + 9_000, 'late'],
        [T0 + 10_000, 'new'],
      ]);
    });

    it("applies an event behind the allowed lateness with late: 'apply', trimming by the same horizon", async () => {
      const customerId = unique('c');
      const base = {
        customerId,
        allowedLatenessMs: 1000,
        retentionMs: 2000,
        windowsMs: [2000],
        firstSeen: ['country:DE'],
        late: 'apply' as const,
      };
      await store().applyCustomerEvent(customerEvent({ ...base, eventTime: T0 + 10_000, record: 'new' }));
      const late = customerEvent({ ...base, eventKey: 'late', eventTime: T0 + 8_000, record: 'late' });
      const r = applied(await store().applyCustomerEvent(late));
      assert.equal(r.kind, 'applied');
      assert.deepEqual(r.firstSeen, { 'country:DE': T0 + 10_000 });
      // behind newest - retention - lateness (T0 + 7 000): its first sighting is kept, its entry trimmed at once
      const old = customerEvent({ ...base, eventKey: 'old', eventTime: T0 + 6_000, record: 'old' });
      assert.equal((await store().applyCustomerEvent(old)).kind, 'applied');
      assert.deepEqual(await history(customerId), [
        [T0 + 8_000, 'late'],
        [T0 + 10_000, 'new'],
      ]);
      const state = (await read([customerId])).get(customerId);
      assert.equal(state?.latest.record, 'new');
      assert.deepEqual(state?.firstSeen, { 'country:DE': T0 + 6_000 });
      assert.equal((await store().applyCustomerEvent(old)).kind, 'duplicate');
      assert.equal((await store().applyCustomerEvent(late)).kind, 'duplicate');
    });

    it('keeps each feature-set version in its own keys, claims included', async () => {
      const customerId = unique('c');
      const event = customerEvent({ customerId, record: 'a', featureSetVersion: 'v1', firstSeen: ['k:x'] });
      assert.equal((await store().applyCustomerEvent(event)).kind, 'applied');
      assert.equal((await store().applyCustomerEvent(event)).kind, 'duplicate');
      const other = { ...event, featureSetVersion: 'v2', record: 'b', orderKey: 'b' };
      assert.equal((await store().applyCustomerEvent(other)).kind, 'applied', 'v1 claims do not bind v2');
      assert.deepEqual(await storedHistory(store(), customerId, 'v1'), [[T0, 'a']]);
      assert.deepEqual(await storedHistory(store(), customerId, 'v2'), [[T0, 'b']]);
      assert.deepEqual(await history(customerId), [], 'nothing in the unversioned keys');
      const query = (version: string) => ({ ...QUERY, version });
      assert.equal(
        (await store().readCustomers([customerId], query('v1'))).get(customerId)?.latest.record,
        'a',
      );
      assert.equal(
        (await store().readCustomers([customerId], query('v2'))).get(customerId)?.latest.record,
        'b',
      );
      assert.equal((await read([customerId])).has(customerId), false);
      await assert.rejects(
        store().applyCustomerEvent({ ...event, featureSetVersion: 'a:b' }),
        InvalidInputError,
      );
      await assert.rejects(store().readCustomers([customerId], query('{x}')), InvalidInputError);
    });

    it('keeps entries with time >= newest - retentionMs - allowedLatenessMs and summarises only [eventTime - retentionMs, eventTime)', async () => {
      const customerId = unique('c');
      const apply = (t: number, record: string, value: number) =>
        store().applyCustomerEvent(
          customerEvent({
            customerId,
            eventTime: T0 + t,
            record,
            value,
            retentionMs: 1000,
            allowedLatenessMs: 100,
            windowsMs: [1000, 500],
          }),
        );
      for (const [t, r, v] of [
        [0, 'a', 1],
        [500, 'b', 2],
        [600, 'c', 4],
        [1000, 'd', 8],
      ] as const)
        await apply(t, r, v);
      const atSameTime = applied(await apply(1000, 'd2', 16));
      assert.equal(atSameTime.prior.lastTime, T0 + 600, 'entries at the event time are not prior');
      assert.equal(
        atSameTime.prior.windows[0]?.sum,
        6,
        'a (at exactly t - 1000) is outside the window: b + c',
      );
      assert.equal(atSameTime.prior.windows[1]?.sum, 4, 'only c is after t - 500');
      const r = applied(await apply(1600, 'e', 32));
      assert.deepEqual(
        r.prior,
        {
          windows: [
            { count: 2, sum: 24, mean: 12, min: 8, max: 16, std: 4, last: 16 },
            emptySummary().windows[0],
          ],
          lastTime: T0 + 1000,
        },
        'c (at 1600 - 1000) is in the range but not the window; a and b are not in it',
      );
      assert.deepEqual(
        (await history(customerId)).map(([t]) => t),
        [T0 + 500, T0 + 600, T0 + 1000, T0 + 1000, T0 + 1600],
        'a (before 1600 - 1000 - 100) is trimmed; b is kept for an event up to 100 late',
      );
    });

    it('gives a late event and a redelivery after a newer event their whole window (nothing they need is trimmed)', async () => {
      const customerId = unique('c');
      const event = (t: number, record: string, value: number, eventKey = unique('event')) =>
        customerEvent({
          customerId,
          eventKey,
          eventTime: T0 + t,
          record,
          value,
          retentionMs: 1000,
          allowedLatenessMs: 400,
        });
      await store().applyCustomerEvent(event(200, 'a', 1));
      const b = event(900, 'b', 2);
      const first = applied(await store().applyCustomerEvent(b));
      await store().applyCustomerEvent(event(1500, 'c', 4));
      // b redelivered after c: its window [-100, 900) still holds a, as on its first delivery
      assert.deepEqual(applied(await store().applyCustomerEvent(b)), { ...first, kind: 'duplicate' });
      // d, 350 late behind c (within 400): its window [150, 1150) is a + b, as the offline builder counts it
      const late = applied(await store().applyCustomerEvent(event(1150, 'd', 8)));
      assert.equal(late.prior.windows[0]?.count, 2);
      assert.equal(late.prior.windows[0]?.sum, 3);
    });

    it('keeps at most maxEvents newest entries', async () => {
      const customerId = unique('c');
      for (let i = 0; i < 5; i++) {
        await store().applyCustomerEvent(
          customerEvent({ customerId, eventTime: T0 + i, record: `r${i}`, maxEvents: 3 }),
        );
      }
      assert.deepEqual(await history(customerId), [
        [T0 + 2, 'r2'],
        [T0 + 3, 'r3'],
        [T0 + 4, 'r4'],
      ]);
    });

    it('records the minimum first-seen time whatever order events arrive in', async () => {
      const customerId = unique('c');
      const befores: (number | null | undefined)[] = [];
      for (const t of [300, 100, 200]) {
        const r = applied(
          await store().applyCustomerEvent(
            customerEvent({ customerId, eventTime: T0 + t, firstSeen: ['country:DE', 'country:DE'] }),
          ),
        );
        befores.push(r.firstSeen['country:DE']);
        assert.deepEqual(Object.keys(r.firstSeen), ['country:DE']);
      }
      assert.deepEqual(befores, [null, T0 + 300, T0 + 100]);
      assert.deepEqual((await read([customerId])).get(customerId)?.firstSeen, {
        'country:DE': T0 + 100,
      });
    });

    it('forgets a claim after claimTtlMs: the redelivery applies again without adding a second entry', async () => {
      const customerId = unique('c');
      const event = customerEvent({ customerId, eventKey: 'e', record: 'x', claimTtlMs: SHORT_TTL_MS });
      assert.equal((await store().applyCustomerEvent(event)).kind, 'applied');
      await waitPastTtl();
      assert.equal((await store().applyCustomerEvent(event)).kind, 'applied');
      assert.deepEqual(await history(customerId), [[T0, 'x']]);
    });

    it("expires an idle customer's history and first-seen after idleTtlMs", async () => {
      const customerId = unique('c');
      await store().applyCustomerEvent(
        customerEvent({ customerId, firstSeen: ['country:DE'], idleTtlMs: SHORT_TTL_MS }),
      );
      assert.equal((await read([customerId])).size, 1);
      await waitPastTtl();
      assert.equal((await read([customerId])).size, 0);
    });

    it('rejects a customer id that would break the hash tag and TTLs that are not positive integers', async () => {
      await assert.rejects(
        store().applyCustomerEvent(customerEvent({ customerId: 'a}b' })),
        InvalidInputError,
      );
      await assert.rejects(store().applyCustomerEvent(customerEvent({ customerId: '' })), InvalidInputError);
      await assert.rejects(
        store().applyCustomerEvent(customerEvent({ customerId: 'c', claimTtlMs: 0 })),
        InvalidInputError,
      );
      await assert.rejects(
        store().applyCustomerEvent(customerEvent({ customerId: 'c', maxEvents: 0 })),
        InvalidInputError,
      );
      for (const bad of [
        { orderKey: 'a\0b' },
        { orderKey: 'a\u0001' },
        { value: Number.NaN },
        { windowsMs: [3_600_001] },
        { windowsMs: [0] },
        { windowsMs: Array<number>(17).fill(1000) },
      ]) {
        await assert.rejects(
          store().applyCustomerEvent(customerEvent({ customerId: 'c', ...bad })),
          InvalidInputError,
          JSON.stringify(bad),
        );
      }
      await assert.rejects(
        store().readCustomers(['c'], { retentionMs: 1000, windowsMs: [2000] }),
        InvalidInputError,
      );
    });
  });

  describe('readCustomers', () => {
    it('reads many customers at once: the latest event, the summary before it, first-seen; unknown ones are absent', async () => {
      const [a, b, unknown] = [unique('a'), unique('b'), unique('nobody')];
      await store().applyCustomerEvent(
        customerEvent({ customerId: a, eventTime: T0 + 2, record: 'a2', value: 2, firstSeen: ['device:1'] }),
      );
      await store().applyCustomerEvent(
        customerEvent({ customerId: a, eventTime: T0 + 1, record: 'a1', value: 7 }),
      );
      await store().applyCustomerEvent(customerEvent({ customerId: b, eventTime: T0, record: 'b0' }));
      const got = await read([a, unknown, b, a]);
      assert.deepEqual(
        got,
        new Map([
          [
            a,
            {
              latest: { time: T0 + 2, record: 'a2' },
              prior: { windows: [single(7)], lastTime: T0 + 1 },
              firstSeen: { 'device:1': T0 + 2 },
            },
          ],
          [b, { latest: { time: T0, record: 'b0' }, prior: emptySummary(), firstSeen: {} }],
        ]),
      );
      assert.deepEqual(await read([]), new Map());
    });

    it('takes the last of equal times by order key as the latest, and summarises only earlier times', async () => {
      const customerId = unique('c');
      for (const [t, key, v] of [
        [0, 'x', 3],
        [5, 'b', 1],
        [5, 'a', 2],
      ] as const) {
        await store().applyCustomerEvent(
          customerEvent({ customerId, eventTime: T0 + t, orderKey: key, record: key, value: v }),
        );
      }
      const state = (await read([customerId])).get(customerId);
      assert.deepEqual(state?.latest, { time: T0 + 5, record: 'b' });
      assert.deepEqual(state?.prior, { windows: [single(3)], lastTime: T0 });
    });
  });
}
