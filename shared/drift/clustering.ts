// Observations clustered by unit (one customer's transactions): how alike a unit's values are, and what that costs a test.
import { sorted } from './stats.ts';

/*
 * Why: a window holds one observation per transaction, and a customer who pays four times a day brings four
 * observations of nearly the same 30-day aggregates (and the same segment) into one window. χ² and KS count them as
 * four independent draws, so on stationary data they reject far more often than α (on the demo source: 9–13 % of
 * 200-transaction windows for the customer-level features instead of 1 %; with the same transactions shuffled, 1 %).
 * The training rows behind a baseline are clustered the same way (about 37 rows per customer on the demo), so they
 * are worth far fewer independent rows than their count.
 * Kish's design effect D = 1 + (m̄ − 1)·ρ measures the loss: m̄ is the mean number of observations of an
 * observation's own unit (size-biased), ρ how alike two observations of one unit are. The tests then count n / D
 * effective observations on each side (for χ², the first-order Rao–Scott correction).
 */

/**
 * ρ of a numeric stream: the Pearson correlation between the mid-rank of each value and the mid-rank of the same
 * unit's previous value, over rows in time order (consecutive values are the most alike a window can hold, so the
 * estimate errs on the safe side). Ranks, like KS, ignore the scale. 0 when no unit repeats or the values are
 * constant; never below 0. Non-finite values are skipped.
 */
export function numericUnitCorrelation(values: readonly number[], units: readonly string[]): number {
  const ranks = midRanks(values);
  const previous = new Map<string, number>();
  const xs: number[] = [];
  const ys: number[] = [];
  ranks.forEach((r, i) => {
    const unit = units[i];
    if (unit === undefined || r === null) return;
    const before = previous.get(unit);
    if (before !== undefined) {
      xs.push(before);
      ys.push(r);
    }
    previous.set(unit, r);
  });
  return Math.max(0, pearson(xs, ys));
}

/**
 * ρ of a categorical stream given each row's category key (null: no value): how much more often a unit's
 * consecutive values agree than two values drawn at random do, (P(same) − Σ pₖ²) / (1 − Σ pₖ²) (Cohen's κ for a
 * unit against itself), over rows in time order. 0 when no unit repeats or there is one category; never below 0.
 */
export function categoricalUnitCorrelation(
  keys: readonly (string | null)[],
  units: readonly string[],
): number {
  const tally = new Map<string, number>();
  let n = 0;
  for (const key of keys) {
    if (key === null) continue;
    tally.set(key, (tally.get(key) ?? 0) + 1);
    n++;
  }
  let chance = 0;
  for (const c of tally.values()) chance += (c / n) ** 2;
  if (n === 0 || chance >= 1) return 0;
  const previous = new Map<string, string>();
  let pairs = 0;
  let same = 0;
  keys.forEach((key, i) => {
    const unit = units[i];
    if (unit === undefined || key === null) return;
    const before = previous.get(unit);
    if (before !== undefined) {
      pairs++;
      if (before === key) same++;
    }
    previous.set(unit, key);
  });
  if (pairs === 0) return 0;
  return Math.min(1, Math.max(0, (same / pairs - chance) / (1 - chance)));
}

/**
 * How many independent rows the training rows of one stream are worth: n / (1 + (m̄ − 1)·ρ_I), where m̄ is the
 * size-biased rows per unit and ρ_I the one-way ANOVA intraclass correlation over the whole training span (on
 * mid-ranks for numeric values; pooled over the category indicators for categorical keys). `values` are mid-ranks
 * or category keys; null entries (no value) are skipped.
 */
