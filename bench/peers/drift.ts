// The drift comparison of `npm run bench:peers`: Flywheel's detector beside Evidently, Alibi Detect and River on the
// same generated transactions — false alarms when nothing changes, delay to the first detection after a change, and
// CPU per transaction.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { DEFAULT_DRIFT_CONFIG as config } from '../../shared/drift/index.ts';
import { machine, median } from '../support/load.ts';
import {
  type Detector,
  DetectorSchema,
  delayTable,
  detectorTable,
  explanations,
  HORIZON,
  n,
  summary,
  usText,
} from './drift-report.ts';
import {
  CHANGE_AT,
  generateStreams,
  jsDistance,
  MERCHANT_AFTER,
  MERCHANT_BEFORE,
  REFERENCE_ROWS,
  runFlywheel,
  STATIONARY_WINDOWS,
  STREAM_COLUMNS,
  WINDOW,
  writeStreams,
} from './drift-streams.ts';
import { runPythonJob } from './python-job.ts';
import type { SectionResult } from './section.ts';
import { frozenVersions } from './venv.ts';

const PeersSchema = z.object({
  detectors: z.array(DetectorSchema),
  /** The full DataDriftPreset's CPU per window, and on how many windows it was measured. */
  preset: z.object({ cpuSecondsPerWindow: z.number(), windows: z.number() }),
});
const PEER_PACKAGES = ['evidently', 'alibi-detect', 'river', 'numpy', 'scipy', 'pandas'];

function flywheelDetector(seeds: readonly number[], rounds: number) {
  const streams = generateStreams(seeds);
  const fw = runFlywheel(streams, rounds);
  const detector: Detector = {
    id: 'flywheel',
    name: 'Flywheel',
    method:
      `shared/drift defaults: numeric PSI ≥ ${config.psiThreshold} or W/σ ≥ ${config.wassersteinThreshold}, and KS p < ` +
      `${config.alpha} (reservoir of ${config.sampleSize}); categorical JS ≥ ${config.jensenShannonThreshold} and χ² p < ` +
      `${config.alpha}; window drifted when ≥ ${config.driftedShare * 100} % of features or the score drift; ` +
      `drift.detected after ${config.consecutiveWindows} drifted windows in a row`,
    family: 'window',
    stationary: { alarms: fw.alarms, windows: fw.windows, transactions: streams.stationary.length },
    cpuSeconds: median(fw.cpuSeconds),
    delays: fw.delays,
  };
  return {
    detector,
    streams,
    driftedWindows: fw.driftedWindows,
    cpuRounds: fw.cpuSeconds,
    /** The same runs, timed to the first window whose verdict judged the changed column itself drifted. */
    column: { ...detector, delays: fw.columnDelays },
  };
}

/**
 * Generates the streams (seeds 11… for the changed streams, one per round, at least three), runs Flywheel's
 * detector in-process (its CPU measured `rounds` times) and the peers in their Python environment on the same rows,
 * and reports every figure. The work is fixed by the streams, so `seconds` is not used.
 */
