// The offline builder: turns an event-log range into training rows, point-in-time correct, with the online code path.
import type { AcceptedTransaction } from '../events/index.ts';
import { byTimeThenId, computeFeatures, noveltyKeys } from './compute.ts';
import { type FeatureSet, type HistoryRecord, toHistoryRecord } from './definition.ts';

export interface TrainingRow {
  customerId: string;
  transactionId: string;
  time: number;
  values: number[];
}

/**
 * One row per transaction, each seeing only the customer's events strictly before it (within the feature set's
 * retention and its maxEvents bound) exactly as featurize saw them when events arrive in time order.
 * Transactions are taken in (occurredAt, transactionId) order per customer; rows come back in time order.
 */
export function buildTrainingRows(
  set: FeatureSet,
  transactions: readonly AcceptedTransaction[],
): TrainingRow[] {
  const byCustomer = new Map<string, HistoryRecord[]>();
  for (const tx of transactions) {
    let list = byCustomer.get(tx.customerId);
    if (!list) {
      list = [];
      byCustomer.set(tx.customerId, list);
    }
    list.push(toHistoryRecord(tx));
  }
  const rows: TrainingRow[] = [];
  for (const [customerId, events] of byCustomer) {
    const firstSeen = new Map<string, number>();
    const history: HistoryRecord[] = [];
    for (const e of events.sort(byTimeThenId)) {
      const prior = priorOf(set, history, e.t);
      const keys = noveltyKeys(set, e);
      const seen: Record<string, number | null> = {};
      for (const k of keys) seen[k] = firstSeen.get(k) ?? null;
      rows.push({ customerId, transactionId: e.id, time: e.t, values: computeFeatures(set, e, prior, seen) });
      for (const k of keys) firstSeen.set(k, Math.min(firstSeen.get(k) ?? e.t, e.t));
      history.push(e);
      if (history.length > set.maxEvents) history.shift();
    }
  }
  return rows.sort((a, b) => a.time - b.time);
}

/** The events the online store returns as `prior`: time in [t - retention, t), oldest first. */
function priorOf(set: FeatureSet, history: readonly HistoryRecord[], t: number): HistoryRecord[] {
  const from = t - set.retentionMs;
  return history.filter((h) => h.t >= from && h.t < t);
}
