// previewCustomerEvent on a real redis-server and in memory: what applyCustomerEvent would see, with nothing written.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { CustomerEventInput, OnlineStore } from '../../../shared/store/index.ts';
import { storeBackends } from '../../support/store-backends.ts';
import { customerEvent, single, storedHistory, T0, unique } from './contract-support.ts';

const MIN = 60_000;

/** The preview input of an apply input: the same event, less what only a write needs. */
function previewOf(e: CustomerEventInput) {
  return {
    customerId: e.customerId,
    eventTime: e.eventTime,
    orderKey: e.orderKey,
    windowsMs: e.windowsMs,
    retentionMs: e.retentionMs,
    allowedLatenessMs: e.allowedLatenessMs,
    firstSeen: e.firstSeen,
  };
}

function previewSuite(name: string, open: () => Promise<{ store: OnlineStore; close(): Promise<void> }>) {
  describe(`previewCustomerEvent on ${name}`, () => {
    let store: OnlineStore;
    let close: () => Promise<void>;
    before(async () => {
      ({ store, close } = await open());
    });
    after(() => close());

    /** Applies events at T0 + minutes[i] (record `e<i>`, value i + 1, country DE on the first). */
    const seed = async (customerId: string, minutes: number[]) => {
      for (const [i, m] of minutes.entries()) {
        const r = await store.applyCustomerEvent(
          customerEvent({
            customerId,
            eventTime: T0 + m * MIN,
            record: `e${i}`,
            value: i + 1,
            windowsMs: [10 * MIN, 3_600_000],
            firstSeen: i === 0 ? ['country:DE'] : [],
          }),
        );
        assert.equal(r.kind, 'applied');
      }
    };

    it('answers what applyCustomerEvent then answers, and writes nothing', async () => {
      const c = unique('pv');
      await seed(c, [0, 5, 20]);
      const e = customerEvent({
        customerId: c,
        eventTime: T0 + 25 * MIN,
        record: 'next',
        value: 9,
        windowsMs: [10 * MIN, 3_600_000],
        firstSeen: ['country:DE', 'country:FR'],
      });
      const history = await storedHistory(store, c);
      const preview = await store.previewCustomerEvent(previewOf(e));
      assert.deepEqual(await storedHistory(store, c), history, 'the history is unchanged');
      const applied = await store.applyCustomerEvent(e);
      assert.equal(preview.kind, 'new');
      assert.equal(applied.kind, 'applied');
      assert.deepEqual(preview.prior, applied.prior);
      assert.deepEqual(preview.firstSeen, applied.firstSeen);
      assert.deepEqual(preview.firstSeen, { 'country:DE': T0, 'country:FR': null });
      assert.deepEqual(preview.prior.windows[0], single(3));
    });

    it('leaves an entry with the same order key out of the summary, at its own time or another', async () => {
      const c = unique('pv');
      await seed(c, [0, 5, 20]);
      const windowsMs = [10 * MIN, 3_600_000];
      const at = async (minute: number, orderKey: string) =>
        store.previewCustomerEvent({
          customerId: c,
          eventTime: T0 + minute * MIN,
          orderKey,
          windowsMs,
          retentionMs: 3_600_000,
          allowedLatenessMs: 3_600_000,
          firstSeen: [],
        });
      const same = await at(20, 'e2');
      assert.equal(same.kind, 'duplicate');
      assert.equal(same.prior.windows[1]?.count, 2);
      const restamped = await at(22, 'e2');
      assert.equal(restamped.kind, 'duplicate');
      assert.equal(restamped.prior.windows[1]?.count, 2, 'e2 is not counted twice');
      assert.equal(restamped.prior.lastTime, T0 + 5 * MIN);
      const other = await at(22, 'e');
      assert.equal(other.kind, 'new', 'a prefix of an order key is another key');
      assert.equal(other.prior.windows[1]?.count, 3);
    });

    it('is too late where applyCustomerEvent would refuse, and a duplicate never is', async () => {
      const c = unique('pv');
      await seed(c, [0, 100]);
      const base = {
        customerId: c,
        windowsMs: [3_600_000],
        retentionMs: 3_600_000,
        allowedLatenessMs: 3_600_000,
        firstSeen: [],
      };
      assert.deepEqual(
        await store.previewCustomerEvent({ ...base, eventTime: T0 + 39 * MIN, orderKey: 'late' }),
        { kind: 'too-late', newest: T0 + 100 * MIN },
      );
      const edge = await store.previewCustomerEvent({ ...base, eventTime: T0 + 40 * MIN, orderKey: 'edge' });
      assert.equal(edge.kind, 'new', 'exactly the allowed lateness behind is still applied');
      const old = await store.previewCustomerEvent({ ...base, eventTime: T0, orderKey: 'e0' });
      assert.equal(old.kind, 'duplicate');
      const applied = await store.applyCustomerEvent(
        customerEvent({ ...base, eventTime: T0 + 39 * MIN, record: 'late' }),
      );
      assert.equal(applied.kind, 'too-late');
    });

    it('reads an unknown customer as empty, and refuses an order key with a control character', async () => {
      const p = await store.previewCustomerEvent({
        customerId: unique('nobody'),
        eventTime: T0,
        orderKey: 't',
        windowsMs: [MIN],
        retentionMs: MIN,
        allowedLatenessMs: 0,
        firstSeen: ['country:DE'],
      });
      assert.deepEqual(p, {
        kind: 'new',
        prior: { windows: [{ count: 0, sum: 0, mean: 0, min: 0, max: 0, std: 0, last: 0 }], lastTime: null },
        firstSeen: { 'country:DE': null },
      });
      await assert.rejects(
        store.previewCustomerEvent({
          customerId: 'x',
          eventTime: T0,
          orderKey: 'a\u0001',
          windowsMs: [MIN],
          retentionMs: MIN,
          allowedLatenessMs: 0,
          firstSeen: [],
        }),
        /orderKey/,
      );
    });
  });
}

for (const [name, open] of storeBackends) previewSuite(name, open);
