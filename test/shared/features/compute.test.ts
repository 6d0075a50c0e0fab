// Window arithmetic on hand-computed cases: window edges, expiry, late events, novelty, ratios, and the feature-set version.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  buildTrainingRows,
  byTimeThenId,
  computeFeatures,
  customerFeatures,
  defineFeatureSet,
  type HistoryRecord,
  toNamedValues,
} from '../../../shared/features/index.ts';

const MIN = 60_000;
const T0 = Date.UTC(2026, 10, 1, 12, 0, 0);
let seq = 0;
function rec(
  minutesAfterT0: number,
  amount: number,
  extra: { [K in keyof HistoryRecord]?: HistoryRecord[K] | undefined } = {},
): HistoryRecord {
  seq++;
  const r: HistoryRecord = {
    id: `t${String(seq).padStart(4, '0')}`,
    t: T0 + minutesAfterT0 * MIN,
    amount,
    country: extra.country ?? 'DE',
    merchantCategory: 'grocery',
    channel: 'pos',
    currency: 'EUR',
  };
  if (extra.deviceId !== undefined) r.deviceId = extra.deviceId;
  return r;
}
const named = (event: HistoryRecord, prior: HistoryRecord[], firstSeen: Record<string, number | null> = {}) =>
  toNamedValues(customerFeatures, computeFeatures(customerFeatures, event, prior, firstSeen));

describe('computeFeatures', () => {
  it('gives neutral values to a customer with no history', () => {
    const v = named(rec(0, 50), []);
    assert.equal(v.amount, 50);
    assert.equal(v.txn_count_30d, 0);
    assert.equal(v.amount_mean_30d, 0);
    assert.equal(v.seconds_since_last, 30 * 24 * 3600);
    assert.equal(v.amount_to_mean_30d, 1);
    assert.equal(v.new_country, 1);
  });

  it('counts an event exactly 10 minutes old out of the 10-minute window and one 9:59 old in', () => {
    const now = rec(100, 10);
    const prior = [rec(90, 5), { ...rec(0, 7), t: T0 + 100 * MIN - 9 * MIN - 59_000 }].sort(
      (a, b) => a.t - b.t,
    );
    const v = named(now, prior);
    assert.equal(v.txn_count_10m, 1);
    assert.equal(v.txn_count_1h, 2);
  });

  it('computes sum, mean, population std, min, max and last by hand', () => {
    // amounts 10, 20, 60 within 24h: sum 90, mean 30, variance ((20²+10²+30²)/3) = 1400/3, std = 21.6024689947
    const prior = [rec(0, 10), rec(60, 20), rec(120, 60)];
    const v = named(rec(180, 90), prior);
    assert.equal(v.amount_sum_24h, 90);
    assert.equal(v.amount_mean_30d, 30);
    assert.ok(Math.abs((v.amount_std_30d ?? 0) - Math.sqrt(1400 / 3)) < 1e-12);
    assert.equal(v.amount_min_7d, 10);
    assert.equal(v.amount_max_7d, 60);
    assert.equal(v.last_amount, 60);
    assert.equal(v.seconds_since_last, 3600);
    assert.equal(v.amount_to_mean_30d, 3);
  });

  it('expires events from the 24h window but keeps them in the 30d window', () => {
    const prior = [rec(0, 100), rec(24 * 60 + 30, 10)];
    const v = named(rec(24 * 60 + 31, 1), prior);
    assert.equal(v.txn_count_24h, 1);
    assert.equal(v.amount_sum_24h, 10);
    assert.equal(v.txn_count_30d, 2);
  });

  it('clips the amount ratio at its maximum', () => {
    const v = named(rec(10, 1_000_000), [rec(0, 1)]);
    assert.equal(v.amount_to_mean_30d, 100);
  });

  it('flags a country or device first seen at or after this event as new, and an earlier one as known', () => {
    const e = rec(10, 5, { country: 'FR', deviceId: 'd1' });
    assert.equal(named(e, [], { 'country:FR': null, 'deviceId:d1': null }).new_country, 1);
    assert.equal(named(e, [], { 'country:FR': e.t - 1 }).new_country, 0);
    // a redelivery sees its own first-seen time: still new
    assert.equal(named(e, [], { 'country:FR': e.t, 'deviceId:d1': e.t }).new_device, 1);
    // a late event that predates the recorded first sighting is the real first sighting
    assert.equal(named(e, [], { 'country:FR': e.t + 5 * MIN }).new_country, 1);
    assert.equal(named(rec(11, 5, { deviceId: undefined }), []).new_device, 0);
  });

  it('gives a late event the features of its own point in time', () => {
    const all = [rec(0, 10), rec(30, 20), rec(90, 40)];
    const late = rec(45, 1);
    // online, a late event's prior is the history strictly before its event time
    const v = named(
      late,
      all.filter((r) => r.t < late.t),
    );
    assert.equal(v.txn_count_1h, 2);
    assert.equal(v.last_amount, 20);
  });
});

