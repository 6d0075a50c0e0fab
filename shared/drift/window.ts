// The drift window: a small serialisable state per model, evolved one observation at a time, closed by count or age.
import { z } from 'zod';
import { ConflictError } from '../errors/index.ts';
import { binIndex, categoryKey, type DriftBaseline, type StreamBaseline } from './baseline.ts';
import { meanClusterSize } from './clustering.ts';
import type { DriftConfig } from './config.ts';
import { measureStream, type WindowReport } from './measure.ts';
import { nextRandom } from '../random/index.ts';

const count = z.number().int().nonnegative();
const epochMs = z.number().int().nonnegative();

/** A numeric stream in a window: counts per baseline bin, the running sum, and a bounded reservoir sample. */
export const NumericStreamStateSchema = z.object({
  kind: z.literal('numeric'),
  n: count,
  sum: z.number(),
  bins: z.array(count),
  sample: z.array(z.number()),
});
export type NumericStreamState = z.infer<typeof NumericStreamStateSchema>;

/** A categorical stream in a window: counts per baseline category, the last slot counting every other value. */
export const CategoricalStreamStateSchema = z.object({
  kind: z.literal('categorical'),
  n: count,
  counts: z.array(count),
});
export type CategoricalStreamState = z.infer<typeof CategoricalStreamStateSchema>;

export const StreamStateSchema = z.discriminatedUnion('kind', [
  NumericStreamStateSchema,
  CategoricalStreamStateSchema,
]);
export type StreamState = z.infer<typeof StreamStateSchema>;

/**
 * Everything a replica needs to continue a model's current window: JSON-serialisable and small (about 2.5 KB per
 * numeric stream with the default sample of 200, a few bytes per category), so the online store can hold it
 * under one key and any replica can take the next event.
 */
export const WindowStateSchema = z.object({
  version: z.literal(1),
  /** Windows closed before this one. */
  sequence: count,
  /** Time of the first observation (the opening time while the window is empty). */
  start: epochMs,
  /** Time of the latest observation. */
  last: epochMs,
  featureEvents: count,
  predictionEvents: count,
  /** mulberry32 state for the reservoir decisions, carried so every replica makes the same ones. */
  rng: z.number().int().min(0).max(0xffffffff),
  features: z.record(z.string(), StreamStateSchema),
  prediction: StreamStateSchema.nullable(),
  /**
   * Observations per unit (customer) in this window, for each source: what the design effect of the window's
   * tests is computed from (clustering.ts). At most one entry per customer seen.
   */
  units: z.object({ features: z.record(z.string(), count), prediction: z.record(z.string(), count) }),
});
export type WindowState = z.infer<typeof WindowStateSchema>;

/** One event's worth of values: the feature vector of features.updated, or the prediction of score.computed. */
export const ObservationSchema = z.object({
  source: z.enum(['features', 'prediction']),
  values: z.record(z.string(), z.number()),
  /** When the event was observed (epoch ms). */
  at: epochMs,
  /** The unit the event belongs to (detect-drift: the customer); observations without one count as independent. */
  unit: z.string().optional(),
});
export type Observation = z.infer<typeof ObservationSchema>;

function emptyStream(baseline: StreamBaseline): StreamState {
  return baseline.kind === 'numeric'
    ? { kind: 'numeric', n: 0, sum: 0, bins: baseline.proportions.map(() => 0), sample: [] }
    : { kind: 'categorical', n: 0, counts: [...baseline.categories.map(() => 0), 0] };
}

/** A fresh, empty window for the baseline's features and prediction. */
export function openWindow(input: {
  baseline: DriftBaseline;
  at: number;
  seed: number;
  sequence?: number;
}): WindowState {
  const features: Record<string, StreamState> = {};
  for (const [name, b] of Object.entries(input.baseline.features)) features[name] = emptyStream(b);
  return {
    version: 1,
    sequence: input.sequence ?? 0,
    start: input.at,
    last: input.at,
    featureEvents: 0,
    predictionEvents: 0,
    rng: input.seed >>> 0,
    features,
    prediction: input.baseline.prediction ? emptyStream(input.baseline.prediction.baseline) : null,
    units: { features: {}, prediction: {} },
  };
}

/** Observations in the window: the larger of the two streams' event counts, about one per transaction. */
export function windowCount(state: WindowState): number {
  return Math.max(state.featureEvents, state.predictionEvents);
}

/** Sample values keep 7 significant digits (relative change ≤ 5e-8, far below any threshold) to keep JSON short. */
const compact = (x: number): number => Number(x.toPrecision(7));

interface Added {
  stream: StreamState;
  rng: number;
}

