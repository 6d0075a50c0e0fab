// Drives transactions through the window and the decision exactly as detect-drift does, event by event.
import type { DriftBaseline } from '../../../shared/drift/baseline.ts';
import type { DriftConfig } from '../../../shared/drift/config.ts';
import {
  type DriftDecision,
  type DriftHistory,
  decide,
  EMPTY_HISTORY,
} from '../../../shared/drift/decide.ts';
import type { WindowReport } from '../../../shared/drift/measure.ts';
import {
  countObservation,
  emptyWindow,
  measureWindow,
  type Observation,
  type WindowCounts,
  windowCount,
} from '../../../shared/drift/window.ts';
import type { GeneratedTransaction } from './generator.ts';

/** One transaction as detect-drift sees it: features.updated's values, then score.computed's predictions. */
export interface ObservedTransaction {
  features: Record<string, number>;
  /** Every model's prediction for it (score.computed carries risk and segment); each window takes its own. */
  predictions: Record<string, number>;
  /** The customer: detect-drift counts each customer's events in a window for the tests' design effect. */
  unit?: string;
  /** Event time (ms); by default the transaction's index × msApart. */
  at?: number;
}

/** A generated risk transaction as detect-drift's events (no customer: every transaction independent). */
export const observedOf = (t: GeneratedTransaction): ObservedTransaction => ({
  features: t.features,
  predictions: { risk: t.risk },
});

export interface ClosedWindow {
  report: WindowReport;
  decision: DriftDecision;
  /** Events (features.updated and score.computed) consumed when this window closed, counting from 1. */
  atEvent: number;
}

export interface MonitorRun {
  windows: ClosedWindow[];
}

/**
 * True when the window should close: it holds windowSize observations, or it is windowMs old and holds at least
 * minWindowSize (a quiet window stays open until it has enough to say something). The rule detect-drift's pushes
 * apply (functions/detect-drift/shared-window.ts), on one process's window.
 */
export function isWindowDue(input: {
  counts: WindowCounts;
  now: number;
  config: Pick<DriftConfig, 'windowSize' | 'windowMs' | 'minWindowSize'>;
}): boolean {
  const { counts, now, config } = input;
  const n = windowCount(counts);
  if (n >= config.windowSize) return true;
  return n >= config.minWindowSize && now - counts.start >= config.windowMs;
}

/**
 * Feeds `transactions` transactions from `source(i)` as two events each (features, then the score), at their own
 * time or `msApart` milliseconds apart, closing and deciding windows as they fall due. `seed` seeds the samples.
 */
export function runMonitor(input: {
  baseline: DriftBaseline;
  config: DriftConfig;
  source: (transaction: number) => ObservedTransaction;
  transactions: number;
  seed: number;
  msApart?: number;
}): MonitorRun {
  const { baseline, config, source } = input;
  const msApart = input.msApart ?? 100;
  let counts = emptyWindow({ start: 0 });
  let history: DriftHistory = EMPTY_HISTORY;
  const windows: ClosedWindow[] = [];
  let events = 0;
  const observe = (observation: Observation): void => {
    countObservation(counts, baseline, observation);
    events++;
    if (!isWindowDue({ counts, now: observation.at, config })) return;
    // One seed per window, as detect-drift derives one from each window's identity.
    const seed = input.seed + counts.sequence;
    const report = measureWindow({ counts, baseline, config, now: observation.at, seed });
    const decision = decide({ report, history, config });
    history = decision.history;
    counts = emptyWindow({ start: observation.at, sequence: counts.sequence + 1 });
    windows.push({ report, decision, atEvent: events });
  };
  for (let i = 0; i < input.transactions; i++) {
    const t = source(i);
    const at = t.at ?? i * msApart;
    const unit = t.unit === undefined ? {} : { unit: t.unit };
    observe({ source: 'features', values: t.features, at, ...unit });
    observe({ source: 'prediction', values: t.predictions, at, ...unit });
  }
  return { windows };
}
