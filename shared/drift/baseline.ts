// The drift baseline: a compact summary of a model's training data, stored with each model version.
import { z } from 'zod';
import { InvalidInputError } from '../errors/index.ts';
import {
  categoricalUnitCorrelation,
  effectiveCount,
  midRanks,
  numericUnitCorrelation,
} from './clustering.ts';
import { sorted } from './stats.ts';

export const FeatureKindSchema = z.enum(['numeric', 'categorical']);
export type FeatureKind = z.infer<typeof FeatureKindSchema>;

const count = z.number().int().nonnegative();
const proportion = z.number().min(0).max(1);
/**
 * ρ: how alike two consecutive observations of one unit (a customer) were in training (clustering.ts). A window
 * holding several observations of a unit tests on fewer effective observations by the design effect
 * 1 + (m̄ − 1)·ρ. Absent (baselines built without units, or before it existed) reads as 0: independent.
 */
const unitCorrelation = proportion.optional();
/**
 * How many independent rows the training rows are worth once their clustering by unit is counted (clustering.ts):
 * the baseline's size in the drift tests. Absent reads as `count`.
 */
const effectiveRows = z.number().positive().optional();

/**
 * A numeric feature: right-closed bins (−∞, e₀], (e₀, e₁], …, (eₖ, ∞) over de-duplicated quantile edges, the
 * training proportion in each, and a quantile sketch (values at probabilities (i + ½) / Q) that stands in for the
 * training sample when Wasserstein and KS are computed.
 */
export const NumericBaselineSchema = z.object({
  kind: z.literal('numeric'),
  count: count.min(1),
  mean: z.number(),
  std: z.number().nonnegative(),
  min: z.number(),
  max: z.number(),
  edges: z.array(z.number()),
  proportions: z.array(proportion).min(1),
  quantiles: z.array(z.number()).min(1),
  unitCorrelation,
  effectiveCount: effectiveRows,
});
export type NumericBaseline = z.infer<typeof NumericBaselineSchema>;

/**
 * A categorical feature (a flag or a code carried as a number): the most frequent categories, keyed by the value's
 * decimal string, their proportions, and `other` for everything rarer or unseen.
 */
export const CategoricalBaselineSchema = z.object({
  kind: z.literal('categorical'),
  count: count.min(1),
  categories: z.array(z.string()),
  proportions: z.array(proportion),
  other: proportion,
  unitCorrelation,
  effectiveCount: effectiveRows,
});
export type CategoricalBaseline = z.infer<typeof CategoricalBaselineSchema>;

export const StreamBaselineSchema = z.discriminatedUnion('kind', [
  NumericBaselineSchema,
  CategoricalBaselineSchema,
]);
export type StreamBaseline = z.infer<typeof StreamBaselineSchema>;

/** Everything detect-drift compares a window with: each input feature, and the model's prediction. */
export const DriftBaselineSchema = z.object({
  version: z.literal(1),
  rows: count,
  features: z.record(z.string(), StreamBaselineSchema),
  prediction: z.object({ name: z.string().min(1), baseline: StreamBaselineSchema }).optional(),
});
export type DriftBaseline = z.infer<typeof DriftBaselineSchema>;

export const BaselineOptionsSchema = z.object({
  /** Quantile bins for PSI. Ten deciles is the convention PSI's 0.1 / 0.2 / 0.25 rules of thumb were set on. */
  bins: z.number().int().min(2).max(100).default(10),
  /** Quantile sketch size. 100 points bound the sketch's own CDF error by 0.5 % and cost about 2 KB a feature. */
  quantiles: z.number().int().min(10).max(1000).default(100),
  /** Categories kept per categorical feature; the rest are pooled into `other`. */
  maxCategories: z.number().int().min(1).max(1000).default(50),
});
export type BaselineOptions = z.infer<typeof BaselineOptionsSchema>;

/** The value at probability p of sorted data by the inverted empirical CDF, so discrete data keep real values. */
function quantileOf(sortedValues: readonly number[], p: number): number {
  const index = Math.min(sortedValues.length - 1, Math.max(0, Math.ceil(sortedValues.length * p) - 1));
  return sortedValues[index] ?? Number.NaN;
}

