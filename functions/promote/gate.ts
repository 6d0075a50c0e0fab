// The promotion gate: a pure judgement over measured numbers, so every rule is tested without models or a store.
import { z } from 'zod';
import type { GateCheck } from '../../shared/events/index.ts';
import { type LatencyMeasurement, latencyChecks } from './gate-latency.ts';

export const GateConfigSchema = z.object({
  /** PROMOTE_AUC_MARGIN: the candidate's holdout ROC AUC may be at most this much below the champion's. */
  aucMargin: z.number().nonnegative().default(0.005),
  /** PROMOTE_BRIER_MARGIN: the candidate's holdout Brier score may be at most this much above the champion's. */
  brierMargin: z.number().nonnegative().default(0.005),
  /**
   * PROMOTE_LATENCY_RATIO: how many times the champion's median single-row inference the candidate's may be, both
   * timed in the same run, interleaved. Equal models measure 0.99–1.01 idle and under full CPU load (README).
   */
  latencyRatio: z.number().min(1).default(1.5),
  /**
   * PROMOTE_LATENCY_BUDGET_MS: the ceiling on the candidate's median single-row inference (one features.updated =
   * one row), the only latency rule for a first model. Far above normal (the trainer's models take 0.01–0.02 ms)
   * and far above score's whole p99, so that only a model that could never serve meets it, whatever the load.
   */
  latencyBudgetMs: z.number().positive().default(50),
  /** PROMOTE_MIN_AUC: the floor a first risk model must reach, with no champion to compare with. */
  minAuc: z.number().min(0).max(1).default(0.7),
  /**
   * The silhouette floor of a segment model (from its lineage metrics). 0.25 is where Kaufman and Rousseeuw's
   * reading of the silhouette turns from "no substantial structure" to "weak structure".
   */
  minSilhouette: z.number().min(-1).max(1).default(0.25),
  /** Fewest labelled holdout rows with both classes that a risk comparison is made on. */
  minHoldoutRows: z.number().int().positive().default(100),
});
export type GateConfig = z.infer<typeof GateConfigSchema>;

/** Whether the candidate's inputs are the live feature set; `differences` says how they are not. */
export interface SignatureMeasurement {
  equal: boolean;
  live: string;
  candidate: string;
  differences: string[];
}

/** Holdout metrics of one model; null where they could not be computed (with the reason). */
export type HoldoutMetrics = { auc: number; brier: number } | { unavailable: string };

/** Everything the gate needs about a risk candidate, measured on the candidate's holdout. */
export interface RiskMeasurements {
  kind: 'risk';
  signature: SignatureMeasurement;
  holdout: { rows: number; positives: number };
  candidate: HoldoutMetrics;
  /** The champion on the same rows; null when there is no champion (a first model). */
  champion: ({ version: number } & { metrics: HoldoutMetrics }) | null;
  latency: LatencyMeasurement;
}

/** A segment candidate: no labels, so floors on its own quality (lineage metrics) and on inference. */
export interface SegmentMeasurements {
  kind: 'segment';
  signature: SignatureMeasurement;
  silhouette: number | null;
  champion: { version: number } | null;
  latency: LatencyMeasurement;
}

export type { LatencyMeasurement, ModelLatency } from './gate-latency.ts';
export type Measurements = RiskMeasurements | SegmentMeasurements;

/** The gate's verdict: every check with its numbers, and the reasons in words. */
export type GateVerdict =
  | { kind: 'promote'; checks: GateCheck[]; reasons: string[] }
  | { kind: 'reject'; checks: GateCheck[]; reasons: string[] };

/** Comparisons at a margin's edge pass: rounding must not turn an exact tie at the margin into a rejection. */
const EPS = 1e-12;
const fmt = (x: number): string => String(Number(x.toPrecision(4)));

function signatureCheck(s: SignatureMeasurement): GateCheck {
  return {
    check: 'signature',
    passed: s.equal,
    value: null,
    threshold: null,
    detail: s.equal
      ? `inputs are the live feature set ${s.live}`
      : `inputs ${s.candidate} are not the live feature set ${s.live}: ${s.differences.join('; ')}`,
  };
}

