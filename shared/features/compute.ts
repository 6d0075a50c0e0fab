// Computes one event's feature vector from the customer's earlier events: the same code online (featurize) and offline (trainer).
import { compareUtf8 } from './order.ts';
import type { FeatureSet, HistoryRecord } from './definition.ts';
import { EMPTY_WINDOW, type PriorSummary, summarizePrior } from './windows.ts';

/** What novelty features need: for each `field:value` key, when it was first seen (before this event), or null. */
export type FirstSeen = Readonly<Record<string, number | null | undefined>>;

/** The first-seen keys an event touches, e.g. `country:DE`, `deviceId:abc`. */
export function noveltyKeys(set: FeatureSet, event: HistoryRecord): string[] {
  const keys: string[] = [];
  for (const f of set.features) {
    if (f.kind !== 'novelty') continue;
    const value = event[f.field];
    if (value !== undefined) keys.push(`${f.field}:${value}`);
  }
  return keys;
}

/**
 * The feature vector (in `set.columns` order) of `event`, given `prior`: the customer's events strictly before it
 * (within the retention), ordered by {@link byTimeThenId}. A window of w ms holds the earlier events with time >
 * event.t - w. Empty windows give 0.
 */
export function computeFeatures(
  set: FeatureSet,
  event: HistoryRecord,
  prior: readonly HistoryRecord[],
  firstSeen: FirstSeen,
): number[] {
  return featuresFromSummary(set, event, summarizeHistory(set, prior, event.t), firstSeen);
}

/** The window summary of `prior` (records ordered by {@link byTimeThenId}) for an event at time t. */
function summarizeHistory(set: FeatureSet, prior: readonly HistoryRecord[], t: number): PriorSummary {
  return summarizePrior(
    { times: prior.map((r) => r.t), values: prior.map((r) => r.amount) },
    t,
    set.windowsMs,
  );
}

/**
 * The feature vector of `event` from the summary of its earlier events (windows in `set.windowNames` order): what
 * the online store returns, and what {@link computeFeatures} computes from records.
 */
export function featuresFromSummary(
  set: FeatureSet,
  event: HistoryRecord,
  prior: PriorSummary,
  firstSeen: FirstSeen,
): number[] {
  if (prior.windows.length !== set.windowsMs.length) {
    throw new Error(
      `a summary of ${prior.windows.length} windows for a feature set of ${set.windowsMs.length}`,
    );
  }
  const values = new Map<string, number>();
  const out: number[] = [];
  for (const f of set.features) {
    let v: number;
    switch (f.kind) {
      case 'value':
        v = event[f.field];
        break;
      case 'aggregate': {
        const stats = prior.windows[set.windowNames.indexOf(f.window)] ?? EMPTY_WINDOW;
        v = stats[f.aggregation];
        break;
      }
      case 'recency':
        v = prior.lastTime === null ? f.cap : Math.min(f.cap, (event.t - prior.lastTime) / 1000);
        break;
      case 'ratio': {
        const den = values.get(f.denominator) ?? 0;
        v = den === 0 ? f.neutral : Math.min(f.max, (values.get(f.numerator) ?? 0) / den);
        break;
      }
      case 'novelty': {
        const value = event[f.field];
        if (value === undefined) v = 0;
        else {
          const seen = firstSeen[`${f.field}:${value}`];
          v = seen === null || seen === undefined || seen >= event.t ? 1 : 0;
        }
        break;
      }
      case 'indicator':
        v = event[f.field] === f.equals ? 1 : 0;
        break;
    }
    values.set(f.name, v);
    out.push(v);
  }
  return out;
}

/** The one order of a customer's history, online and offline: event time, then transaction id for ties. */
export function byTimeThenId(a: HistoryRecord, b: HistoryRecord): number {
  return a.t - b.t || compareUtf8(a.id, b.id);
}

/** Names each value of a vector by its column. */
export function toNamedValues(set: FeatureSet, vector: readonly number[]): Record<string, number> {
  const named: Record<string, number> = {};
  set.columns.forEach((c, i) => {
    named[c] = vector[i] ?? 0;
  });
  return named;
}
