// Training data from the event log: accepted transactions and labels in a range, featurized by the offline builder.
import {
  AcceptedLabelSchema,
  AcceptedTransactionSchema,
  EventTypes,
  type TimeRange,
} from '../events/index.ts';
import { buildTrainingRows, type FeatureSet, type TrainingRow } from '../features/index.ts';
import type { EventLog } from '../log/index.ts';

export interface LabelledRows {
  columns: readonly string[];
  rows: TrainingRow[];
  /** 1 = fraud; transactions without a label count as legitimate (only disputes and reviews are labelled). */
  labels: number[];
  labelled: number;
}

/**
 * Rows for the transactions in `range`, each featurized point-in-time from the events before it — including the
 * feature set's retention before the range, so the first rows of a range see full windows, as serving does. Drops
 * repeated records (the log is at-least-once: a retried ingest may append an event twice) and joins labels by
 * transaction id.
 */
export async function readLabelledRows(opts: {
  eventLog: EventLog;
  range: TimeRange;
  featureSet: FeatureSet;
  /** Transactions younger than this at the range's end are left out: their labels (chargebacks) may not have come yet. */
  labelMaturityMs?: number;
}): Promise<LabelledRows> {
  const records = await opts.eventLog.readRange({
    from: Math.max(0, opts.range.from - opts.featureSet.retentionMs),
    to: opts.range.to,
  });
  const seen = new Set<string>();
  const transactions = [];
  const fraud = new Map<string, { isFraud: boolean; at: number }>();
  for (const r of records) {
    const key = `${r.source}\u0000${r.id}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const data = (JSON.parse(r.value) as { data?: unknown }).data;
    if (r.type === EventTypes.transactionAccepted) {
      const tx = AcceptedTransactionSchema.safeParse(data);
      if (tx.success) transactions.push(tx.data);
    } else if (r.type === EventTypes.labelAccepted) {
      const label = AcceptedLabelSchema.safeParse(data);
      if (!label.success) continue;
      const prev = fraud.get(label.data.transactionId);
      if (!prev || prev.at <= label.data.labelledAt)
        fraud.set(label.data.transactionId, { isFraud: label.data.isFraud, at: label.data.labelledAt });
    }
  }
  const matureBefore = opts.range.to - (opts.labelMaturityMs ?? 0);
  const rows = buildTrainingRows(opts.featureSet, transactions).filter(
    (row) => row.time >= opts.range.from && row.time < matureBefore,
  );
  const labels = rows.map((row) => (fraud.get(row.transactionId)?.isFraud ? 1 : 0));
  const labelled = rows.filter((row) => fraud.has(row.transactionId)).length;
  return { columns: opts.featureSet.columns, rows, labels, labelled };
}

/** Splits rows by time: the oldest `1 - holdoutShare` train, the newest hold out (never a random split across time). */
export function splitByTime<T extends { time: number }>(
  rows: readonly T[],
  holdoutShare: number,
): { train: T[]; holdout: T[]; cut: number } {
  const sorted = [...rows].sort((a, b) => a.time - b.time);
  const index = Math.min(sorted.length - 1, Math.max(1, Math.floor(sorted.length * (1 - holdoutShare))));
  const cut = sorted[index]?.time ?? 0;
  return { train: sorted.filter((r) => r.time < cut), holdout: sorted.filter((r) => r.time >= cut), cut };
}

/** Each customer's latest row before `before`: the customer-level behaviour the segment model clusters. */
export function latestPerCustomer(rows: readonly TrainingRow[], before: number): TrainingRow[] {
  const latest = new Map<string, TrainingRow>();
  for (const row of rows) {
    if (row.time >= before) continue;
    const prev = latest.get(row.customerId);
    if (!prev || prev.time <= row.time) latest.set(row.customerId, row);
  }
  return [...latest.values()];
}
