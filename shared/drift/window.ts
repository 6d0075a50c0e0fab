// The drift window as the online store holds it, counts per value, and its measurement when it closes.
import { binIndex, categoryKey, type DriftBaseline, type StreamBaseline } from './baseline.ts';
import { meanClusterSize } from './clustering.ts';
import type { DriftConfig } from './config.ts';
import { measureStream, type StreamSummary, type WindowReport } from './measure.ts';
import { seededRandom } from '../random/index.ts';
import { drawSample } from './sample.ts';

/** One stream's observations in a window: each distinct value (as windowValue keeps it) and how often it came. */
export type ValueCounts = Map<number, number>;

/**
 * A window: per stream, how many times each value was observed, plus the event counters and each unit's events.
 * Order is not kept; no statistic of a window depends on it. detect-drift holds it as a store hash of the same
 * counts (functions/detect-drift/encoding.ts); countObservation builds it in memory.
 */
export interface WindowCounts {
  /** Windows closed before this one. */
  sequence: number;
  /** When the window opened, or its first observation's time (epoch ms). */
  start: number;
  featureEvents: number;
  predictionEvents: number;
  /** Per feature name. Names the baseline does not know are ignored when measured. */
  features: Map<string, ValueCounts>;
  prediction: ValueCounts;
  /**
   * Events per unit (customer) for each source: what the design effect of the window's tests is computed from
   * (clustering.ts). At most one entry per customer seen.
   */
  units: { features: Map<string, number>; prediction: Map<string, number> };
}

/** One event's worth of values: the feature vector of features.updated, or the prediction of score.computed. */
export interface Observation {
  source: 'features' | 'prediction';
  values: Readonly<Record<string, number>>;
  /** When the event was observed (epoch ms). */
  at: number;
  /** The unit the event belongs to (detect-drift: the customer); observations without one count as independent. */
  unit?: string | undefined;
}

/** An empty window. */
export function emptyWindow(input: { start: number; sequence?: number }): WindowCounts {
  return {
    sequence: input.sequence ?? 0,
    start: input.start,
    featureEvents: 0,
    predictionEvents: 0,
    features: new Map(),
    prediction: new Map(),
    units: { features: new Map(), prediction: new Map() },
  };
}

/** Observations in the window: the larger of the two streams' event counts, about one per transaction. */
export function windowCount(counts: WindowCounts): number {
  return Math.max(counts.featureEvents, counts.predictionEvents);
}

/**
 * The value a window counts for x: a category's code as is, a number with 7 significant digits (relative change
 * ≤ 5e-8, far below any threshold) so a continuous stream's values stay short as store fields.
 */
export function windowValue(baseline: StreamBaseline, x: number): number {
  if (baseline.kind === 'categorical') return x;
  // Integers below 10⁷ already have at most 7 digits (the common case: counts, seconds, flags).
  if (Number.isInteger(x) && x < 1e7 && x > -1e7) return x;
  return Number(x.toPrecision(7));
}

const add = <K>(map: Map<K, number>, key: K, by: number): void => {
  map.set(key, (map.get(key) ?? 0) + by);
};

/**
 * Adds one observation to the window in place: the in-memory form of detect-drift's one HINCRBY per event. Values
 * for names the baseline does not know, and non-finite values, are not counted; the event counters always are.
 */
export function countObservation(
  counts: WindowCounts,
  baseline: DriftBaseline,
  observation: Observation,
): void {
  const { source, values, unit } = observation;
  if (windowCount(counts) === 0) counts.start = observation.at;
  if (unit !== undefined) add(counts.units[source], unit, 1);
  if (source === 'features') {
    counts.featureEvents++;
    for (const [name, x] of Object.entries(values)) {
      const b = baseline.features[name];
      if (!b || !Number.isFinite(x)) continue;
      let stream = counts.features.get(name);
      if (!stream) {
        stream = new Map();
        counts.features.set(name, stream);
      }
      add(stream, windowValue(b, x), 1);
    }
    return;
  }
  counts.predictionEvents++;
  const p = baseline.prediction;
  const x = p ? values[p.name] : undefined;
  if (p && x !== undefined && Number.isFinite(x)) add(counts.prediction, windowValue(p.baseline, x), 1);
}

/**
 * Reduces a stream's counts to what its statistics need, exactly: bin or category counts from every observation,
 * and (numeric) a uniform sample of `sampleSize` of them drawn with `random`. Values are taken in ascending order,
 * so the sample depends on the counts and the generator only, not on the order they were stored in.
 */
export function summarizeStream(input: {
  values: ReadonlyMap<number, number>;
  baseline: StreamBaseline;
  sampleSize: number;
  random: () => number;
}): StreamSummary {
  const { values, baseline } = input;
  const entries = [...values].sort((a, b) => a[0] - b[0]);
  let n = 0;
  if (baseline.kind === 'categorical') {
    const slots = new Map(baseline.categories.map((key, i) => [key, i]));
    const counts = new Array<number>(baseline.categories.length + 1).fill(0);
    for (const [x, c] of entries) {
      const slot = slots.get(categoryKey(x)) ?? baseline.categories.length;
      counts[slot] = (counts[slot] ?? 0) + c;
      n += c;
    }
    return { kind: 'categorical', n, counts };
  }
  const bins = new Array<number>(baseline.proportions.length).fill(0);
  let sum = 0;
  for (const [x, c] of entries) {
    const b = binIndex(baseline.edges, x);
    bins[b] = (bins[b] ?? 0) + c;
    n += c;
    sum += x * c;
  }
  const sample = drawSample({ entries, n, size: Math.min(input.sampleSize, n), random: input.random });
  return { kind: 'numeric', n, sum, bins, sample };
}

const NONE: ReadonlyMap<number, number> = new Map();

/**
 * Measures a closed window against the baseline: every feature the baseline knows and the prediction
 * (measure.ts), with the design effect from the window's units. `seed` drives the samples' draws (shared/random),
 * so any replica closing the same window reports the same statistics; `now` is the close time.
 */
export function measureWindow(input: {
  counts: WindowCounts;
  baseline: DriftBaseline;
  config: DriftConfig;
  now: number;
  seed: number;
}): WindowReport {
  const { counts, baseline, config } = input;
  const random = seededRandom(input.seed);
  const clusterSize = {
    features: meanClusterSize(counts.units.features.values(), counts.featureEvents),
    prediction: meanClusterSize(counts.units.prediction.values(), counts.predictionEvents),
  };
  const measure = (values: ReadonlyMap<number, number>, b: StreamBaseline, unitSize: number) =>
    measureStream({
      stream: summarizeStream({ values, baseline: b, sampleSize: config.sampleSize, random }),
      baseline: b,
      config,
      clusterSize: unitSize,
    });
  const features: WindowReport['features'] = {};
  for (const [name, b] of Object.entries(baseline.features)) {
    features[name] = measure(counts.features.get(name) ?? NONE, b, clusterSize.features);
  }
  const p = baseline.prediction;
  return {
    sequence: counts.sequence,
    window: { start: counts.start, end: Math.max(input.now, counts.start), count: windowCount(counts) },
    features,
    prediction: p
      ? { name: p.name, statistics: measure(counts.prediction, p.baseline, clusterSize.prediction) }
      : null,
  };
}
