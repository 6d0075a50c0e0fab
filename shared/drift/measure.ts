// Per-stream drift statistics of a closed window against the baseline, and the window report that carries them.
import { z } from 'zod';
import { ConflictError } from '../errors/index.ts';
import type { CategoricalBaseline, NumericBaseline, StreamBaseline } from './baseline.ts';
import { designEffect, sampledClusterSize } from './clustering.ts';
import type { DriftConfig } from './config.ts';
import { chiSquareSf } from './special.ts';
import { chiSquare, jensenShannon, ksPValue, ksStatisticSorted, psi, sorted, wasserstein1 } from './stats.ts';

const count = z.number().int().nonnegative();
const finite = z.number().finite();
const probability = z.number().min(0).max(1);

/**
 * A numeric stream reduced to what its statistics need (window.ts builds it from the window's counts): how many
 * values, their sum, how many fall in each baseline bin, and a uniform sample of them for Wasserstein and KS.
 */
export interface NumericSummary {
  kind: 'numeric';
  n: number;
  sum: number;
  bins: number[];
  sample: number[];
}

/** A categorical stream reduced to its counts per baseline category, the last slot counting every other value. */
export interface CategoricalSummary {
  kind: 'categorical';
  n: number;
  counts: number[];
}

export type StreamSummary = NumericSummary | CategoricalSummary;

/** Numeric stream: PSI on the baseline bins (all n values); Wasserstein and KS on the sample. */
export const NumericStatisticsSchema = z.object({
  kind: z.literal('numeric'),
  n: count,
  sampleSize: count,
  mean: finite,
  baselineMean: finite,
  psi: finite.nonnegative(),
  wasserstein: finite.nonnegative(),
  /** Wasserstein-1 over the baseline's standard deviation. */
  wassersteinNormalised: finite.nonnegative(),
  ks: probability,
  /** KS p-value for the sample's effective size, sampleSize / designEffect, against the baseline's effectiveCount. */
  ksPValue: probability,
  /** How many of the sample's observations count as one independent draw (clustering.ts); 1 = independent. */
  designEffect: finite.min(1),
});
export type NumericStatistics = z.infer<typeof NumericStatisticsSchema>;

/** Categorical stream: PSI and Jensen–Shannon distance on the category shares, χ² against the baseline. */
export const CategoricalStatisticsSchema = z.object({
  kind: z.literal('categorical'),
  n: count,
  psi: finite.nonnegative(),
  jensenShannon: probability,
  chiSquare: finite.nonnegative(),
  chiSquareDf: count,
  /**
   * p-value of chiSquare / (designEffect + n / the baseline's effectiveCount): the first-order Rao–Scott correction
   * for clustered observations, counting the baseline's own sampling error when it knows its effective size.
   */
  chiSquarePValue: probability,
  /** How many of the window's observations count as one independent draw (clustering.ts); 1 = independent. */
  designEffect: finite.min(1),
  /** Values outside the baseline's categories (rare or never seen in training). */
  other: count,
});
export type CategoricalStatistics = z.infer<typeof CategoricalStatisticsSchema>;

/** Too few observations in this window to test this stream. */
export const InsufficientStatisticsSchema = z.object({
  kind: z.literal('insufficient'),
  n: count,
  required: count,
});
export type InsufficientStatistics = z.infer<typeof InsufficientStatisticsSchema>;

export const StreamStatisticsSchema = z.discriminatedUnion('kind', [
  NumericStatisticsSchema,
  CategoricalStatisticsSchema,
  InsufficientStatisticsSchema,
]);
export type StreamStatistics = z.infer<typeof StreamStatisticsSchema>;

/** The statistics of one closed window, per feature and for the prediction; decide() turns it into a verdict. */
export const WindowReportSchema = z.object({
  sequence: count,
  window: z.object({ start: count, end: count, count }),
  features: z.record(z.string(), StreamStatisticsSchema),
  prediction: z.object({ name: z.string(), statistics: StreamStatisticsSchema }).nullable(),
});
export type WindowReport = z.infer<typeof WindowReportSchema>;

/** Keeps a statistic finite for JSON (an overflowing sum becomes the largest double). */
const bounded = (x: number): number =>
  Number.isNaN(x) ? 0 : Math.max(-Number.MAX_VALUE, Math.min(Number.MAX_VALUE, x));
const clamp01 = (x: number): number => (Number.isNaN(x) ? 1 : Math.min(1, Math.max(0, x)));

