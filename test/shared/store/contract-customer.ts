// Contract suite, part 1: applyCustomerEvent and readCustomers (idempotency, atomicity, lateness, trimming, TTL).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidEventError } from '../../../shared/errors/index.ts';
import type { CustomerEventResult } from '../../../shared/store/index.ts';
import {
  customerEvent,
  SHORT_TTL_MS,
  type StoreSubject,
  T0,
  unique,
  waitPastTtl,
} from './contract-support.ts';

function applied(r: CustomerEventResult) {
  assert.notEqual(r.kind, 'too-late');
  if (r.kind === 'too-late') throw new Error('unreachable');
  return r;
}

/** The applyCustomerEvent / readCustomers contract, run unchanged against every implementation. */
export function customerContract(subject: StoreSubject): void {
  const store = () => subject.store();
  const history = async (customerId: string) =>
    (await store().readCustomers([customerId])).get(customerId)?.history.map((h) => [h.time, h.record]) ?? [];

  describe('applyCustomerEvent', () => {
    it('applies a first event with no prior entries and unseen first-seen fields', async () => {
      const customerId = unique('c');
      const r = await store().applyCustomerEvent(
        customerEvent({ customerId, record: 'a', firstSeen: ['country:DE'] }),
      );
      assert.deepEqual(r, { kind: 'applied', prior: [], firstSeen: { 'country:DE': null } });
      assert.deepEqual(
        await store().readCustomers([customerId]),
        new Map([[customerId, { history: [{ time: T0, record: 'a' }], firstSeen: { 'country:DE': T0 } }]]),
      );
    });

    it('returns the earlier entries of the window and the first-seen values from before the event', async () => {
      const customerId = unique('c');
      const fields = ['country:DE', 'device:x'];
      await store().applyCustomerEvent(
        customerEvent({ customerId, eventTime: T0, record: 'a', firstSeen: ['country:DE'] }),
      );
      const r = await store().applyCustomerEvent(
        customerEvent({ customerId, eventTime: T0 + 10, record: 'b', firstSeen: fields }),
      );
      assert.deepEqual(r, {
        kind: 'applied',
        prior: [{ time: T0, record: 'a' }],
        firstSeen: { 'country:DE': T0, 'device:x': null },
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
        [{ time: T0 - 100, record: 'late' }],
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
      const state = (await store().readCustomers([customerId])).get(customerId);
      assert.equal(state?.history.length, n);
      assert.deepEqual(
        state?.history.map((h) => h.time),
        Array.from({ length: n }, (_, i) => T0 + i),
      );
      assert.deepEqual(state?.firstSeen, { 'country:DE': T0 });
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
      assert.deepEqual((await store().readCustomers([customerId])).get(customerId)?.firstSeen, {
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

    it('keeps entries with time >= newest - retentionMs and gives prior only from [eventTime - retentionMs, eventTime)', async () => {
      const customerId = unique('c');
      const apply = (t: number, record: string) =>
        store().applyCustomerEvent(
          customerEvent({ customerId, eventTime: T0 + t, record, retentionMs: 1000 }),
        );
      for (const [t, r] of [
        [0, 'a'],
        [500, 'b'],
        [600, 'c'],
        [1000, 'd'],
      ] as const)
        await apply(t, r);
      const atSameTime = applied(await apply(1000, 'd2'));
      assert.deepEqual(
        atSameTime.prior.map((p) => p.record),
        ['a', 'b', 'c'],
        'entries at the event time are not prior',
      );
      const r = applied(await apply(1600, 'e'));
      assert.deepEqual(
        r.prior.map((p) => p.record).sort(),
        ['c', 'd', 'd2'],
        'a and b are older than 1600 - 1000',
      );
      assert.deepEqual(
        r.prior.map((p) => p.time),
        [T0 + 600, T0 + 1000, T0 + 1000],
      );
      assert.deepEqual(
        (await history(customerId)).map(([t]) => t),
        [T0 + 600, T0 + 1000, T0 + 1000, T0 + 1600],
      );
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
      assert.deepEqual((await store().readCustomers([customerId])).get(customerId)?.firstSeen, {
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
      assert.equal((await store().readCustomers([customerId])).size, 1);
      await waitPastTtl();
      assert.equal((await store().readCustomers([customerId])).size, 0);
    });

    it('rejects a customer id that would break the hash tag and TTLs that are not positive integers', async () => {
      await assert.rejects(
        store().applyCustomerEvent(customerEvent({ customerId: 'a}b' })),
        InvalidEventError,
      );
      await assert.rejects(store().applyCustomerEvent(customerEvent({ customerId: '' })), InvalidEventError);
      await assert.rejects(
        store().applyCustomerEvent(customerEvent({ customerId: 'c', claimTtlMs: 0 })),
        InvalidEventError,
      );
      await assert.rejects(
        store().applyCustomerEvent(customerEvent({ customerId: 'c', maxEvents: 0 })),
        InvalidEventError,
      );
    });
  });

  describe('readCustomers', () => {
    it('reads many customers at once in time order and leaves unknown customers out', async () => {
      const [a, b, unknown] = [unique('a'), unique('b'), unique('nobody')];
      await store().applyCustomerEvent(
        customerEvent({ customerId: a, eventTime: T0 + 2, record: 'a2', firstSeen: ['device:1'] }),
      );
      await store().applyCustomerEvent(customerEvent({ customerId: a, eventTime: T0 + 1, record: 'a1' }));
      await store().applyCustomerEvent(customerEvent({ customerId: b, eventTime: T0, record: 'b0' }));
      const got = await store().readCustomers([a, unknown, b, a]);
      assert.deepEqual(
        got,
        new Map([
          [
            a,
            {
              history: [
                { time: T0 + 1, record: 'a1' },
                { time: T0 + 2, record: 'a2' },
              ],
              firstSeen: { 'device:1': T0 + 2 },
            },
          ],
          [b, { history: [{ time: T0, record: 'b0' }], firstSeen: {} }],
        ]),
      );
      assert.deepEqual(await store().readCustomers([]), new Map());
    });
  });
}