function riskChecks(m: RiskMeasurements, config: GateConfig): GateCheck[] {
  const checks: GateCheck[] = [signatureCheck(m.signature)];
  const enough = m.holdout.rows >= config.minHoldoutRows && m.holdout.positives > 0;
  const bothClasses = m.holdout.positives < m.holdout.rows;
  checks.push({
    check: 'holdout',
    passed: enough && bothClasses,
    value: m.holdout.rows,
    threshold: config.minHoldoutRows,
    detail: `${m.holdout.rows} labelled rows, ${m.holdout.positives} positive (both classes and at least ${config.minHoldoutRows} rows needed)`,
  });
  const cand = 'auc' in m.candidate ? m.candidate : null;
  const champ = m.champion && 'auc' in m.champion.metrics ? m.champion.metrics : null;
  if (m.champion === null) {
    // First model: absolute floors. Brier must beat the no-skill forecast (always the base rate).
    const rate = m.holdout.rows > 0 ? m.holdout.positives / m.holdout.rows : 0;
    const noSkill = rate * (1 - rate);
    checks.push({
      check: 'auc',
      passed: cand !== null && cand.auc >= config.minAuc - EPS,
      value: cand?.auc ?? null,
      threshold: config.minAuc,
      detail: cand ? `ROC AUC ${fmt(cand.auc)} (floor ${config.minAuc})` : unavailable(m.candidate),
    });
    checks.push({
      check: 'brier',
      passed: cand !== null && cand.brier <= noSkill + EPS,
      value: cand?.brier ?? null,
      threshold: noSkill,
      detail: cand
        ? `Brier ${fmt(cand.brier)} (floor: the base-rate forecast's ${fmt(noSkill)})`
        : unavailable(m.candidate),
    });
  } else {
    const why = cand
      ? champ
        ? ''
        : `champion v${m.champion.version}: ${unavailable(m.champion.metrics)}`
      : unavailable(m.candidate);
    const aucFloor = champ ? champ.auc - config.aucMargin : null;
    const brierCeiling = champ ? champ.brier + config.brierMargin : null;
    checks.push({
      check: 'auc',
      passed: cand !== null && aucFloor !== null && cand.auc >= aucFloor - EPS,
      value: cand?.auc ?? null,
      threshold: aucFloor,
      detail:
        cand && champ
          ? `ROC AUC ${fmt(cand.auc)} vs champion v${m.champion.version} ${fmt(champ.auc)} (margin ${config.aucMargin})`
          : why,
    });
    checks.push({
      check: 'brier',
      passed: cand !== null && brierCeiling !== null && cand.brier <= brierCeiling + EPS,
      value: cand?.brier ?? null,
      threshold: brierCeiling,
      detail:
        cand && champ
          ? `Brier ${fmt(cand.brier)} vs champion v${m.champion.version} ${fmt(champ.brier)} (margin ${config.brierMargin})`
          : why,
    });
  }
  checks.push(...latencyChecks(m.latency, config));
  return checks;
}

function unavailable(metrics: HoldoutMetrics): string {
  return 'unavailable' in metrics ? metrics.unavailable : 'metrics unavailable';
}

function segmentChecks(m: SegmentMeasurements, config: GateConfig): GateCheck[] {
  return [
    signatureCheck(m.signature),
    {
      check: 'silhouette',
      passed: m.silhouette !== null && m.silhouette >= config.minSilhouette - EPS,
      value: m.silhouette,
      threshold: config.minSilhouette,
      detail:
        m.silhouette === null
          ? 'the lineage metrics carry no silhouette'
          : `silhouette ${fmt(m.silhouette)} (floor ${config.minSilhouette})`,
    },
    ...latencyChecks(m.latency, config),
  ];
}

/**
 * Judges a candidate. Risk: input signature equal to the live feature set, a usable labelled holdout, ROC AUC not
 * below the champion's by more than aucMargin, Brier not above the champion's by more than brierMargin (a
 * difference within a margin is a tie, and a tie promotes: the candidate was trained on newer data); a first model
 * instead meets the AUC floor and beats the base-rate Brier. Segment: signature and silhouette floor. Both: latency
 * within latencyRatio of the champion timed beside it (unless the candidate does no more work per row), and the
 * median under the ceiling. Promote only when every check passes.
 */
export function judge(m: Measurements, config: GateConfig): GateVerdict {
  let checks: GateCheck[];
  switch (m.kind) {
    case 'risk':
      checks = riskChecks(m, config);
      break;
    case 'segment':
      checks = segmentChecks(m, config);
      break;
    default: {
      const unreachable: never = m;
      return unreachable;
    }
  }
  const failed = checks.filter((c) => !c.passed);
  if (failed.length > 0)
    return { kind: 'reject', checks, reasons: failed.map((c) => `${c.check}: ${c.detail ?? ''}`) };
  const against =
    m.champion === null
      ? `first ${m.kind} model: meets the floors`
      : `passes the gate against champion v${m.champion.version}`;
  return {
    kind: 'promote',
    checks,
    reasons: [against, ...checks.map((c) => `${c.check}: ${c.detail ?? ''}`)],
  };
}
