// The foreign source on a broker: replays its history, then streams live events on a compressed clock, like the demo's.
import { setTimeout as sleep } from 'node:timers/promises';
import { createDeliveryPlan, DEFAULT_DELIVERY, type Delivery, type DeliveryOptions } from './delivery.ts';
import {
  createForeignGenerator,
  DEFAULT_FOREIGN_GENERATOR,
  type ForeignFraud,
  type ForeignGeneratorOptions,
} from './generator.ts';
import { FOREIGN_MEAN_PER_DAY, type ShiftA, type ShiftB } from './population.ts';

const DAY = 86_400_000;

export interface ForeignSourceOptions {
  /** The broker ingress. */
  brokerUrl: string;
  seed: number;
  customers: number;
  /** Live transactions per second (originals; re-sends and labels come on top). */
  rate: number;
  /** Length of the live phase in seconds: the simulated clock reaches the real present at its end. */
  durationSec: number;
  /** Seconds into the live phase when shift A (risk's inputs) starts; the demo's name for its one drift. */
  driftAfterSec: number;
  /** Seconds into the live phase when shift B (segment's inputs) starts; default halfway from shift A to the end. */
  shiftBAfterSec?: number;
  /** Days of history replayed before the live phase (shifts never fall in it unless their seconds are negative). */
  historyDays: number;
  /** Share of transactions sent broken on purpose (they end in the dead-letter sink); default 0. */
  invalidShare?: number;
  /** Duplicates, lateness: defaults in DEFAULT_DELIVERY (20 % re-sent, 5 % late by up to 45 simulated minutes). */
  delivery?: Partial<Omit<DeliveryOptions, 'seed' | 'invalidShare'>>;
  /** Generator settings other than seed and customers; the shifts' times come from the seconds above. */
  generator?: Partial<Omit<ForeignGeneratorOptions, 'seed' | 'customers' | 'shiftA' | 'shiftB'>> & {
    shiftA?: Partial<Omit<ShiftA, 'at'>>;
    shiftB?: Partial<Omit<ShiftB, 'at'>>;
  };
  onProgress?: (p: ForeignProgress) => void;
}

export interface ForeignProgress {
  simulatedTime: number;
  /** True from shift A on (the demo's field). */
  drifting: boolean;
  phase: 'stationary' | 'shift-a' | 'shift-b';
  sent: number;
  rejected: number;
}

/** The demo's Timeline fields (historyStart, liveStart, liveEnd, driftAt = shift A, speed) plus shift B. */
export interface ForeignTimeline {
  historyStart: number;
  liveStart: number;
  liveEnd: number;
  driftAt: number;
  shiftBAt: number;
  /** Simulated ms per real ms. */
  speed: number;
}

/** The simulated calendar: history, then a live phase that ends at the real present (no event from the future). */
export function foreignTimeline(o: ForeignSourceOptions, realStart: number): ForeignTimeline {
  const speed = Math.max(1, (o.rate * DAY) / (o.customers * FOREIGN_MEAN_PER_DAY) / 1000);
  const liveEnd = realStart + o.durationSec * 1000;
  const liveStart = liveEnd - o.durationSec * 1000 * speed;
  const shiftB = o.shiftBAfterSec ?? o.driftAfterSec + (o.durationSec - o.driftAfterSec) / 2;
  return {
    historyStart: liveStart - o.historyDays * DAY,
    liveStart,
    liveEnd,
    driftAt: liveStart + o.driftAfterSec * 1000 * speed,
    shiftBAt: liveStart + shiftB * 1000 * speed,
    speed,
  };
}

/**
 * A running foreign source with the demo source's surface (timeline, brokenIds, history(), live(), stop()), so
 * `bootstrapChampions` and an end-to-end test can drive it the same way; it adds shift B, counters and the truth.
 */
