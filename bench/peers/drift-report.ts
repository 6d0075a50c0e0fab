// The drift comparison's report: what each detector returns, the summary rows against the targets, the tables, and
// why Flywheel lost a row where it did (from its method).
import { z } from 'zod';
import { DEFAULT_DRIFT_CONFIG as config } from '../../shared/drift/index.ts';
import { median } from '../support/load.ts';
import {
  CHANGE_AT,
  RUN_LENGTH,
  SCENARIOS,
  type Scenario,
  STATIONARY_WINDOWS,
  STREAM_COLUMNS,
  WINDOW,
} from './drift-streams.ts';
import type { SummaryRow } from './section.ts';

/** What each detector reports, Flywheel's and the peers' alike (py/drift_peers.py writes this shape). */
export const DetectorSchema = z.object({
  id: z.string(),
  name: z.string(),
  method: z.string(),
  family: z.enum(['window', 'stream']),
  /** The one column a detector watches; absent: all of STREAM_COLUMNS. */
  watches: z.string().optional(),
  stationary: z.object({ alarms: z.number(), windows: z.number(), transactions: z.number() }),
  cpuSeconds: z.number(),
  delays: z.array(z.object({ scenario: z.string(), seed: z.number(), delay: z.number().nullable() })),
  tests: z.record(z.string(), z.string()).optional(),
});
export type Detector = z.infer<typeof DetectorSchema>;

/** Input features among the streams (the last stream is the score). */
const FEATURES = STREAM_COLUMNS.length - 1;
export const HORIZON = RUN_LENGTH - CHANGE_AT;

const cpuUs = (d: Detector): number => (d.cpuSeconds / d.stationary.transactions) * 1e6;
const watchesAll = (d: Detector): boolean => d.watches === undefined;
const applies = (d: Detector, s: Scenario): boolean => d.watches === undefined || d.watches === s.changes;
const delaysOf = (d: Detector, s: Scenario): (number | null)[] =>
  d.delays.filter((x) => x.scenario === s.id).map((x) => x.delay);
/** Median delay, a run without a detection counting as later than any. */
const medianDelay = (d: Detector, s: Scenario): number =>
  median(delaysOf(d, s).map((x) => x ?? Number.POSITIVE_INFINITY));
export const n = (x: number): string => Math.round(x).toLocaleString('en-US').replaceAll(',', ' ');
const delayText = (x: number): string => (Number.isFinite(x) ? n(x) : `none in ${n(HORIZON)}`);
export const usText = (x: number): string => (x < 10 ? x.toFixed(2) : x < 100 ? x.toFixed(1) : n(x));

/**
 * The summary rows. The targets are against the best peer, the one with the fewest false alarms: no more false
 * alarms, no later detection at any change, at most a tenth of its CPU. Rows without a target put Flywheel beside the
 * fastest peer at each change and the cheapest, whatever their false alarms.
 */
