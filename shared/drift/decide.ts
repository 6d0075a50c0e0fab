// The drift decision: which streams drifted in a window, whether the window drifted, and when to send drift.detected.
import { z } from 'zod';
import type { DriftConfig } from './config.ts';
import type { StreamStatistics, WindowReport } from './measure.ts';

const count = z.number().int().nonnegative();

/** What persists between windows (stored next to the window's counts): the run of drifted windows and totals. */
export const DriftHistorySchema = z.object({
  /** Drifted windows in a row since the last stable window or the last detection. */
  consecutive: count,
  windows: count,
  detections: count,
  lastDetectedAt: count.nullable(),
});
export type DriftHistory = z.infer<typeof DriftHistorySchema>;

/** The history of a model nobody has watched yet. */
export const EMPTY_HISTORY: DriftHistory = {
  consecutive: 0,
  windows: 0,
  detections: 0,
  lastDetectedAt: null,
};

/** One stream's verdict: drifted only when an effect size passes its threshold and the test is significant. */
export interface StreamVerdict {
  drifted: boolean;
  evaluated: boolean;
  significant: boolean;
  /** The effect sizes that passed, in words, e.g. "PSI 0.31 ≥ 0.2". */
  effects: string[];
  /** The test's p-value, in words, e.g. "KS p 3.1e-12 < 0.01". */
  test: string | null;
}

/** The verdict on one window. */
export interface WindowVerdict {
  drifted: boolean;
  /** Features with enough observations to be tested. */
  evaluated: number;
  driftedFeatures: string[];
  driftedShare: number;
  predictionDrifted: boolean;
  features: Record<string, StreamVerdict>;
  prediction: StreamVerdict | null;
}

interface Decided {
  verdict: WindowVerdict;
  /** The history to store for the next window. */
  history: DriftHistory;
  reason: string;
}

/** The outcome of one closed window; only `detected` sends drift.detected. */
export type DriftDecision =
  | ({ kind: 'insufficient' } & Decided)
  | ({ kind: 'stable' } & Decided)
  | ({ kind: 'drifting'; consecutive: number } & Decided)
  | ({ kind: 'detected'; consecutive: number } & Decided);

const fmt = (x: number): string =>
  x !== 0 && Math.abs(x) < 1e-3 ? x.toExponential(2) : String(Number(x.toPrecision(3)));
const percent = (x: number): string => `${Math.round(x * 100)}%`;

/**
 * Judges one stream. Numeric: PSI ≥ psiThreshold or W/σ ≥ wassersteinThreshold, and KS p < alpha. Categorical:
 * JS ≥ jensenShannonThreshold and χ² p < alpha. The effect size keeps huge windows (where every p-value is tiny)
 * from alarming on trivial shifts; the p-value keeps small windows from alarming on noise.
 */
export function judgeStream(statistics: StreamStatistics, config: DriftConfig): StreamVerdict {
  const effects: string[] = [];
  let p: number;
  let testName: string;
  switch (statistics.kind) {
    case 'insufficient':
      return { drifted: false, evaluated: false, significant: false, effects, test: null };
    case 'numeric':
      if (statistics.psi >= config.psiThreshold)
        effects.push(`PSI ${fmt(statistics.psi)} ≥ ${config.psiThreshold}`);
      if (statistics.wassersteinNormalised >= config.wassersteinThreshold) {
        effects.push(`W/σ ${fmt(statistics.wassersteinNormalised)} ≥ ${config.wassersteinThreshold}`);
      }
      p = statistics.ksPValue;
      testName = 'KS';
      break;
    case 'categorical':
      if (statistics.jensenShannon >= config.jensenShannonThreshold) {
        effects.push(`JS ${fmt(statistics.jensenShannon)} ≥ ${config.jensenShannonThreshold}`);
      }
      p = statistics.chiSquarePValue;
      testName = 'χ²';
      break;
    default: {
      const unreachable: never = statistics;
      return unreachable;
    }
  }
  const significant = p < config.alpha;
  const test = `${testName} p ${fmt(p)} ${significant ? '<' : '≥'} ${config.alpha}`;
  return { drifted: significant && effects.length > 0, evaluated: true, significant, effects, test };
}