function addValue(input: {
  stream: StreamState;
  baseline: StreamBaseline;
  x: number;
  rng: number;
  sampleSize: number;
}): Added {
  const { stream, baseline, x, sampleSize } = input;
  if (stream.kind === 'categorical' && baseline.kind === 'categorical') {
    if (stream.counts.length !== baseline.categories.length + 1) throw mismatch();
    const at = baseline.categories.indexOf(categoryKey(x));
    const slot = at === -1 ? baseline.categories.length : at;
    const counts = [...stream.counts];
    counts[slot] = (counts[slot] ?? 0) + 1;
    return { stream: { kind: 'categorical', n: stream.n + 1, counts }, rng: input.rng };
  }
  if (stream.kind === 'numeric' && baseline.kind === 'numeric') {
    if (stream.bins.length !== baseline.proportions.length) throw mismatch();
    const bins = [...stream.bins];
    const b = binIndex(baseline.edges, x);
    bins[b] = (bins[b] ?? 0) + 1;
    const n = stream.n + 1;
    let sample = stream.sample;
    let rng = input.rng;
    if (sample.length < sampleSize) {
      sample = [...sample, compact(x)];
    } else {
      // Reservoir sampling (Vitter's algorithm R): the n-th value replaces a random slot with probability size / n.
      const step = nextRandom(rng);
      rng = step.state;
      const slot = Math.floor(step.value * n);
      if (slot < sampleSize) {
        sample = [...sample];
        sample[slot] = compact(x);
      }
    }
    return { stream: { kind: 'numeric', n, sum: stream.sum + x, bins, sample }, rng };
  }
  throw mismatch();
}

const mismatch = (): ConflictError =>
  new ConflictError('the window state was opened for a different baseline; open a new window');

/**
 * Adds one observation to the window and returns the new state (the input is not changed). Values for names the
 * baseline does not know, and non-finite values, are ignored; throws ConflictError if the state belongs to another
 * baseline (the champion changed: open a new window).
 */
export function evolve(input: {
  state: WindowState;
  baseline: DriftBaseline;
  observation: Observation;
  config: Pick<DriftConfig, 'sampleSize'>;
}): WindowState {
  const { state, baseline, observation, config } = input;
  const empty = windowCount(state) === 0;
  const next: WindowState = {
    ...state,
    start: empty ? observation.at : state.start,
    last: empty ? observation.at : Math.max(state.last, observation.at),
  };
  let rng = state.rng;
  const { unit, source } = observation;
  if (unit !== undefined) {
    const seen = state.units[source];
    next.units = { ...state.units, [source]: { ...seen, [unit]: (seen[unit] ?? 0) + 1 } };
  }
  if (source === 'features') {
    next.featureEvents = state.featureEvents + 1;
    const features = { ...state.features };
    for (const [name, x] of Object.entries(observation.values)) {
      const b = baseline.features[name];
      const stream = features[name];
      if (!b || !stream || !Number.isFinite(x)) continue;
      const added = addValue({ stream, baseline: b, x, rng, sampleSize: config.sampleSize });
      features[name] = added.stream;
      rng = added.rng;
    }
    next.features = features;
  } else {
    next.predictionEvents = state.predictionEvents + 1;
    const p = baseline.prediction;
    const x = p ? observation.values[p.name] : undefined;
    if (p && state.prediction && x !== undefined && Number.isFinite(x)) {
      const added = addValue({
        stream: state.prediction,
        baseline: p.baseline,
        x,
        rng,
        sampleSize: config.sampleSize,
      });
      next.prediction = added.stream;
      rng = added.rng;
    }
  }
  next.rng = rng;
  return next;
}

/**
 * True when the window should close: it holds windowSize observations, or it is windowMs old and holds at least
 * minWindowSize (a quiet window stays open until it has enough to say something).
 */
export function isWindowDue(input: {
  state: WindowState;
  now: number;
  config: Pick<DriftConfig, 'windowSize' | 'windowMs' | 'minWindowSize'>;
}): boolean {
  const { state, now, config } = input;
  const n = windowCount(state);
  if (n >= config.windowSize) return true;
  return n >= config.minWindowSize && now - state.start >= config.windowMs;
}

/**
 * Closes the window: measures every stream against the baseline (WindowReport) and returns the next, empty window,
 * which keeps the generator state and counts the sequence on.
 */
export function closeWindow(input: {
  state: WindowState;
  baseline: DriftBaseline;
  config: DriftConfig;
  now: number;
}): { report: WindowReport; next: WindowState } {
  const { state, baseline, config, now } = input;
  const clusterSize = {
    features: meanClusterSize(Object.values(state.units.features), state.featureEvents),
    prediction: meanClusterSize(Object.values(state.units.prediction), state.predictionEvents),
  };
  const features: WindowReport['features'] = {};
  for (const [name, b] of Object.entries(baseline.features)) {
    const stream = state.features[name] ?? emptyStream(b);
    features[name] = measureStream({ stream, baseline: b, config, clusterSize: clusterSize.features });
  }
  const p = baseline.prediction;
  const report: WindowReport = {
    sequence: state.sequence,
    window: { start: state.start, end: Math.max(now, state.last), count: windowCount(state) },
    features,
    prediction:
      p && state.prediction
        ? {
            name: p.name,
            statistics: measureStream({
              stream: state.prediction,
              baseline: p.baseline,
              config,
              clusterSize: clusterSize.prediction,
            }),
          }
        : null,
  };
  const next = openWindow({ baseline, at: now, seed: state.rng, sequence: state.sequence + 1 });
  return { report, next };
}