export function effectiveCount(input: {
  values: readonly (number | string | null)[];
  units: readonly string[];
}): number {
  const groups = new Map<string, (number | string)[]>();
  const all: (number | string)[] = [];
  input.values.forEach((v, i) => {
    const unit = input.units[i];
    if (v === null || unit === undefined) return;
    let g = groups.get(unit);
    if (!g) {
      g = [];
      groups.set(unit, g);
    }
    g.push(v);
    all.push(v);
  });
  const n = all.length;
  const k = groups.size;
  if (n === 0) return 0;
  if (k < 2 || k === n) return n;
  const ssTotal = sumOfSquares(all);
  let ssWithin = 0;
  let squares = 0;
  for (const g of groups.values()) {
    ssWithin += sumOfSquares(g);
    squares += g.length * g.length;
  }
  const msBetween = (ssTotal - ssWithin) / (k - 1);
  const msWithin = ssWithin / (n - k);
  const m0 = (n - squares / n) / (k - 1);
  const denominator = msBetween + (m0 - 1) * msWithin;
  const icc = denominator > 0 ? (msBetween - msWithin) / denominator : 0;
  return n / designEffect(squares / n, icc);
}

/** Σ (x − x̄)² of numbers; for category keys, the same summed over the categories' 0/1 indicators. */
function sumOfSquares(values: readonly (number | string)[]): number {
  const n = values.length;
  if (n === 0) return 0;
  if (typeof values[0] === 'number') {
    const numbers = values as readonly number[];
    const mean = numbers.reduce((s, x) => s + x, 0) / n;
    return numbers.reduce((s, x) => s + (x - mean) ** 2, 0);
  }
  const tally = new Map<number | string, number>();
  for (const v of values) tally.set(v, (tally.get(v) ?? 0) + 1);
  let agree = 0;
  for (const c of tally.values()) agree += c * c;
  return n - agree / n;
}

/**
 * m̄ = Σ mᵤ² / n: the mean, over a window's n observations, of how many observations its own unit has there
 * (1 when every unit appears once). Observations without a unit (`n` above the counts' total) count as units of
 * their own.
 */
export function meanClusterSize(counts: Iterable<number>, n: number): number {
  let total = 0;
  let squares = 0;
  for (const m of counts) {
    total += m;
    squares += m * m;
  }
  if (n <= 0) return 1;
  return Math.max(1, (squares + Math.max(0, n - total)) / n);
}

/**
 * m̄ within a uniform random subsample of `s` of the `n` observations (the sample KS runs on): each other
 * observation of a unit is in the sample with probability (s − 1) / (n − 1).
 */
export function sampledClusterSize(clusterSize: number, n: number, s: number): number {
  if (n <= 1 || s >= n) return clusterSize;
  return 1 + ((clusterSize - 1) * Math.max(0, s - 1)) / (n - 1);
}

/** Kish's design effect 1 + (m̄ − 1)·ρ: how many clustered observations are worth one independent one. */
export function designEffect(clusterSize: number, correlation: number): number {
  return 1 + Math.max(0, clusterSize - 1) * Math.min(1, Math.max(0, correlation));
}

/** Each value's mid-rank among the finite values, scaled to [0, 1] (ties share their mean rank); null if not finite. */
export function midRanks(values: readonly number[]): (number | null)[] {
  const data = sorted(values.filter((x) => Number.isFinite(x)));
  const n = data.length;
  return values.map((x) =>
    Number.isFinite(x) && n > 0 ? (countBelow(data, x, false) + countBelow(data, x, true)) / (2 * n) : null,
  );
}

/** How many values of ascending `data` are below x (`inclusive`: at or below x). */
function countBelow(data: readonly number[], x: number, inclusive: boolean): number {
  let lo = 0;
  let hi = data.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const v = data[mid] ?? 0;
    if (v < x || (inclusive && v === x)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function pearson(xs: readonly number[], ys: readonly number[]): number {
  const n = xs.length;
  if (n < 2) return 0;
  const mx = xs.reduce((s, x) => s + x, 0) / n;
  const my = ys.reduce((s, y) => s + y, 0) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = (xs[i] ?? 0) - mx;
    const dy = (ys[i] ?? 0) - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  return sxx > 0 && syy > 0 ? sxy / Math.sqrt(sxx * syy) : 0;
}