export function summary(flywheel: Detector, peers: readonly Detector[]): SummaryRow[] {
  const rows: SummaryRow[] = [];
  const best = [...peers].sort((a, b) => a.stationary.alarms - b.stationary.alarms || cpuUs(a) - cpuUs(b))[0];
  if (!best) return rows;
  const diff = flywheel.stationary.alarms - best.stationary.alarms;
  rows.push({
    comparison: `Drift, stationary stream: false alarms in ${STATIONARY_WINDOWS} windows (${n(flywheel.stationary.transactions)} transactions)`,
    peer: `${best.name} (fewest of the peers)`,
    flywheel: String(flywheel.stationary.alarms),
    peerValue: String(best.stationary.alarms),
    ratio: `Δ ${diff > 0 ? '+' : ''}${diff}`,
    target: 'Δ ≤ 0',
    met: diff <= 0,
  });
  const delayRow = (s: Scenario, peer: Detector, label: string, target: boolean): SummaryRow => {
    const fw = medianDelay(flywheel, s);
    const pd = medianDelay(peer, s);
    return {
      comparison: `Drift, ${s.label}: transactions from the change to the first detection (median)`,
      peer: `${peer.name} (${label})`,
      flywheel: delayText(fw),
      peerValue: delayText(pd),
      ratio: Number.isFinite(fw) && Number.isFinite(pd) ? `${(fw / pd).toFixed(2)}×` : '–',
      target: target ? 'not later (≤ 1×)' : '',
      met: target ? fw <= pd : null,
    };
  };
  for (const s of SCENARIOS) if (applies(best, s)) rows.push(delayRow(s, best, 'fewest false alarms', true));
  const cpuRow = (peer: Detector, label: string, target: boolean): SummaryRow => {
    const ratio = cpuUs(flywheel) / cpuUs(peer);
    return {
      comparison: 'Drift: CPU per transaction, all ten streams watched',
      peer: `${peer.name} (${label})`,
      flywheel: `${usText(cpuUs(flywheel))} µs`,
      peerValue: `${usText(cpuUs(peer))} µs`,
      ratio: `${ratio.toFixed(2)}×`,
      target: target ? '≤ 0.1×' : '',
      met: target ? ratio <= 0.1 : null,
    };
  };
  if (watchesAll(best)) rows.push(cpuRow(best, 'fewest false alarms', true));
  for (const s of SCENARIOS) {
    const watching = peers.filter((d) => applies(d, s));
    const fastest = [...watching].sort((a, b) => medianDelay(a, s) - medianDelay(b, s))[0];
    if (fastest && fastest !== best) {
      rows.push(
        delayRow(
          s,
          fastest,
          `fastest of ${watching.length}, ${fastest.stationary.alarms} false alarms`,
          false,
        ),
      );
    }
  }
  const cheapest = [...peers.filter(watchesAll)].sort((a, b) => cpuUs(a) - cpuUs(b))[0];
  if (cheapest && cheapest !== best) rows.push(cpuRow(cheapest, 'cheapest', false));
  return rows;
}

/** One row per detector: what it watches, its method and thresholds, false alarms and CPU. */
export function detectorTable(all: readonly Detector[]): string[] {
  const lines = [
    `| detector | watches | method and thresholds | false alarms, stationary | CPU µs per transaction |`,
    '|---|---|---|---:|---:|',
  ];
  for (const d of all) {
    const unit =
      d.family === 'stream'
        ? `in ${n(d.stationary.transactions)} transactions`
        : `of ${d.stationary.windows} windows`;
    lines.push(
      `| ${d.name} | ${d.watches ?? `all ${STREAM_COLUMNS.length}`} | ${d.method} | ${d.stationary.alarms} ${unit} | ${usText(cpuUs(d))} |`,
    );
  }
  return lines;
}

/** Delay per detector and scenario: the median and each seed's. */
export function delayTable(all: readonly Detector[]): string[] {
  const lines = [
    `| detector | ${SCENARIOS.map((s) => s.label).join(' | ')} |`,
    `|---|${SCENARIOS.map(() => '---:').join('|')}|`,
  ];
  for (const d of all) {
    const cells = SCENARIOS.map((s) => {
      if (!applies(d, s)) return 'n/a';
      const each = delaysOf(d, s).map((x) => (x === null ? '–' : n(x)));
      return `${delayText(medianDelay(d, s))} (${each.join(', ')})`;
    });
    lines.push(`| ${d.name} | ${cells.join(' | ')} |`);
  }
  return lines;
}

