// Computes one event's feature vector from the customer's earlier events: the same code online (featurize) and offline (trainer).
import type { Aggregation, FeatureSet, HistoryRecord } from './definition.ts';

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

interface WindowStats {
  count: number;
  sum: number;
  mean: number;
  min: number;
  max: number;
  std: number;
  last: number;
}

const EMPTY: WindowStats = { count: 0, sum: 0, mean: 0, min: 0, max: 0, std: 0, last: 0 };

/**
 * The feature vector (in `set.columns` order) of `event`, given `prior`: the customer's events strictly before it,
 * ordered by {@link byTimeThenId}. A window of w ms holds the earlier events with time > event.t - w. Empty windows give 0.
 */
export function computeFeatures(
  set: FeatureSet,
  event: HistoryRecord,
  prior: readonly HistoryRecord[],
  firstSeen: FirstSeen,
): number[] {
  const byWindow = new Map<string, WindowStats>();
  const values = new Map<string, number>();
  const out: number[] = [];
  for (const f of set.features) {
    let v: number;
    switch (f.kind) {
      case 'value':
        v = event[f.field];
        break;
      case 'aggregate': {
        let stats = byWindow.get(f.window);
        if (!stats) {
          stats = windowStats(prior, event.t - (set.windows[f.window] ?? 0), event.t);
          byWindow.set(f.window, stats);
        }
        v = pick(stats, f.aggregation);
        break;
      }
      case 'recency': {
        const last = prior.at(-1);
        v = last === undefined ? f.cap : Math.min(f.cap, (event.t - last.t) / 1000);
        break;
      }
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
  return a.t - b.t || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** Names each value of a vector by its column. */
export function toNamedValues(set: FeatureSet, vector: readonly number[]): Record<string, number> {
  const named: Record<string, number> = {};
  set.columns.forEach((c, i) => {
    named[c] = vector[i] ?? 0;
  });
  return named;
}

/** Statistics of the amounts with from < t < to (Welford's mean and population variance, in time order). */
function windowStats(prior: readonly HistoryRecord[], from: number, to: number): WindowStats {
  let count = 0;
  let mean = 0;
  let m2 = 0;
  let sum = 0;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  let last = 0;
  for (const r of prior) {
    if (r.t <= from || r.t >= to) continue;
    const x = r.amount;
    count++;
    sum += x;
    const delta = x - mean;
    mean += delta / count;
    m2 += delta * (x - mean);
    if (x < min) min = x;
    if (x > max) max = x;
    last = x;
  }
  if (count === 0) return EMPTY;
  return { count, sum, mean, min, max, std: Math.sqrt(m2 / count), last };
}

function pick(s: WindowStats, a: Aggregation): number {
  return s[a];
}
