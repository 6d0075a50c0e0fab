// Feature vectors for serving: from a features.updated event's named values, or from a customer's stored state.
import { InvalidInputError } from '../errors/index.ts';
import { computeFeatures, featuresFromSummary } from './compute.ts';
import type { FeatureSet, HistoryRecord } from './definition.ts';
import type { PriorSummary } from './windows.ts';

/** The values in `columns` order; InvalidInputError naming the first missing or non-finite one. */
export function vectorOf(
  columns: readonly string[],
  values: Readonly<Record<string, number>>,
  field = 'values',
): number[] {
  const out = new Array<number>(columns.length);
  for (let i = 0; i < columns.length; i++) {
    const c = columns[i] as string;
    const v = values[c];
    if (typeof v !== 'number') throw new InvalidInputError(`${field}.${c}`, `feature ${c} is missing`);
    if (!Number.isFinite(v))
      throw new InvalidInputError(`${field}.${c}`, `feature ${c} is not a finite number`);
    out[i] = v;
  }
  return out;
}

/**
 * A customer's current vector: the features of their latest transaction, computed exactly as featurize computed
 * them (from the summary of the events before it). `state` is what the online store's readCustomers returns.
 */
export function latestVector(
  set: FeatureSet,
  state: { latest: { record: string }; prior: PriorSummary; firstSeen: Readonly<Record<string, number>> },
): number[] {
  const latest = JSON.parse(state.latest.record) as HistoryRecord;
  return featuresFromSummary(set, latest, state.prior, state.firstSeen);
}

/** The vector of a customer Flywheel has never seen: no history, a zero amount, everything new. */
export function defaultVector(set: FeatureSet, now: number): number[] {
  const blank: HistoryRecord = {
    id: '',
    t: now,
    amount: 0,
    country: '',
    merchantCategory: '',
    channel: '',
    currency: '',
  };
  return computeFeatures(set, blank, [], {});
}
