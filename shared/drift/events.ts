// Turns a window report and its decision into the data of drift.measured and drift.detected (README "Event catalog").
import type { DriftDetected, DriftReport, ModelRef } from '../events/index.ts';
import { type DriftConfig, thresholdsOf } from './config.ts';
import type { DriftDecision, StreamVerdict } from './decide.ts';
import type { StreamStatistics, WindowReport } from './measure.ts';

type StatisticRecord = DriftReport['features'][string];

function flatten(statistics: StreamStatistics, verdict: StreamVerdict | undefined): StatisticRecord {
  return {
    ...statistics,
    drifted: verdict?.drifted ?? false,
    significant: verdict?.significant ?? false,
    effects: verdict?.effects.join(', ') ?? '',
  };
}

/** The data of drift.measured: every stream's statistics with its verdict, for dashboards (sent every window). */
export function driftMeasuredData(input: {
  model: ModelRef;
  report: WindowReport;
  decision: DriftDecision;
}): DriftReport {
  const { model, report, decision } = input;
  const features: DriftReport['features'] = {};
  for (const [name, statistics] of Object.entries(report.features)) {
    features[name] = flatten(statistics, decision.verdict.features[name]);
  }
  const data: DriftReport = {
    model,
    window: report.window,
    features,
    drifted: decision.verdict.drifted,
    driftedShare: decision.verdict.driftedShare,
  };
  if (report.prediction) {
    data.prediction = {
      name: report.prediction.name,
      ...flatten(report.prediction.statistics, decision.verdict.prediction ?? undefined),
    };
  }
  return data;
}

/** The data of drift.detected, or null unless the decision is a detection. */
export function driftDetectedData(input: {
  model: ModelRef;
  report: WindowReport;
  decision: DriftDecision;
  config: DriftConfig;
}): DriftDetected | null {
  const { decision, config } = input;
  if (decision.kind !== 'detected') return null;
  return {
    ...driftMeasuredData(input),
    threshold: thresholdsOf(config),
    consecutiveWindows: decision.consecutive,
    reason: decision.reason,
  };
}
