// Feature vectors for serving: from a features.updated event's named values, or from a customer's stored history.
import { InvalidEventError } from '../errors/index.ts';
import { byTimeThenId, computeFeatures } from './compute.ts';
import type { FeatureSet, HistoryRecord } from './definition.ts';

/** The values in `columns` order; InvalidEventError naming the first missing or non-finite one. */
export function vectorOf(
  columns: readonly string[],
  values: Readonly<Record<string, number>>,
  field = 'values',
): number[] {
  const out = new Array<number>(columns.length);
  for (let i = 0; i < columns.length; i++) {
    const c = columns[i] as string;
    const v = values[c];
    if (typeof v !== 'number') throw new InvalidEventError(`${field}.${c}`, `feature ${c} is missing`);
    if (!Number.isFinite(v))
      throw new InvalidEventError(`${field}.${c}`, `feature ${c} is not a finite number`);
    out[i] = v;
  }
  return out;
}

/**
 * A customer's current vector: the features of their latest transaction, computed exactly as featurize computed
 * them (from the events before it). `history` is the stored records as the online store returns them.
 */
export function latestVector(
  set: FeatureSet,
  history: readonly { record: string }[],
  firstSeen: Readonly<Record<string, number>>,
): number[] | null {
  if (history.length === 0) return null;
  const records = history.map((h) => JSON.parse(h.record) as HistoryRecord).sort(byTimeThenId);
  const latest = records.at(-1) as HistoryRecord;
  const from = latest.t - set.retentionMs;
  const prior = records.filter((r) => r.t >= from && r.t < latest.t);
  return computeFeatures(set, latest, prior, firstSeen);
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
