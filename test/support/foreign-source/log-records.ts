// The event-log records ingest appends for the foreign source's deliveries: training tests read them like the trainer.
import { normalizeLabel, normalizeTransaction } from '../../../functions/ingest/normalize.ts';
import { EventTypes, LabelSchema, makeEvent, TransactionSchema } from '../../../shared/events/index.ts';
import type { LogRecord } from '../../../shared/log/index.ts';
import { toStructured } from '../../../shared/runtime/index.ts';
import type { Delivery } from './delivery.ts';

const INGEST = 'flywheel/ingest';

/**
 * One accepted record per valid delivery, timed by the event's own time and received at its send time. A re-send
 * keeps its copy's id (derived from the raw source + id, as ingest derives it), so it reads as what a retried
 * append leaves in the log: a repeated record that readers drop by source + id. Broken deliveries are left out
 * (ingest refuses them).
 */
export function ingestRecords(deliveries: readonly Delivery[]): LogRecord[] {
  const records: LogRecord[] = [];
  for (const d of deliveries) {
    if (d.broken) continue;
    const id = `acc-${String(d.event.id)}`;
    const clock = { now: d.sendAt, maxSkewMs: 0 };
    if (d.kind === 'transaction') {
      const tx = normalizeTransaction(TransactionSchema.parse(d.event.data), clock);
      const event = makeEvent({
        type: EventTypes.transactionAccepted,
        source: INGEST,
        id,
        time: d.sendAt,
        data: { ...tx, ingestedAt: d.sendAt },
      });
      records.push(record(tx.customerId, tx.occurredAt, event));
    } else {
      const label = normalizeLabel(LabelSchema.parse(d.event.data), clock);
      const event = makeEvent({
        type: EventTypes.labelAccepted,
        source: INGEST,
        id,
        time: d.sendAt,
        data: { ...label, ingestedAt: d.sendAt },
      });
      records.push(record(label.customerId, label.labelledAt, event));
    }
  }
  return records;
}

function record(key: string, time: number, event: ReturnType<typeof makeEvent>): LogRecord {
  return {
    key,
    id: event.id,
    source: event.source,
    type: event.type,
    time,
    value: JSON.stringify(toStructured(event)),
  };
}