/** Why Flywheel lost a row, from its method; empty when it lost none. */
export function explanations(input: {
  rows: readonly SummaryRow[];
  flywheel: Detector;
  column: Detector;
  peers: readonly Detector[];
}): string[] {
  const { rows, flywheel, column, peers } = input;
  const out: string[] = [];
  /** The peers that detect change s before Flywheel does. */
  const earlier = (s: Scenario): Detector[] =>
    peers.filter((d) => applies(d, s) && medianDelay(d, s) < medianDelay(flywheel, s));
  const lost = (s: Scenario): boolean => earlier(s).length > 0;
  const slower = SCENARIOS.filter((s) => lost(s) && Number.isFinite(medianDelay(flywheel, s)));
  if (slower.length > 0) {
    const minimum = config.consecutiveWindows * WINDOW - (CHANGE_AT % WINDOW);
    const alarms = [...new Set(slower.flatMap(earlier))]
      .map((d) => `${d.name} ${d.stationary.alarms}`)
      .join(', ');
    out.push(
      `**Delay (${slower.map((s) => s.label).join(', ')}): Flywheel is slower by design.** It sends drift.detected ` +
        `only after ${config.consecutiveWindows} drifted windows of ${WINDOW} transactions in a row, so with the ` +
        `change at transaction ${n(CHANGE_AT)} (mid-window) its earliest possible detection is about ${n(minimum)} ` +
        `transactions after it, however large the change (here: ${slower.map((s) => delayText(medianDelay(flywheel, s))).join(', ')}). ` +
        `The window-based peers judge each window on its own and River each transaction, so one window, or for River ` +
        `a few dozen to a few hundred transactions, can be enough; the price is in the false-alarm column (the peers faster here: ${alarms} on the stationary stream). ` +
        `Three windows in a row turn a per-window false rate r into about r³; the delay is consecutiveWindows × ` +
        `windowSize, not the tests' power.`,
    );
  }
  for (const s of SCENARIOS.filter((x) => lost(x) && !Number.isFinite(medianDelay(flywheel, x)))) {
    out.push(
      `**${s.label.charAt(0).toUpperCase()}${s.label.slice(1)}: Flywheel sent no drift.detected.** The change moves one input (${s.changes}) and not the ` +
        `score (the generated risk score does not use it). Flywheel calls a window drifted only when at least ` +
        `${config.driftedShare * 100} % of the features (${Math.ceil(config.driftedShare * FEATURES)} of ${FEATURES}) or the prediction drift, so one feature alone ` +
        `never does. Its verdict on ${s.changes} itself caught the change ${delayText(medianDelay(column, s))} ` +
        `transactions after it (median; ${delaysOf(column, s)
          .map((x) => (x === null ? '–' : n(x)))
          .join(
            ', ',
          )}) and says so in every window's drift.measured, but that does not launch retraining. The ` +
        `peers that caught it alarm on any single column (or watch only that one), and the same rule gives the ` +
        `all-column ones their stationary false alarms (${peers
          .filter((d) => watchesAll(d) && Number.isFinite(medianDelay(d, s)))
          .map((d) => `${d.name} ${d.stationary.alarms}`)
          .join(', ')}).`,
    );
  }
  const cheapest = [...peers.filter(watchesAll)].sort((a, b) => cpuUs(a) - cpuUs(b))[0];
  if (cheapest && cpuUs(flywheel) > cpuUs(cheapest) / 10) {
    out.push(
      `**CPU: Flywheel costs more than a tenth of the cheapest peer that watches every stream (${cheapest.name}, ` +
        `${usText(cpuUs(cheapest))} µs).** Its work is per event (two per transaction): each event adds one to ` +
        `the count of every watched value in its window (a map per stream, kept as the store keeps it), and a ` +
        `window's tests run once at its close over the counts and a ${config.sampleSize}-value sample drawn from them. ` +
        `River's detectors update a few floats per stream per transaction; the ` +
        `window-based peers do nothing per transaction and run vectorised tests once per ${WINDOW} rows. Flywheel ` +
        `measured ${usText(cpuUs(flywheel))} µs per transaction.`,
    );
  }
  if (rows.some((r) => r.met === false && r.comparison.includes('false alarms'))) {
    out.push(
      `**False alarms: Flywheel alarmed more than the quietest peer.** Each of its tests runs at α = ${config.alpha} ` +
        `with effect-size floors and ${config.consecutiveWindows} drifted windows in a row are needed; alarms on ` +
        `independent stationary data mean the tests' false rate was above that.`,
    );
  }
  return out;
}
