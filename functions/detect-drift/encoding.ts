// A shared window as a store hash: each observation is a handful of HINCRBY fields, read back as the window's counts.
import {
  categoryKey,
  type DriftBaseline,
  emptyWindow,
  type StreamBaseline,
  type WindowCounts,
  windowValue,
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
 * The hash is the window's counts (shared/drift WindowCounts, read back by windowCountsOf): order is lost, which no
 * statistic of the window depends on. The per-customer counts give the tests' design effect (clustering.ts).
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

/** A value's key: categorical codes as the baseline keys them, numbers as the window counts them (windowValue). */
export function valueKey(baseline: StreamBaseline, x: number): string {
  return baseline.kind === 'categorical' ? categoryKey(x) : String(windowValue(baseline, x));
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

/** A stored count, or 0 for anything that is not a positive integer. */
const counter = (stored: number | undefined): number =>
  stored !== undefined && Number.isSafeInteger(stored) && stored > 0 ? stored : 0;

/** Adds a value field's count to `into`; ignores fields that are not a count and a number. */
function addValue(into: Map<number, number>, key: string, stored: number): void {
  const x = Number(key);
  const count = counter(stored);
  if (key === '' || !Number.isFinite(x) || count === 0) return;
  into.set(x, (into.get(x) ?? 0) + count);
}

/**
 * The window's counts read back from its hash: each stream's values with their counts, the event counters and the
 * per-customer counts, as they were stored (no per-observation work). `start` and `sequence` come from the window's
 * pointer. Fields that are not counts of numbers are ignored.
 */
export function windowCountsOf(input: {
  fields: Readonly<Record<string, number>>;
  start: number;
  sequence: number;
}): WindowCounts {
  const counts = emptyWindow({ start: input.start, sequence: input.sequence });
  const { fields } = input;
  for (const [field, stored] of Object.entries(fields)) {
    if (field.startsWith(UNIT_PREFIX.features)) {
      const n = counter(stored);
      if (n > 0) counts.units.features.set(field.slice(UNIT_PREFIX.features.length), n);
    } else if (field.startsWith(UNIT_PREFIX.prediction)) {
      const n = counter(stored);
      if (n > 0) counts.units.prediction.set(field.slice(UNIT_PREFIX.prediction.length), n);
    } else if (field.startsWith(PREDICTION_PREFIX)) {
      addValue(counts.prediction, field.slice(PREDICTION_PREFIX.length), stored);
    } else if (field.startsWith(FEATURE_PREFIX)) {
      const split = field.lastIndexOf(':');
      const name = field.slice(FEATURE_PREFIX.length, split);
      let values = counts.features.get(name);
      if (!values) {
        values = new Map();
        counts.features.set(name, values);
      }
      addValue(values, field.slice(split + 1), stored);
    }
  }
  counts.featureEvents = counter(fields[Fields.featureEvents]);
  counts.predictionEvents = counter(fields[Fields.predictionEvents]);
  return counts;
}

/** A 32-bit seed from a string (FNV-1a), so a window's sample is the same whichever replica closes it. */
export function seedOf(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
