// The demo data source: replays a generated history, then streams live transactions and late labels to the broker.
import { setTimeout as sleep } from 'node:timers/promises';
import { type EventData, EventTypes, type Label, makeEvent } from '../../shared/events/index.ts';
import { toStructured } from '../../shared/runtime/index.ts';
import { createGenerator, type Generated, type GeneratorOptions, MEAN_PER_DAY } from './generator.ts';

type RawType = typeof EventTypes.transaction | typeof EventTypes.label;

const DAY = 86_400_000;
const SOURCE = 'flywheel/demo-source';

export interface SourceOptions {
  /** The broker ingress (sources post raw events there; a Trigger hands them to ingest). */
  brokerUrl: string;
  seed: number;
  customers: number;
  /** Live transactions per second (the simulated clock runs as fast as it takes). */
  rate: number;
  /** Length of the live phase in seconds: the simulated clock reaches the real present at its end. */
  durationSec: number;
  /** Seconds into the live phase when the drift (rising prices, a new merchant mix) starts. */
  driftAfterSec: number;
  /** Days of history replayed before the live phase. */
  historyDays: number;
  /** Share of live events sent broken on purpose (they end in the dead-letter sink). */
  invalidShare: number;
  /** Extra generator settings. */
  generator?: Partial<GeneratorOptions>;
  onProgress?: (p: { simulatedTime: number; drifting: boolean; sent: number; rejected: number }) => void;
}

export interface Timeline {
  historyStart: number;
  liveStart: number;
  liveEnd: number;
  driftAt: number;
  /** Simulated ms per real ms. */
  speed: number;
}

/** The simulated calendar: history, then a live phase that ends at the real present, so no event is from the future. */
export function timeline(o: SourceOptions, realStart: number): Timeline {
  const perDay = o.customers * MEAN_PER_DAY;
  const speed = Math.max(1, (o.rate * DAY) / perDay / 1000);
  const liveEnd = realStart + o.durationSec * 1000;
  const liveStart = liveEnd - o.durationSec * 1000 * speed;
  return {
    historyStart: liveStart - o.historyDays * DAY,
    liveStart,
    liveEnd,
    driftAt: liveStart + o.driftAfterSec * 1000 * speed,
    speed,
  };
}

/** A running source: `history()` replays the past, `live()` streams until the duration ends or stop() is called. */
export function createSource(o: SourceOptions) {
  const realStart = Date.now();
  const tl = timeline(o, realStart);
  const gen = createGenerator(
    { seed: o.seed, customers: o.customers, driftAt: tl.driftAt, ...o.generator },
    tl.historyStart,
  );
  const pendingLabels: Label[] = [];
  const stats = { simulatedTime: tl.historyStart, drifting: false, sent: 0, rejected: 0 };
  /** Ids of the events sent broken on purpose: exactly these should end in the dead-letter sink. */
  const brokenIds = new Set<string>();
  let stopped = false;
  let seq = 0;

  const post = async (events: Record<string, unknown>[]): Promise<void> => {
    if (events.length === 0) return;
    for (let attempt = 0; ; attempt++) {
      const res = await fetch(o.brokerUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/cloudevents-batch+json' },
        body: JSON.stringify(events),
      });
      await res.arrayBuffer();
      if (res.ok) {
        stats.sent += events.length;
        return;
      }
      if (res.status === 400) {
        stats.rejected += events.length;
        return;
      }
      // 429 / 503: the broker is full or stopping; back off and retry the batch
      if (attempt > 50 || stopped) throw new Error(`broker answered ${res.status}`);
      await sleep(100 * Math.min(10, attempt + 1));
    }
  };

  const toEvents = (batch: Generated[], until: number, broken: number): Record<string, unknown>[] => {
    const out: Record<string, unknown>[] = [];
    for (const g of batch) {
      const tx = { ...g.transaction } as Record<string, unknown>;
      const isBroken = broken > 0 && gen.random.next() < broken;
      if (isBroken) Object.assign(tx, gen.random.next() < 0.5 ? { amount: -1 } : { currency: 'XXQ' });
      const e = event(EventTypes.transaction, g.transaction.transactionId, tx, g.transaction.occurredAt);
      if (isBroken) brokenIds.add(String(e.id));
      out.push(e);
      if (g.label) pendingLabels.push(g.label);
    }
    pendingLabels.sort((a, b) => Number(a.labelledAt) - Number(b.labelledAt));
    while (pendingLabels.length > 0 && Number(pendingLabels[0]?.labelledAt) <= until) {
      const l = pendingLabels.shift() as Label;
      out.push(event(EventTypes.label, `label-${l.transactionId}`, l, Number(l.labelledAt)));
    }
    return out;
  };

  /** A raw source event in structured mode, as a data source posts it (built by the runtime's CloudEvents adapter). */
  const event = (type: RawType, id: string, data: unknown, at: number): Record<string, unknown> =>
    toStructured(
      makeEvent({ type, id: `${id}-${++seq}`, source: SOURCE, time: at, data: data as EventData[RawType] }),
    );

  return {
    timeline: tl,
    brokenIds,
    /** Sends every transaction (and due label) of the history, in time order, in batches. */
    async history(): Promise<number> {
      const events = toEvents(gen.until(tl.liveStart), tl.liveStart, 0);
      for (let i = 0; i < events.length && !stopped; i += 200) await post(events.slice(i, i + 200));
      stats.simulatedTime = tl.liveStart;
      o.onProgress?.({ ...stats });
      return events.length;
    },
    /** Streams live events every 100 ms until the live phase ends or stop() is called. */
    async live(): Promise<void> {
      const startedAt = Date.now();
      while (!stopped) {
        const elapsed = Date.now() - startedAt;
        const simNow = Math.min(tl.liveStart + elapsed * tl.speed, Date.now());
        stats.simulatedTime = simNow;
        stats.drifting = simNow >= tl.driftAt;
        await post(toEvents(gen.until(simNow), simNow, o.invalidShare));
        o.onProgress?.({ ...stats });
        if (elapsed >= o.durationSec * 1000) break;
        await sleep(100);
      }
    },
    stop() {
      stopped = true;
    },
  };
}

/** A running source, as createSource returns it. */
export type Source = ReturnType<typeof createSource>;
