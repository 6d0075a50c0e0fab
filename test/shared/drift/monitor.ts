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
  closeWindow,
  evolve,
  isWindowDue,
  openWindow,
  type WindowState,
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
  /** The largest serialised window state seen, in bytes of JSON. */
  maxStateBytes: number;
  finalState: WindowState;
}

/**
 * Feeds `transactions` transactions from `source(i)` as two events each (features, then the score), at their own
 * time or `msApart` milliseconds apart, closing and deciding windows as they fall due.
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
  let state = openWindow({ baseline, at: 0, seed: input.seed });
  let history: DriftHistory = EMPTY_HISTORY;
  const windows: ClosedWindow[] = [];
  let events = 0;
  let maxStateBytes = 0;
  const observe = (observation: Parameters<typeof evolve>[0]['observation']): void => {
    state = evolve({ state, baseline, observation, config });
    events++;
    if (!isWindowDue({ state, now: observation.at, config })) return;
    maxStateBytes = Math.max(maxStateBytes, JSON.stringify(state).length);
    const closed = closeWindow({ state, baseline, config, now: observation.at });
    const decision = decide({ report: closed.report, history, config });
    history = decision.history;
    state = closed.next;
    windows.push({ report: closed.report, decision, atEvent: events });
  };
  for (let i = 0; i < input.transactions; i++) {
    const t = source(i);
    const at = t.at ?? i * msApart;
    const unit = t.unit === undefined ? {} : { unit: t.unit };
    observe({ source: 'features', values: t.features, at, ...unit });
    observe({ source: 'prediction', values: t.predictions, at, ...unit });
  }
  return { windows, maxStateBytes, finalState: state };
}
