// Drift statistics: PSI, Wasserstein-1, two-sample KS, χ² goodness of fit and Jensen–Shannon distance.
import { kolmogorovSmirnovSf } from './kolmogorov.ts';
import { chiSquareSf } from './special.ts';

/**
 * Proportions below this are replaced by it before PSI's logarithm. 1e-4 is the customary floor: an empty bin
 * then contributes (p − 1e-4)·ln(p / 1e-4) instead of infinity, about 0.92 for a 10 % bin, so a bin that empties
 * completely still drives PSI far beyond the 0.2 threshold without making it infinite.
 */
export const PSI_EPSILON = 1e-4;

const byNumber = (a: number, b: number): number => a - b;

/** Sorted copy of the values. */
export function sorted(values: readonly number[]): number[] {
  return [...values].sort(byNumber);
}

/**
 * Population stability index Σ (aᵢ − eᵢ)·ln(aᵢ / eᵢ) between baseline proportions eᵢ and the proportions aᵢ
 * of `actualCounts`; both are floored at `epsilon` (see PSI_EPSILON) so empty bins stay finite.
 */
export function psi(
  expectedProportions: readonly number[],
  actualCounts: readonly number[],
  epsilon = PSI_EPSILON,
): number {
  if (expectedProportions.length !== actualCounts.length) {
    throw new RangeError(
      `psi: ${expectedProportions.length} expected bins but ${actualCounts.length} counts`,
    );
  }
  const total = actualCounts.reduce((s, c) => s + c, 0);
  if (total <= 0) return 0;
  let sum = 0;
  for (let i = 0; i < actualCounts.length; i++) {
    const e = Math.max(expectedProportions[i] ?? 0, epsilon);
    const a = Math.max((actualCounts[i] ?? 0) / total, epsilon);
    sum += (a - e) * Math.log(a / e);
  }
  return sum;
}

/** Count of sorted values ≤ x (numpy's searchsorted with side='right'). */
function countAtMost(sortedValues: readonly number[], x: number): number {
  let lo = 0;
  let hi = sortedValues.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sortedValues[mid] ?? 0) <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * First Wasserstein distance between two empirical distributions, ∫ |U(x) − V(x)| dx
 * (scipy.stats.wasserstein_distance with unit weights). A quantile sketch can stand in for either sample.
 */
export function wasserstein1(u: readonly number[], v: readonly number[]): number {
  if (u.length === 0 || v.length === 0) throw new RangeError('wasserstein1: both samples must be non-empty');
  const su = sorted(u);
  const sv = sorted(v);
  const all = sorted([...su, ...sv]);
  let sum = 0;
  for (let i = 0; i < all.length - 1; i++) {
    const x = all[i] ?? 0;
    const delta = (all[i + 1] ?? 0) - x;
    if (delta === 0) continue;
    sum += Math.abs(countAtMost(su, x) / su.length - countAtMost(sv, x) / sv.length) * delta;
  }
  return sum;
}

/** Largest gap between the empirical CDFs of two samples (both sorted ascending). */
export function ksStatisticSorted(a: readonly number[], b: readonly number[]): number {
  let d = 0;
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const x = Math.min(a[i] ?? Number.POSITIVE_INFINITY, b[j] ?? Number.POSITIVE_INFINITY);
    while (i < a.length && (a[i] ?? 0) <= x) i++;
    while (j < b.length && (b[j] ?? 0) <= x) j++;
    d = Math.max(d, Math.abs(i / a.length - j / b.length));
  }
  return d;
}

/** Rounds half to even, as numpy.round does. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Two-sided p-value of a two-sample KS statistic by scipy's method='asymp': the one-sample distribution
 * kstwo(round(n₁n₂ / (n₁ + n₂))). With n₂ the size of the training set behind a baseline sketch this is the
 * p-value of comparing a live sample with the full training data.
 */
export function ksPValue(input: { statistic: number; n1: number; n2: number }): number {
  const { statistic, n1, n2 } = input;
  const en = roundHalfEven((n1 * n2) / (n1 + n2));
  return Math.min(1, Math.max(0, kolmogorovSmirnovSf(Math.max(1, en), statistic)));
}

export interface TestResult {
  statistic: number;
  pvalue: number;
}

/**
 * Two-sample Kolmogorov–Smirnov test, two-sided. The statistic equals scipy.stats.ks_2samp's; the p-value is
 * scipy's method='asymp' (scipy's default 'auto' switches to an exact count when both samples have ≤ 10 000
 * values, which differs for small samples).
 */
export function ks2samp(a: readonly number[], b: readonly number[]): TestResult {
  if (a.length === 0 || b.length === 0) throw new RangeError('ks2samp: both samples must be non-empty');
  const statistic = ksStatisticSorted(sorted(a), sorted(b));
  return { statistic, pvalue: ksPValue({ statistic, n1: a.length, n2: b.length }) };
}

export interface ChiSquareResult extends TestResult {
  df: number;
}

/**
 * Pearson χ² goodness of fit of observed counts against expected proportions (scaled to the observed total),
 * with k − 1 degrees of freedom: scipy.stats.chisquare(observed, total · proportions).
 * A cell expected at zero but observed is infinitely unlikely: statistic ∞, p-value 0.
 */
export function chiSquare(
  observed: readonly number[],
  expectedProportions: readonly number[],
): ChiSquareResult {
  if (observed.length !== expectedProportions.length) {
    throw new RangeError(
      `chiSquare: ${observed.length} counts but ${expectedProportions.length} proportions`,
    );
  }
  const total = observed.reduce((s, c) => s + c, 0);
  const norm = expectedProportions.reduce((s, p) => s + p, 0);
  let statistic = 0;
  for (let i = 0; i < observed.length; i++) {
    const e = (total * (expectedProportions[i] ?? 0)) / norm;
    const diff = (observed[i] ?? 0) - e;
    statistic += e === 0 ? (diff === 0 ? 0 : Number.POSITIVE_INFINITY) : (diff * diff) / e;
  }
  const df = observed.length - 1;
  return { statistic, df, pvalue: df > 0 ? chiSquareSf(statistic, df) : 1 };
}

/** x·ln(x / y) with the conventions of scipy.special.rel_entr. */
function relativeEntropy(x: number, y: number): number {
  if (x === 0 && y >= 0) return 0;
  if (x > 0 && y > 0) return x * Math.log(x / y);
  return Number.POSITIVE_INFINITY;
}

/**
 * Jensen–Shannon distance (the square root of the divergence) in base 2, so it lies in [0, 1]; both inputs are
 * normalised first, as scipy.spatial.distance.jensenshannon(p, q, base=2) does.
 */
export function jensenShannon(p: readonly number[], q: readonly number[]): number {
  if (p.length !== q.length)
    throw new RangeError(`jensenShannon: lengths ${p.length} and ${q.length} differ`);
  const sp = p.reduce((s, x) => s + x, 0);
  const sq = q.reduce((s, x) => s + x, 0);
  let left = 0;
  let right = 0;
  for (let i = 0; i < p.length; i++) {
    const pi = (p[i] ?? 0) / sp;
    const qi = (q[i] ?? 0) / sq;
    const m = (pi + qi) / 2;
    left += relativeEntropy(pi, m);
    right += relativeEntropy(qi, m);
  }
  const divergence = (left + right) / Math.LN2;
  return Math.sqrt(Math.max(0, divergence) / 2);
}
