// How the foreign source delivers: raw CloudEvents in send order, with exact re-sends, late transactions and late labels.
import { type EventData, EventTypes, makeEvent } from '../../../shared/events/index.ts';
import { toStructured } from '../../../shared/runtime/index.ts';
import { createRng } from '../../../shared/training/random.ts';
import type { ForeignGenerated, ForeignGenerator } from './generator.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** The CloudEvents `source` of every event this source sends. */
export const FOREIGN_SOURCE = 'flywheel-test/foreign-source';

export interface DeliveryOptions {
  seed: number;
  /** Share of events (transactions and labels) sent a second time, byte for byte (same source + id). */
  duplicateShare: number;
  /** How long after the first copy the re-send goes out. */
  duplicateDelayMs: { min: number; max: number };
  /** Share of transactions sent late: after events that happened after them (out of order). */
  lateShare: number;
  /** How late. Keep the maximum under the loop's ALLOWED_LATENESS_MS, or featurize drops them (by design). */
  lateDelayMs: { min: number; max: number };
  /** Share of transactions sent broken on purpose (a negative amount: ingest answers 400, dead-letter sink). */
  invalidShare: number;
}

export const DEFAULT_DELIVERY: Omit<DeliveryOptions, 'seed'> = {
  duplicateShare: 0.2,
  duplicateDelayMs: { min: MINUTE, max: 3 * HOUR },
  lateShare: 0.05,
  lateDelayMs: { min: MINUTE, max: 45 * MINUTE },
  invalidShare: 0,
};

/** One POSTed event: the structured CloudEvent and why it goes out when it does. */
export interface Delivery {
  sendAt: number;
  kind: 'transaction' | 'label';
  copy: 'original' | 'duplicate';
  /** A transaction held back by lateDelayMs (its copies are late too). */
  late: boolean;
  broken: boolean;
  /** The transaction it carries or labels. */
  transactionId: string;
  event: Record<string, unknown>;
}

/**
 * A delivery plan over a generator: `due(until)` takes the generator's transactions before `until` and returns
 * every delivery with sendAt < until not returned yet, in send order (sendAt, then planning order); `onGenerated`
 * sees each generated transaction (the truth) as it is planned. The plan only depends on the seeds, never on how
 * the calls are chunked.
 */
export function createDeliveryPlan(
  generator: ForeignGenerator,
  options: DeliveryOptions,
  onGenerated?: (item: ForeignGenerated) => void,
) {
  const rng = createRng(options.seed ^ 0x0de1_1ee5);
  const pending: Delivery[] = [];
  let sorted = true;

  const between = (r: { min: number; max: number }) => r.min + rng.next() * (r.max - r.min);
  const plan = (d: Delivery) => {
    pending.push(d);
    if (rng.next() < options.duplicateShare)
      pending.push({
        ...d,
        copy: 'duplicate',
        sendAt: d.sendAt + Math.round(between(options.duplicateDelayMs)),
      });
    sorted = false;
  };

  const add = (g: ForeignGenerated) => {
    const tx = g.transaction;
    const late = rng.next() < options.lateShare;
    const broken = rng.next() < options.invalidShare;
    const sendAt = tx.occurredAt + (late ? Math.round(between(options.lateDelayMs)) : 0);
    // amounts as decimal strings and times as ISO-8601, both of which the raw schema allows (the demo sends numbers)
    const data = {
      ...tx,
      amount: broken ? '-1.00' : tx.amount.toFixed(2),
      occurredAt: new Date(tx.occurredAt).toISOString(),
    };
    const base = {
      kind: 'transaction',
      copy: 'original',
      late,
      broken,
      transactionId: tx.transactionId,
    } as const;
    plan({
      ...base,
      sendAt,
      event: raw(EventTypes.transaction, `ev-${tx.transactionId}`, data, tx.occurredAt),
    });
    if (g.label) {
      const label = { ...g.label, labelledAt: new Date(g.label.labelledAt).toISOString() };
      const event = raw(EventTypes.label, `ev-label-${tx.transactionId}`, label, g.label.labelledAt);
      plan({ ...base, kind: 'label', late: false, broken: false, sendAt: g.label.labelledAt, event });
    }
  };

  return {
    due(until: number): Delivery[] {
      for (const g of generator.until(until)) {
        onGenerated?.(g);
        add(g);
      }
      if (!sorted) {
        // stable: equal send times keep their planning order
        pending.sort((a, b) => a.sendAt - b.sendAt);
        sorted = true;
      }
      let n = 0;
      while (n < pending.length && (pending[n] as Delivery).sendAt < until) n++;
      return pending.splice(0, n);
    },
  };
}

type RawType = typeof EventTypes.transaction | typeof EventTypes.label;

function raw<T extends RawType>(
  type: T,
  id: string,
  data: EventData[T],
  at: number,
): Record<string, unknown> {
  return toStructured(makeEvent({ type, id, source: FOREIGN_SOURCE, time: at, data }));
}
