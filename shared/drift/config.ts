// Drift detection settings with their defaults; each default says why it was chosen (the README quotes these).
import { z } from 'zod';
import { PSI_EPSILON } from './stats.ts';

const positiveInt = z.number().int().positive();
const unit = z.number().min(0).max(1);

export const DriftConfigSchema = z.object({
  /**
   * A window closes after this many observations of one stream (one features.updated or one score.computed per
   * transaction, so about this many transactions). At 500, decile PSI with no drift averages (bins − 1) / n ≈ 0.02
   * (the largest in 200 generated stationary windows was 0.06), a tenth of the threshold, while a 0.5σ shift of a
   * normal feature gives PSI ≈ 0.24. Same default as DRIFT_WINDOW_SIZE.
   */
  windowSize: positiveInt.default(500),
  /**
   * A window also closes when it is this old (ms since its first observation) and holds at least minWindowSize
   * observations, so quiet periods still get a verdict within minutes. Same default as DRIFT_WINDOW_MS.
   */
  windowMs: positiveInt.default(5 * 60_000),
  /**
   * The fewest observations a time-closed window may have; a quieter window stays open. Below about 200 the
   * sampling noise of PSI (≈ 9 / n) and of W/σ approaches the thresholds. Same default as DRIFT_MIN_WINDOW_SIZE.
   */
  minWindowSize: positiveInt.default(200),
  /**
   * A feature (or the prediction) with fewer observations than this in a window is reported as insufficient and
   * left out of the vote: χ² wants about 5 expected per cell (10 bins → 50) and KS's asymptotics ~35; 100 doubles
   * the smaller of the two.
   */
  minStreamCount: positiveInt.default(100),
  /**
   * Values per numeric stream drawn when a window closes (a uniform sample of its values, from a seeded generator)
   * for Wasserstein and KS. With 200, KS at α = 0.01 rejects from D ≈ 0.115, and a 0.5σ shift of a normal feature
   * gives D ≈ 0.2; the Wasserstein threshold below was set on samples of this size.
   */
  sampleSize: positiveInt.max(5000).default(200),
  /**
   * Significance level each feature's test must reach (KS for numeric, χ² for categorical). The effect-size
   * thresholds, not α, carry the false-alarm protection on large windows, so no multiple-testing correction.
   */
  alpha: unit.default(0.01),
  /**
   * PSI at or above this is a material shift: the usual credit-scoring rule of thumb reads < 0.1 as stable,
   * 0.1–0.2 as moderate and ≥ 0.2 as significant. A normal feature shifted by 0.5σ has decile PSI ≈ 0.24.
   */
  psiThreshold: z.number().positive().default(0.2),
  /**
   * Wasserstein-1 divided by the baseline's standard deviation. For a pure location shift W/σ equals the shift in
   * standard deviations, so 0.1 means "moved by a tenth of a σ". On a 200-value sample the statistic's own noise
   * is of that order for skewed features (up to 0.3 in 200 generated stationary windows), so at the default sample
   * the KS test is the binding condition; the threshold is what keeps large samples, where KS alone flags shifts of
   * a few hundredths of a σ, from alarming.
   */
  wassersteinThreshold: z.number().positive().default(0.1),
  /**
   * Jensen–Shannon distance (base 2, in [0, 1]) for categorical streams. 0.1 is, for example, a 0/1 flag going
   * from 5 % to 12 % of transactions, or a ten-point swap between the two main channels (≈ 0.09).
   */
  jensenShannonThreshold: unit.default(0.1),
  /**
   * A window is drifted when at least this share of the evaluated features drifted (or the prediction drifted).
   * A quarter: one feature out of four, two out of eight. Same default as DRIFT_FEATURE_SHARE.
   */
  driftedShare: unit.default(0.25),
  /**
   * drift.detected is sent after this many drifted windows in a row. Three makes a chance alarm need three
   * unlikely windows back to back (a per-window false rate r becomes r³) at the cost of two extra windows of delay.
   * Same default as DRIFT_CONSECUTIVE_WINDOWS.
   */
  consecutiveWindows: positiveInt.default(3),
  /** The floor for empty proportions in PSI and for unseen categories in χ² (see PSI_EPSILON). */
  epsilon: z.number().positive().max(0.01).default(PSI_EPSILON),
});
export type DriftConfig = z.infer<typeof DriftConfigSchema>;

/** The defaults, parsed once. */
export const DEFAULT_DRIFT_CONFIG: DriftConfig = DriftConfigSchema.parse({});

/** Parses a partial configuration over the defaults; throws a ZodError naming the bad field. */
export function driftConfig(input: Partial<DriftConfig> = {}): DriftConfig {
  return DriftConfigSchema.parse(input);
}

/** The thresholds as a flat record, as drift.detected carries them. */
export function thresholdsOf(config: DriftConfig): Record<string, number> {
  return {
    psi: config.psiThreshold,
    wassersteinNormalised: config.wassersteinThreshold,
    jensenShannon: config.jensenShannonThreshold,
    alpha: config.alpha,
    driftedShare: config.driftedShare,
    consecutiveWindows: config.consecutiveWindows,
    minStreamCount: config.minStreamCount,
  };
}
