// A generated history written straight to the event log, as ingest would have logged it (for first training and tests).
import { normalizeLabel, normalizeTransaction } from '../../functions/ingest/normalize.ts';
import { EventTypes, makeEvent } from '../../shared/events/index.ts';
import type { EventLog, LogRecord } from '../../shared/log/index.ts';
import { toStructured } from '../../shared/runtime/index.ts';
import type { Generated } from './generator.ts';

const SOURCE = 'flywheel/ingest';

/** The log records ingest would append for these transactions and their labels (labels at their own time). */
export function historyRecords(
  generated: readonly Generated[],
  opts: { labelsBefore?: number } = {},
): LogRecord[] {
  const clock = { now: Number.MAX_SAFE_INTEGER, maxSkewMs: 0 };
  const records: LogRecord[] = [];
  for (const g of generated) {
    const tx = normalizeTransaction(g.transaction, clock);
    const accepted = makeEvent({
      type: EventTypes.transactionAccepted,
      source: SOURCE,
      id: `hist-${tx.transactionId}`,
      time: tx.occurredAt,
      data: { ...tx, ingestedAt: tx.occurredAt },
    });
    records.push({
      key: tx.customerId,
      id: accepted.id,
      source: SOURCE,
      type: accepted.type,
      time: tx.occurredAt,
      value: JSON.stringify(toStructured(accepted)),
    });
    if (g.label && g.label.labelledAt < (opts.labelsBefore ?? Number.POSITIVE_INFINITY)) {
      const label = normalizeLabel(g.label, clock);
      const event = makeEvent({
        type: EventTypes.labelAccepted,
        source: SOURCE,
        id: `hist-label-${label.transactionId}`,
        time: label.labelledAt,
        data: { ...label, ingestedAt: label.labelledAt },
      });
      records.push({
        key: label.customerId,
        id: event.id,
        source: SOURCE,
        type: event.type,
        time: label.labelledAt,
        value: JSON.stringify(toStructured(event)),
      });
    }
  }
  return records;
}

/** Appends the history in batches of 1000. */
export async function appendHistory(
  eventLog: EventLog,
  generated: readonly Generated[],
  opts: { labelsBefore?: number } = {},
): Promise<number> {
  const records = historyRecords(generated, opts);
  for (let i = 0; i < records.length; i += 1000) await eventLog.append(records.slice(i, i + 1000));
  return records.length;
}