describe('byTimeThenId', () => {
  it('orders equal times by the UTF-8 bytes of the id, as Redis orders history members', () => {
    const at = (id: string): HistoryRecord => ({ ...rec(0, 1), id });
    const ids = ['\uffff', '😀', 'b', 'ab', 'a', 'é'];
    const sorted = ids
      .map(at)
      .sort(byTimeThenId)
      .map((r) => r.id);
    assert.deepEqual(
      sorted,
      ['a', 'ab', 'b', 'é', '\uffff', '😀'],
      "'😀' < '\\uffff' in UTF-16, not in UTF-8",
    );
    assert.equal(byTimeThenId({ ...at('z'), t: 1 }, { ...at('a'), t: 2 }) < 0, true, 'time first');
  });
});

describe('buildTrainingRows', () => {
  it('sees only earlier events of the same customer, whatever the input order', () => {
    const a = [rec(0, 10), rec(5, 20), rec(7, 30)].map((r) => tx('alice', r));
    const b = [rec(6, 99, { country: 'US' })].map((r) => tx('bob', r));
    const rows = buildTrainingRows(
      customerFeatures,
      [a[2], b[0], a[0], a[1]].filter((x) => x !== undefined),
    );
    const col = (name: string) => customerFeatures.columns.indexOf(name);
    assert.deepEqual(
      rows.map((r) => [r.customerId, r.values[col('txn_count_10m')], r.values[col('new_country')]]),
      [
        ['alice', 0, 1],
        ['alice', 1, 0],
        ['bob', 0, 1],
        ['alice', 2, 0],
      ],
    );
  });
});

describe('defineFeatureSet', () => {
  it('derives a new version from any change to the definitions', () => {
    const base = { ...customerFeatures };
    const changed = defineFeatureSet({ ...base, windows: { ...base.windows, '10m': 11 * MIN } });
    const same = defineFeatureSet({ ...base });
    assert.equal(same.version, customerFeatures.version);
    assert.notEqual(changed.version, customerFeatures.version);
    assert.match(customerFeatures.version, /^[0-9a-f]{12}$/);
  });

  it('refuses a feature on an unknown window or a ratio of undefined features', () => {
    assert.throws(
      () =>
        defineFeatureSet({
          ...customerFeatures,
          features: [{ name: 'x', kind: 'aggregate', field: 'amount', aggregation: 'sum', window: '2h' }],
        }),
      /unknown window 2h/,
    );
    assert.throws(
      () =>
        defineFeatureSet({
          ...customerFeatures,
          features: [{ name: 'r', kind: 'ratio', numerator: 'a', denominator: 'b', neutral: 1, max: 2 }],
        }),
      /must come after/,
    );
  });
});

function tx(customerId: string, r: HistoryRecord) {
  return {
    transactionId: r.id,
    customerId,
    amount: r.amount,
    currency: r.currency,
    merchantCategory: r.merchantCategory,
    channel: r.channel as 'pos',
    country: r.country,
    occurredAt: r.t,
    ingestedAt: r.t,
  };
}