function measureNumeric(
  stream: NumericSummary,
  baseline: NumericBaseline,
  config: DriftConfig,
  clusterSize: number,
): NumericStatistics {
  const sample = sorted(stream.sample);
  const effect = designEffect(
    sampledClusterSize(clusterSize, stream.n, sample.length),
    baseline.unitCorrelation ?? 0,
  );
  const wasserstein = wasserstein1(sample, baseline.quantiles);
  // A constant training feature has σ = 0: scale by a tiny σ instead, so any movement reads as a large drift.
  const scale = baseline.std > 0 ? baseline.std : 1e-9 * Math.max(1, Math.abs(baseline.mean));
  const ks = ksStatisticSorted(sample, baseline.quantiles);
  return {
    kind: 'numeric',
    n: stream.n,
    sampleSize: sample.length,
    mean: bounded(stream.sum / stream.n),
    baselineMean: baseline.mean,
    psi: bounded(psi(baseline.proportions, stream.bins, config.epsilon)),
    wasserstein: bounded(wasserstein),
    wassersteinNormalised: bounded(wasserstein / scale),
    ks: clamp01(ks),
    ksPValue: clamp01(
      ksPValue({
        statistic: ks,
        n1: sample.length / effect,
        n2: baseline.effectiveCount ?? baseline.count,
      }),
    ),
    designEffect: bounded(effect),
  };
}

function measureCategorical(
  stream: CategoricalSummary,
  baseline: CategoricalBaseline,
  config: DriftConfig,
  clusterSize: number,
): CategoricalStatistics {
  const expected = [...baseline.proportions, baseline.other];
  // An unseen category is expected at `epsilon` rather than 0, so χ² stays finite and the effect size decides.
  const floored = expected.map((p) => Math.max(p, config.epsilon));
  const test = chiSquare(stream.counts, floored);
  const effect = designEffect(clusterSize, baseline.unitCorrelation ?? 0);
  // Rao–Scott: Var(window share − baseline share) = p(1 − p)·(D/n + 1/n_b,eff), so X² (which assumes p(1 − p)/n)
  // is divided by D + n/n_b,eff. A baseline without an effective count is taken as exact, as before.
  const scale = effect + (baseline.effectiveCount ? stream.n / baseline.effectiveCount : 0);
  return {
    kind: 'categorical',
    n: stream.n,
    psi: bounded(psi(expected, stream.counts, config.epsilon)),
    jensenShannon: clamp01(jensenShannon(expected, stream.counts)),
    chiSquare: bounded(test.statistic),
    chiSquareDf: test.df,
    chiSquarePValue: clamp01(
      scale > 1 && test.df > 0 ? chiSquareSf(test.statistic / scale, test.df) : test.pvalue,
    ),
    designEffect: bounded(effect),
    other: stream.counts[stream.counts.length - 1] ?? 0,
  };
}

/**
 * Measures one stream of a window against its baseline, or reports it insufficient below minStreamCount.
 * Numeric: PSI over all n values; Wasserstein and KS between the sample and the baseline's quantile
 * sketch, with the KS p-value for n = sample size against the full training count (scipy's 'asymp' method).
 * `clusterSize` (m̄, default 1) is the mean number of observations of an observation's own unit in the window: with
 * the baseline's unitCorrelation ρ it gives the design effect D = 1 + (m̄ − 1)·ρ, and the tests count n / D
 * independent observations, against the baseline's effectiveCount rows (KS on sampleSize / D and effectiveCount;
 * χ² as X² / (D + n / effectiveCount)). The effect sizes (PSI, W/σ, JS) are unchanged.
 */
export function measureStream(input: {
  stream: StreamSummary;
  baseline: StreamBaseline;
  config: DriftConfig;
  clusterSize?: number;
}): StreamStatistics {
  const { stream, baseline, config } = input;
  const clusterSize = Math.max(1, input.clusterSize ?? 1);
  if (stream.n < config.minStreamCount)
    return { kind: 'insufficient', n: stream.n, required: config.minStreamCount };
  if (stream.kind === 'numeric' && baseline.kind === 'numeric')
    return measureNumeric(stream, baseline, config, clusterSize);
  if (stream.kind === 'categorical' && baseline.kind === 'categorical')
    return measureCategorical(stream, baseline, config, clusterSize);
  throw new ConflictError(`a ${stream.kind} stream cannot be measured against a ${baseline.kind} baseline`);
}
