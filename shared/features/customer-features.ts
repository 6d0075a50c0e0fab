// The feature set Flywheel serves and trains on. Edit this module to change features: the version changes with it.
import { defineFeatureSet } from './definition.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** Customer transaction features: velocity, spend statistics, recency, ratios and novelty, keyed by customerId. */
export const customerFeatures = defineFeatureSet({
  name: 'customer_transactions',
  entity: 'customerId',
  windows: { '10m': 10 * MINUTE, '1h': HOUR, '24h': DAY, '7d': 7 * DAY, '30d': 30 * DAY },
  maxEvents: 1000,
  features: [
    { name: 'amount', kind: 'value', field: 'amount' },
    { name: 'txn_count_10m', kind: 'aggregate', field: 'amount', aggregation: 'count', window: '10m' },
    { name: 'txn_count_1h', kind: 'aggregate', field: 'amount', aggregation: 'count', window: '1h' },
    { name: 'txn_count_24h', kind: 'aggregate', field: 'amount', aggregation: 'count', window: '24h' },
    { name: 'txn_count_30d', kind: 'aggregate', field: 'amount', aggregation: 'count', window: '30d' },
    { name: 'amount_sum_24h', kind: 'aggregate', field: 'amount', aggregation: 'sum', window: '24h' },
    { name: 'amount_mean_30d', kind: 'aggregate', field: 'amount', aggregation: 'mean', window: '30d' },
    { name: 'amount_std_30d', kind: 'aggregate', field: 'amount', aggregation: 'std', window: '30d' },
    { name: 'amount_max_7d', kind: 'aggregate', field: 'amount', aggregation: 'max', window: '7d' },
    { name: 'amount_min_7d', kind: 'aggregate', field: 'amount', aggregation: 'min', window: '7d' },
    { name: 'last_amount', kind: 'aggregate', field: 'amount', aggregation: 'last', window: '30d' },
    { name: 'seconds_since_last', kind: 'recency', cap: 30 * 24 * 3600 },
    {
      name: 'amount_to_mean_30d',
      kind: 'ratio',
      numerator: 'amount',
      denominator: 'amount_mean_30d',
      neutral: 1,
      max: 100,
    },
    { name: 'new_country', kind: 'novelty', field: 'country' },
    { name: 'new_device', kind: 'novelty', field: 'deviceId' },
    { name: 'is_online', kind: 'indicator', field: 'channel', equals: 'online' },
  ],
});
