// The drift comparison's inputs, generated once: the reference rows, a stationary stream and changed streams,
// written as float64 matrices for the peers, and Flywheel's own detector run on exactly the same transactions.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { DEFAULT_DRIFT_CONFIG, type DriftBaseline } from '../../shared/drift/index.ts';
import { seededRandom } from '../../shared/random/index.ts';
import {
  COLUMNS,
  FEATURE_KINDS,
  type GeneratedTransaction,
  generatedBaseline,
  trainingSet,
  transactionSource,
} from '../../test/shared/drift/generator.ts';
import { type ObservedTransaction, observedOf, runMonitor } from '../../test/shared/drift/monitor.ts';

/** The streams every detector watches: the nine features and the risk score. */
export const STREAM_COLUMNS = [...COLUMNS, 'risk'];
export const STREAM_KINDS = STREAM_COLUMNS.map((c) => FEATURE_KINDS[c] ?? 'numeric');

export const WINDOW = DEFAULT_DRIFT_CONFIG.windowSize;
export const REFERENCE_ROWS = 20_000;
export const STATIONARY_WINDOWS = 200;
/** The change starts mid-window (as in the drift tests): the less favourable case for a count window. */
export const CHANGE_AT = 2_250;
/** Transactions in a changed stream: the change, then 6 250 transactions (12.5 windows) to find it in. */
export const RUN_LENGTH = 8_500;
const SEEDS = { reference: 1, stationary: 2, monitor: 7 };

/** The merchant mix before (the generator's) and after the change: the leading category's share halves. */
export const MERCHANT_BEFORE = [0.22, 0.16, 0.13, 0.11, 0.09, 0.08, 0.07, 0.06, 0.05, 0.03];
export const MERCHANT_AFTER = ((): number[] => {
  const lead = MERCHANT_BEFORE[0] ?? 0;
  return MERCHANT_BEFORE.map((p, i) => (i === 0 ? lead / 2 : (p * (1 - lead / 2)) / (1 - lead)));
})();

export interface Scenario {
  id: string;
  label: string;
  /** The column the change is in: a detector watching one column only is compared where it watches. */
  changes: string;
  amountShiftSd?: number;
  merchantMix?: readonly number[];
}

export const SCENARIOS: readonly Scenario[] = [
  { id: 'amount-0.25', label: 'amount +0.25σ', changes: 'amount', amountShiftSd: 0.25 },
  { id: 'amount-0.5', label: 'amount +0.5σ', changes: 'amount', amountShiftSd: 0.5 },
  { id: 'amount-1', label: 'amount +1σ', changes: 'amount', amountShiftSd: 1 },
  { id: 'merchant-mix', label: 'merchant mix', changes: 'merchantCategory', merchantMix: MERCHANT_AFTER },
];

/** Jensen–Shannon distance (base 2) between two distributions: how large the merchant-mix change is. */
export function jsDistance(p: readonly number[], q: readonly number[]): number {
  const kl = (a: readonly number[], m: readonly number[]): number =>
    a.reduce((s, x, i) => (x > 0 ? s + x * Math.log2(x / (m[i] ?? 1)) : s), 0);
  const m = p.map((x, i) => (x + (q[i] ?? 0)) / 2);
  return Math.sqrt((kl(p, m) + kl(q, m)) / 2);
}

function pick(random: () => number, weights: readonly number[]): number {
  let u = random();
  for (let i = 0; i < weights.length; i++) {
    u -= weights[i] ?? 0;
    if (u < 0) return i;
  }
  return weights.length - 1;
}

/** The transactions after the change: the generator with the amount shifted, or with a new merchant mix. */
function changedSource(scenario: Scenario, seed: number): () => GeneratedTransaction {
  const next = transactionSource({ seed: seed + 1000, amountShiftSd: scenario.amountShiftSd ?? 0 });
  const mix = scenario.merchantMix;
  if (!mix) return next;
  const random = seededRandom(seed + 2000);
  return () => {
    const t = next();
    return { ...t, features: { ...t.features, merchantCategory: pick(random, mix) } };
  };
}

export interface Run {
  scenario: Scenario;
  seed: number;
  transactions: GeneratedTransaction[];
}

export interface Streams {
  baseline: DriftBaseline;
  reference: { rows: number[][]; risks: number[] };
  stationary: GeneratedTransaction[];
  runs: Run[];
}

/** Every stream of the comparison, from fixed seeds (the runs from `seeds`). */
export function generateStreams(seeds: readonly number[]): Streams {
  const reference = trainingSet({ seed: SEEDS.reference, rows: REFERENCE_ROWS });
  const baseline = generatedBaseline({ seed: SEEDS.reference, rows: REFERENCE_ROWS });
  const stationarySource = transactionSource({ seed: SEEDS.stationary });
  const stationary = Array.from({ length: STATIONARY_WINDOWS * WINDOW }, () => stationarySource());
  const runs: Run[] = [];
  for (const scenario of SCENARIOS) {
    for (const seed of seeds) {
      const before = transactionSource({ seed });
      const after = changedSource(scenario, seed);
      const transactions = Array.from({ length: RUN_LENGTH }, (_, i) => (i < CHANGE_AT ? before() : after()));
      runs.push({ scenario, seed, transactions });
    }
  }
  return { baseline, reference, stationary, runs };
}