/** Judges every stream of the window and applies the share rule. */
export function judgeWindow(report: WindowReport, config: DriftConfig): WindowVerdict {
  const features: Record<string, StreamVerdict> = {};
  for (const [name, statistics] of Object.entries(report.features))
    features[name] = judgeStream(statistics, config);
  const tested = Object.entries(features).filter(([, v]) => v.evaluated);
  const driftedFeatures = tested.filter(([, v]) => v.drifted).map(([name]) => name);
  const driftedShare = tested.length === 0 ? 0 : driftedFeatures.length / tested.length;
  const prediction = report.prediction ? judgeStream(report.prediction.statistics, config) : null;
  const predictionDrifted = prediction?.drifted ?? false;
  const shareDrifted = tested.length > 0 && driftedShare >= config.driftedShare;
  return {
    drifted: shareDrifted || predictionDrifted,
    evaluated: tested.length,
    driftedFeatures,
    driftedShare,
    predictionDrifted,
    features,
    prediction,
  };
}

const describeStream = (name: string, v: StreamVerdict): string =>
  `${name} (${[...v.effects, v.test ?? ''].join(', ')})`;

/** The window's evidence in words and numbers. */
function explain(report: WindowReport, verdict: WindowVerdict, config: DriftConfig): string {
  const parts = [
    `${verdict.driftedFeatures.length} of ${verdict.evaluated} features drifted (${percent(verdict.driftedShare)} ` +
      `${verdict.evaluated > 0 && verdict.driftedShare >= config.driftedShare ? '≥' : '<'} ${percent(config.driftedShare)})` +
      (verdict.driftedFeatures.length > 0
        ? `: ${verdict.driftedFeatures.map((f) => describeStream(f, verdict.features[f] ?? noVerdict)).join('; ')}`
        : ''),
  ];
  const name = report.prediction?.name;
  if (name !== undefined && verdict.prediction) {
    if (!verdict.prediction.evaluated) parts.push(`prediction ${name} not tested (too few observations)`);
    else if (verdict.prediction.drifted)
      parts.push(`prediction ${describeStream(name, verdict.prediction)} drifted`);
    else parts.push(`prediction ${name} stable`);
  }
  return parts.join('; ');
}

const noVerdict: StreamVerdict = {
  drifted: false,
  evaluated: false,
  significant: false,
  effects: [],
  test: null,
};

/**
 * Decides on a closed window given the stored history: a drifted window extends the run, a stable one ends it,
 * and the run reaching consecutiveWindows is a detection (the run then starts again, so drift that persists is
 * reported again every consecutiveWindows windows; a cooldown belongs to the caller). A window where no stream
 * had enough observations leaves the run as it was.
 */
export function decide(input: {
  report: WindowReport;
  history: DriftHistory;
  config: DriftConfig;
}): DriftDecision {
  const { report, history, config } = input;
  const verdict = judgeWindow(report, config);
  const windows = history.windows + 1;
  if (verdict.evaluated === 0 && !verdict.prediction?.evaluated) {
    const reason = `too few observations: no feature or prediction reached ${config.minStreamCount} in this window`;
    return { kind: 'insufficient', verdict, history: { ...history, windows }, reason };
  }
  const evidence = explain(report, verdict, config);
  if (!verdict.drifted) {
    return {
      kind: 'stable',
      verdict,
      history: { ...history, windows, consecutive: 0 },
      reason: `no drift: ${evidence}`,
    };
  }
  const consecutive = history.consecutive + 1;
  if (consecutive >= config.consecutiveWindows) {
    return {
      kind: 'detected',
      consecutive,
      verdict,
      history: {
        consecutive: 0,
        windows,
        detections: history.detections + 1,
        lastDetectedAt: report.window.end,
      },
      reason: `drift in ${consecutive} consecutive windows; latest window: ${evidence}`,
    };
  }
  return {
    kind: 'drifting',
    consecutive,
    verdict,
    history: { ...history, windows, consecutive },
    reason: `window drifted (${consecutive} of ${config.consecutiveWindows} needed in a row): ${evidence}`,
  };
}