export async function runDriftSection(opts: { seconds: number; rounds: number }): Promise<SectionResult> {
  const rounds = Math.max(1, opts.rounds);
  const seeds = Array.from({ length: Math.max(3, rounds) }, (_, i) => 11 + i);
  process.stderr.write(`drift: generating streams and running Flywheel (${seeds.length} seeds)\n`);
  const fw = flywheelDetector(seeds, rounds);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'peers-drift-'));
  let peers: z.infer<typeof PeersSchema>;
  try {
    const manifest = writeStreams(dir, fw.streams);
    peers = await runPythonJob({
      group: 'drift',
      script: 'drift_peers.py',
      args: [manifest],
      out: path.join(dir, 'result.json'),
      schema: PeersSchema,
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const all = [fw.detector, ...peers.detectors];
  const rows = summary(fw.detector, peers.detectors);
  const versions = frozenVersions('drift', PEER_PACKAGES);
  const tests = peers.detectors.find((d) => d.tests)?.tests ?? {};
  const markdown = [
    '## Drift detection: Flywheel vs Evidently, Alibi Detect and River',
    '',
    `${machine()}. Peers: ${Object.entries(versions)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}, Python in .cache/peers/drift.`,
    '',
    `**Streams.** Generated once in TypeScript (test/shared/drift/generator.ts on shared/random) and written to one ` +
      `file all detectors read: the reference is ${n(REFERENCE_ROWS)} training transactions (seed 1) — Flywheel's ` +
      `baseline is built from them, the peers get the rows themselves; the stationary stream is ` +
      `${n(STATIONARY_WINDOWS * WINDOW)} transactions from the same distribution (seed 2), ${STATIONARY_WINDOWS} windows ` +
      `of ${WINDOW}; each changed stream is ${n(CHANGE_AT)} unchanged transactions then ${n(HORIZON)} changed ones, for ` +
      `seeds ${seeds.join(', ')}: amounts shifted by +0.25σ, +0.5σ and +1σ (σ of the stationary amounts; the ` +
      `amount-to-average ratio and the score move with them), or the merchant mix changed (the leading category ` +
      `${MERCHANT_BEFORE[0]} → ${MERCHANT_AFTER[0]?.toFixed(2)}, the others up in proportion; Jensen–Shannon distance ` +
      `${jsDistance(MERCHANT_BEFORE, MERCHANT_AFTER).toFixed(3)}, Flywheel's threshold ${config.jensenShannonThreshold}). ` +
      `Every detector watches the same ${STREAM_COLUMNS.length} streams (${STREAM_COLUMNS.join(', ')}), except the ` +
      `two Alibi detectors marked as watching one column, which are compared only where that column changes.`,
    '',
    `**Windows and delay.** The window-based detectors judge the same windows of ${WINDOW} transactions (Flywheel's ` +
      `windows close on the ${WINDOW}th event of either of its two streams, so they fall one transaction earlier per ` +
      `window). Delay is transactions from the first changed one to the end of the window (or, for River, the ` +
      `transaction) that first reports drift after the change; earlier alarms are the false-alarm column's business. ` +
      `A false alarm is a drift.detected for Flywheel, a window reported drifted for Evidently and Alibi, and an ` +
      `alarm of any of River's detectors. River's detectors are univariate, so each watches one stream: a numeric ` +
      `column as z-scores against the reference, or one category of a categorical column as a 0/1 indicator (one for ` +
      `a two-valued flag); they are fed the reference rows first, alarms there ignored. Each peer runs with its defaults; Evidently picked these tests for a ` +
      `${n(REFERENCE_ROWS)}-row reference: ${Object.entries(tests)
        .map(([c, t]) => `${c} ${t}`)
        .join('; ')}.`,
    '',
    `**CPU.** Process CPU time for the stationary stream's detection work alone, divided by its transactions: ` +
      `Flywheel in this process with process.cpuUsage around its window, measurements and decisions (no store; two ` +
      `events per transaction; median of ${rounds} run${rounds === 1 ? '' : 's'}: ` +
      `${fw.cpuRounds.map((s) => s.toFixed(2)).join(', ')} s), the peers with time.process_time around their ` +
      `predict/run/update calls after the detectors were built and the files read. Evidently is run as ` +
      `Report([DriftedColumnsCount()]), the metric DataDriftPreset's dataset verdict comes from; the full ` +
      `DataDriftPreset, which also renders its widgets, took ${(peers.preset.cpuSecondsPerWindow * 1000).toFixed(0)} ms ` +
      `CPU per window on ${peers.preset.windows} windows (${usText((peers.preset.cpuSecondsPerWindow / WINDOW) * 1e6)} µs per transaction).`,
    '',
    ...detectorTable(all),
    '',
    `Flywheel: ${fw.driftedWindows} of ${fw.detector.stationary.windows} stationary windows drifted, ` +
      `${fw.detector.stationary.alarms} times ${config.consecutiveWindows} in a row.`,
    '',
    `Transactions from the change to the first detection, median over the seeds (each seed's in brackets; – none ` +
      `within ${n(HORIZON)}):`,
    '',
    ...delayTable(all),
    '',
    ...explanations({ rows, flywheel: fw.detector, column: fw.column, peers: peers.detectors }).flatMap(
      (p) => [p, ''],
    ),
  ].join('\n');
  return { name: 'drift', markdown, summary: rows };
}