export function createForeignSource(o: ForeignSourceOptions) {
  const tl = foreignTimeline(o, Date.now());
  const g = o.generator ?? {};
  const generator = createForeignGenerator(
    {
      ...g,
      seed: o.seed,
      customers: o.customers,
      shiftA: { ...DEFAULT_FOREIGN_GENERATOR.shiftA, ...g.shiftA, at: tl.driftAt },
      shiftB: { ...DEFAULT_FOREIGN_GENERATOR.shiftB, ...g.shiftB, at: tl.shiftBAt },
    },
    tl.historyStart,
  );
  /** The pattern behind every fraudulent transaction generated so far. */
  const fraud = new Map<string, ForeignFraud>();
  const plan = createDeliveryPlan(
    generator,
    { ...DEFAULT_DELIVERY, ...o.delivery, seed: o.seed, invalidShare: o.invalidShare ?? 0 },
    (item) => {
      if (item.fraud !== null) fraud.set(item.transaction.transactionId, item.fraud);
    },
  );
  const stats = { sent: 0, rejected: 0, duplicates: 0, late: 0, labels: 0 };
  /** Ids of the events sent broken on purpose: exactly these should end in the dead-letter sink. */
  const brokenIds = new Set<string>();
  /** Ids of the valid transaction events sent (each once, however many copies went out). */
  const transactionIds = new Set<string>();
  let stopped = false;

  const phaseAt = (t: number): ForeignProgress['phase'] =>
    t >= tl.shiftBAt ? 'shift-b' : t >= tl.driftAt ? 'shift-a' : 'stationary';
  const progress = (t: number): ForeignProgress => ({
    simulatedTime: t,
    drifting: t >= tl.driftAt,
    phase: phaseAt(t),
    sent: stats.sent,
    rejected: stats.rejected,
  });

  const post = async (batch: Delivery[]): Promise<void> => {
    if (batch.length === 0) return;
    for (let attempt = 0; ; attempt++) {
      const res = await fetch(o.brokerUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/cloudevents-batch+json' },
        body: JSON.stringify(batch.map((d) => d.event)),
      });
      await res.arrayBuffer();
      if (res.status === 400) {
        stats.rejected += batch.length;
        return;
      }
      if (res.ok) break;
      // 429 / 503: the broker is full or stopping; back off and send the same batch again
      if (attempt > 50 || stopped) throw new Error(`broker answered ${res.status}`);
      await sleep(100 * Math.min(10, attempt + 1));
    }
    for (const d of batch) {
      stats.sent++;
      if (d.copy === 'duplicate') stats.duplicates++;
      if (d.late && d.copy === 'original') stats.late++;
      if (d.kind === 'label') stats.labels++;
      if (d.broken) brokenIds.add(String(d.event.id));
      else if (d.kind === 'transaction') transactionIds.add(String(d.event.id));
    }
  };

  return {
    timeline: tl,
    brokenIds,
    transactionIds,
    customers: generator.customers,
    stats: () => ({ ...stats }),
    /** The pattern of a generated transaction, or null when it is legitimate (or not generated yet). */
    fraudOf: (transactionId: string): ForeignFraud | null => fraud.get(transactionId) ?? null,
    /** Sends every event due before the live phase (late events and labels due later wait for live()). */
    async history(): Promise<number> {
      const events = plan.due(tl.liveStart);
      for (let i = 0; i < events.length && !stopped; i += 200) await post(events.slice(i, i + 200));
      o.onProgress?.(progress(tl.liveStart));
      return events.length;
    },
    /** Streams due events every 100 ms until the live phase ends or stop() is called. */
    async live(): Promise<void> {
      const startedAt = Date.now();
      while (!stopped) {
        const elapsed = Date.now() - startedAt;
        const simNow = Math.min(tl.liveStart + elapsed * tl.speed, Date.now());
        await post(plan.due(simNow));
        o.onProgress?.(progress(simNow));
        if (elapsed >= o.durationSec * 1000) break;
        await sleep(100);
      }
    },
    stop() {
      stopped = true;
    },
  };
}

/** A running foreign source, as createForeignSource returns it. */
export type ForeignSource = ReturnType<typeof createForeignSource>;
