// A shared window as a store hash: each observation is a handful of HINCRBY fields, and the closer folds them back.
import {
  categoryKey,
  type DriftBaseline,
  type DriftConfig,
  evolve,
  openWindow,
  type StreamBaseline,
  type WindowState,
} from '../../shared/drift/index.ts';

/**
 * Field layout of one window's hash (every value an integer count):
 * | field          | counts                                                                        |
 * |----------------|-------------------------------------------------------------------------------|
 * | `#f`           | features.updated events pushed into the window                                |
 * | `#p`           | score.computed events pushed into the window                                  |
 * | `#open`        | > 0 once the window was opened through its pointer; 0 means a stale push      |
 * | `f:<name>:<x>` | observations of feature `<name>` with value `<x>` (7 significant digits)      |
 * | `p:<x>`        | observations of the prediction with value `<x>`                               |
 * | `u:f:<id>`     | features.updated events of customer `<id>` (`u:p:<id>`: score.computed)        |
 * The hash is a multiset of values per stream: order is lost, which no statistic of the window depends on. The
 * per-customer counts give the tests' design effect (shared/drift/clustering.ts).
 */
export const Fields = {
  featureEvents: '#f',
  predictionEvents: '#p',
  opened: '#open',
} as const;

const FEATURE_PREFIX = 'f:';
const PREDICTION_PREFIX = 'p:';
const UNIT_PREFIX = { features: 'u:f:', prediction: 'u:p:' } as const;

/** Which stream an event feeds. */
export type ObservationSource = 'features' | 'prediction';

/** A value's key: categorical codes as the baseline keys them, numbers with 7 significant digits (as the sample). */
export function valueKey(baseline: StreamBaseline, x: number): string {
  if (baseline.kind === 'categorical') return categoryKey(x);
  // Integers below 10⁷ already have at most 7 digits (the common case: counts, seconds, flags).
  if (Number.isInteger(x) && x < 1e7 && x > -1e7) return String(x);
  return String(Number(x.toPrecision(7)));
}

/**
 * The HINCRBY increments for one event, or null when the baseline watches none of its values. Both event
 * counters and the `#open` marker are always in the increments (the latter two by 0) so the reply carries them;
 * `unit` (the event's customer) adds one to that customer's count for the event's source.
 */
export function incrementsOf(input: {
  baseline: DriftBaseline;
  source: ObservationSource;
  values: Readonly<Record<string, number>>;
  unit?: string;
}): Record<string, number> | null {
  const { baseline, source, values, unit } = input;
  const fields: Record<string, number> = {};
  let observed = 0;
  if (source === 'features') {
    for (const [name, x] of Object.entries(values)) {
      const b = baseline.features[name];
      if (!b || !Number.isFinite(x)) continue;
      const field = `${FEATURE_PREFIX}${name}:${valueKey(b, x)}`;
      fields[field] = (fields[field] ?? 0) + 1;
      observed++;
    }
  } else {
    const p = baseline.prediction;
    const x = p ? values[p.name] : undefined;
    if (p && x !== undefined && Number.isFinite(x)) {
      fields[`${PREDICTION_PREFIX}${valueKey(p.baseline, x)}`] = 1;
      observed++;
    }
  }
  if (observed === 0) return null;
  if (unit !== undefined) fields[`${UNIT_PREFIX[source]}${unit}`] = 1;
  fields[Fields.featureEvents] = source === 'features' ? 1 : 0;
  fields[Fields.predictionEvents] = source === 'prediction' ? 1 : 0;
  fields[Fields.opened] = 0;
  return fields;
}

/** Adds `count` copies of the value in `key` to `into`; ignores fields that are not a count and a number. */
function addValues(into: number[], key: string, raw: string): void {
  const x = Number(key);
  const count = Number(raw);
  if (key === '' || !Number.isFinite(x) || !Number.isSafeInteger(count) || count <= 0) return;
  for (let i = 0; i < count; i++) into.push(x);
}

const counter = (raw: string | undefined): number => {
  const n = Number(raw ?? '0');
  return Number.isSafeInteger(n) && n > 0 ? n : 0;
};

/** Each stream's values (ascending), the event counters and the per-customer counts read back from a window's hash. */
export function parseWindowHash(fields: Readonly<Record<string, string>>): {
  features: Map<string, number[]>;
  prediction: number[];
  featureEvents: number;
  predictionEvents: number;
  units: WindowState['units'];
} {
  const features = new Map<string, number[]>();
  const prediction: number[] = [];
  const units: WindowState['units'] = { features: {}, prediction: {} };
  for (const [field, raw] of Object.entries(fields)) {
    if (field.startsWith(UNIT_PREFIX.features)) {
      const n = counter(raw);
      if (n > 0) units.features[field.slice(UNIT_PREFIX.features.length)] = n;
    } else if (field.startsWith(UNIT_PREFIX.prediction)) {
      const n = counter(raw);
      if (n > 0) units.prediction[field.slice(UNIT_PREFIX.prediction.length)] = n;
    } else if (field.startsWith(PREDICTION_PREFIX)) {
      addValues(prediction, field.slice(PREDICTION_PREFIX.length), raw);
    } else if (field.startsWith(FEATURE_PREFIX)) {
      const split = field.lastIndexOf(':');
      const name = field.slice(FEATURE_PREFIX.length, split);
      let values = features.get(name);
      if (!values) {
        values = [];
        features.set(name, values);
      }
      addValues(values, field.slice(split + 1), raw);
    }
  }
  for (const values of features.values()) values.sort((a, b) => a - b);
  prediction.sort((a, b) => a - b);
  return {
    features,
    prediction,
    featureEvents: counter(fields[Fields.featureEvents]),
    predictionEvents: counter(fields[Fields.predictionEvents]),
    units,
  };
}

/**
 * Rebuilds the drift core's window state from a window's hash by folding every stored value through `evolve`
 * (values in ascending order per stream; reservoir sampling keeps a uniform sample whatever the order), then sets
 * the event counters from the hash's counters. `seed` drives the reservoir; `start` is the window's opening time.
 */
export function foldWindow(input: {
  baseline: DriftBaseline;
  fields: Readonly<Record<string, string>>;
  start: number;
  sequence: number;
  seed: number;
  config: Pick<DriftConfig, 'sampleSize'>;
}): WindowState {
  const { baseline, start, config } = input;
  const parsed = parseWindowHash(input.fields);
  let state = openWindow({ baseline, at: start, seed: input.seed, sequence: input.sequence });
  const rows = Math.max(0, ...[...parsed.features.values()].map((v) => v.length));
  for (let i = 0; i < rows; i++) {
    const values: Record<string, number> = {};
    for (const [name, column] of parsed.features) {
      const x = column[i];
      if (x !== undefined) values[name] = x;
    }
    state = evolve({ state, baseline, observation: { source: 'features', values, at: start }, config });
  }
  const name = baseline.prediction?.name;
  if (name !== undefined) {
    for (const x of parsed.prediction) {
      state = evolve({
        state,
        baseline,
        observation: { source: 'prediction', values: { [name]: x }, at: start },
        config,
      });
    }
  }
  return {
    ...state,
    featureEvents: parsed.featureEvents,
    predictionEvents: parsed.predictionEvents,
    units: parsed.units,
  };
}

/** A 32-bit seed from a string (FNV-1a), so a window's reservoir is the same whichever replica closes it. */
export function seedOf(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