/** Index of the right-closed bin holding x: the number of edges strictly below x. */
export function binIndex(edges: readonly number[], x: number): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((edges[mid] ?? 0) < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Summarises one numeric column; `values` must be finite and non-empty. */
export function numericBaseline(values: readonly number[], options: BaselineOptions): NumericBaseline {
  const data = sorted(values);
  const n = data.length;
  const mean = data.reduce((s, x) => s + x, 0) / n;
  const variance = data.reduce((s, x) => s + (x - mean) ** 2, 0) / n;
  const edges: number[] = [];
  for (let j = 1; j < options.bins; j++) {
    const edge = quantileOf(data, j / options.bins);
    if (edges.length === 0 || edge > (edges[edges.length - 1] ?? Number.NEGATIVE_INFINITY)) edges.push(edge);
  }
  const counts = new Array<number>(edges.length + 1).fill(0);
  for (const x of data) {
    const b = binIndex(edges, x);
    counts[b] = (counts[b] ?? 0) + 1;
  }
  const quantiles: number[] = [];
  for (let i = 0; i < options.quantiles; i++) quantiles.push(quantileOf(data, (i + 0.5) / options.quantiles));
  return {
    kind: 'numeric',
    count: n,
    mean,
    std: Math.sqrt(variance),
    min: data[0] ?? mean,
    max: data[n - 1] ?? mean,
    edges,
    proportions: counts.map((c) => c / n),
    quantiles,
  };
}

/** The category key of a numeric code: its shortest decimal string (so 1 and 1.0 are the same category). */
export function categoryKey(x: number): string {
  return String(x);
}

/** Summarises one categorical column; `values` must be non-empty. */
export function categoricalBaseline(
  values: readonly number[],
  options: BaselineOptions,
): CategoricalBaseline {
  const tally = new Map<string, number>();
  for (const x of values) {
    const key = categoryKey(x);
    tally.set(key, (tally.get(key) ?? 0) + 1);
  }
  const ranked = [...tally.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const kept = ranked.slice(0, options.maxCategories);
  const n = values.length;
  const keptTotal = kept.reduce((s, [, c]) => s + c, 0);
  return {
    kind: 'categorical',
    count: n,
    categories: kept.map(([key]) => key),
    proportions: kept.map(([, c]) => c / n),
    other: (n - keptTotal) / n,
  };
}

/**
 * Summarises a column of either kind, skipping non-finite values; `field` names it in errors. With `units` (the
 * unit of each value, values in time order) it also records the unit correlation ρ and the effective count.
 */
export function streamBaseline(input: {
  field: string;
  kind: FeatureKind;
  values: readonly number[];
  options: BaselineOptions;
  units?: readonly string[] | undefined;
}): StreamBaseline {
  const { values, units } = input;
  const finite = values.filter((x) => Number.isFinite(x));
  if (finite.length === 0)
    throw new InvalidInputError(input.field, 'has no finite values to build a baseline from');
  if (input.kind === 'numeric') {
    const b = numericBaseline(finite, input.options);
    if (!units) return b;
    return {
      ...b,
      unitCorrelation: numericUnitCorrelation(values, units),
      effectiveCount: effectiveCount({ values: midRanks(values), units }),
    };
  }
  const b = categoricalBaseline(finite, input.options);
  if (!units) return b;
  const keys = values.map((x) => (Number.isFinite(x) ? categoryKey(x) : null));
  return {
    ...b,
    unitCorrelation: categoricalUnitCorrelation(keys, units),
    effectiveCount: effectiveCount({ values: keys, units }),
  };
}

/**
 * Builds the baseline from training data given as named columns and rows (one array of values per row), with a
 * kind per column (numeric unless stated) and, optionally, the model's predictions on the same data.
 * The rows must be the population the live window will hold (detect-drift: one row per transaction). With `units`
 * (each row's customer, rows in time order) every stream also records how alike a customer's consecutive values
 * are (unitCorrelation) and how many independent rows its training rows are worth (effectiveCount), which the
 * tests need when customers appear several times in a window and many times in training.
 * Kept small on purpose: it is stored with every model version (≈ 2 KB per numeric feature with the defaults).
 */
export function buildBaseline(input: {
  columns: readonly string[];
  rows: readonly (readonly number[])[];
  kinds?: Readonly<Record<string, FeatureKind>>;
  prediction?: { name: string; kind: FeatureKind; values: readonly number[] };
  units?: readonly string[];
  options?: Partial<BaselineOptions>;
}): DriftBaseline {
  const options = BaselineOptionsSchema.parse(input.options ?? {});
  const { columns, rows } = input;
  if (rows.length === 0) throw new InvalidInputError('rows', 'a baseline needs at least one training row');
  if (new Set(columns).size !== columns.length)
    throw new InvalidInputError('columns', 'column names must be unique');
  for (const name of Object.keys(input.kinds ?? {})) {
    if (!columns.includes(name)) throw new InvalidInputError(`kinds.${name}`, 'names no column');
  }
  rows.forEach((row, i) => {
    if (row.length !== columns.length) {
      throw new InvalidInputError(`rows[${i}]`, `has ${row.length} values, expected ${columns.length}`);
    }
  });
  const { units } = input;
  if (units && units.length !== rows.length)
    throw new InvalidInputError('units', `has ${units.length} units for ${rows.length} rows`);
  const features: Record<string, StreamBaseline> = {};
  columns.forEach((name, c) => {
    const kind = input.kinds?.[name] ?? 'numeric';
    const values = rows.map((row) => row[c] ?? Number.NaN);
    features[name] = streamBaseline({ field: `columns.${name}`, kind, values, options, units });
  });
  const baseline: DriftBaseline = { version: 1, rows: rows.length, features };
  if (input.prediction) {
    const { name, kind, values } = input.prediction;
    if (values.length !== rows.length) {
      throw new InvalidInputError('prediction.values', `has ${values.length} values for ${rows.length} rows`);
    }
    baseline.prediction = {
      name,
      baseline: streamBaseline({ field: 'prediction.values', kind, values, options, units }),
    };
  }
  return baseline;
}