const row = (t: GeneratedTransaction): number[] => [
  ...COLUMNS.map((c) => t.features[c] ?? Number.NaN),
  t.risk,
];

function writeMatrix(dir: string, name: string, rows: readonly (readonly number[])[]): { file: string } {
  const data = new Float64Array(rows.length * STREAM_COLUMNS.length);
  rows.forEach((r, i) => {
    data.set(r, i * STREAM_COLUMNS.length);
  });
  const file = `${name}.f64`;
  writeFileSync(path.join(dir, file), new Uint8Array(data.buffer));
  return { file };
}

/** Writes the streams and their manifest into `dir` (little-endian float64, one row per transaction). */
export function writeStreams(dir: string, streams: Streams): string {
  const reference = streams.reference.rows.map((r, i) => [...r, streams.reference.risks[i] ?? Number.NaN]);
  const manifest = {
    columns: STREAM_COLUMNS,
    kinds: STREAM_KINDS,
    windowSize: WINDOW,
    singleColumns: [...new Set(SCENARIOS.map((s) => s.changes))],
    reference: writeMatrix(dir, 'reference', reference),
    stationary: writeMatrix(dir, 'stationary', streams.stationary.map(row)),
    runs: streams.runs.map((r) => ({
      scenario: r.scenario.id,
      seed: r.seed,
      changeAt: CHANGE_AT,
      ...writeMatrix(dir, `${r.scenario.id}-${r.seed}`, r.transactions.map(row)),
    })),
  };
  const file = path.join(dir, 'manifest.json');
  writeFileSync(file, JSON.stringify(manifest));
  return file;
}

/** Flywheel's detector on one stream: its shipped defaults, events fed as detect-drift feeds them. */
function monitor(baseline: DriftBaseline, transactions: readonly ObservedTransaction[]) {
  return runMonitor({
    baseline,
    config: DEFAULT_DRIFT_CONFIG,
    source: (i) => transactions[i] ?? { features: {}, predictions: {} },
    transactions: transactions.length,
    seed: SEEDS.monitor,
  });
}

export interface FlywheelDrift {
  /** drift.detected decisions on the stationary stream, and windows that drifted alone. */
  alarms: number;
  driftedWindows: number;
  windows: number;
  /** Process CPU seconds for the stationary stream, one value per round. */
  cpuSeconds: number[];
  delays: { scenario: string; seed: number; delay: number | null }[];
  /** Per run: transactions until a window's verdict first judged the changed column itself drifted (drift.measured). */
  columnDelays: { scenario: string; seed: number; delay: number | null }[];
}

/**
 * Runs Flywheel's detector (window, measurements, decision; no store) on the streams. CPU is process.cpuUsage
 * around the stationary stream alone, the transactions generated beforehand; `rounds` repeats it.
 */
export function runFlywheel(streams: Streams, rounds: number): FlywheelDrift {
  const stationary = streams.stationary.map(observedOf);
  const cpuSeconds: number[] = [];
  let run = monitor(streams.baseline, stationary);
  for (let r = 0; r < rounds; r++) {
    const before = process.cpuUsage();
    run = monitor(streams.baseline, stationary);
    const used = process.cpuUsage(before);
    cpuSeconds.push((used.user + used.system) / 1e6);
  }
  const kinds = run.windows.map((w) => w.decision.kind);
  const delays: FlywheelDrift['delays'] = [];
  const columnDelays: FlywheelDrift['columnDelays'] = [];
  for (const r of streams.runs) {
    // A window closes on an event; two events per transaction, so the transaction it closes on is ⌈event / 2⌉.
    const after = monitor(streams.baseline, r.transactions.map(observedOf))
      .windows.map((w) => ({ w, at: Math.ceil(w.atEvent / 2) }))
      .filter(({ at }) => at > CHANGE_AT);
    const delayOf = (hit: { at: number } | undefined) => ({
      scenario: r.scenario.id,
      seed: r.seed,
      delay: hit ? hit.at - CHANGE_AT : null,
    });
    delays.push(delayOf(after.find(({ w }) => w.decision.kind === 'detected')));
    const column = r.scenario.changes;
    columnDelays.push(delayOf(after.find(({ w }) => w.decision.verdict.features[column]?.drifted === true)));
  }
  return {
    alarms: kinds.filter((k) => k === 'detected').length,
    driftedWindows: kinds.filter((k) => k === 'drifting' || k === 'detected').length,
    windows: run.windows.length,
    cpuSeconds,
    delays,
    columnDelays,
  };
}
