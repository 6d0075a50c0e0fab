// The training comparison of `npm run bench:peers`: Flywheel's risk MLP beside scikit-learn's LogisticRegression and
// HistGradientBoostingClassifier on the same rows and the same time-split holdout — ROC AUC, Brier and time to fit.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { bootstrapRange } from '../../local/bootstrap.ts';
import { createGenerator } from '../../local/demo/generator.ts';
import { appendHistory } from '../../local/demo/history.ts';
import { customerFeatures } from '../../shared/features/index.ts';
import { loadOnnxModel } from '../../shared/inference/onnx.ts';
import { scoreRisk } from '../../shared/inference/scoring.ts';
import { createFileEventLog } from '../../shared/log/index.ts';
import { createLogger } from '../../shared/runtime/index.ts';
import { loadTrainingBackend } from '../../shared/training/backend.ts';
import { readLabelledRows, splitByTime } from '../../shared/training/dataset.ts';
import { brierScore, rocAuc } from '../../shared/training/metrics.ts';
import { exportRiskOnnx } from '../../shared/training/onnx-export.ts';
import { type TrainedRiskModel, trainRiskModel } from '../../shared/training/risk-model.ts';
import { machine, median } from '../support/load.ts';
import { runPythonJob } from './python-job.ts';
import type { SectionResult, SummaryRow } from './section.ts';
import { frozenVersions } from './venv.ts';

const DAY = 86_400_000;
/** The demo's generator and history as `npm start` trains its first champion, with more customers (300 there). */
const DATA = { seed: 7, customers: 1_000, historyDays: 45, holdoutShare: 0.2 };
/** Flywheel's AUC and the AUC scikit-learn computes on Flywheel's probabilities must agree this closely. */
const METRIC_AGREEMENT = 1e-9;

const ModelSchema = z.object({
  id: z.string(),
  name: z.string(),
  method: z.string(),
  rocAuc: z.number(),
  brier: z.number(),
  fitSeconds: z.array(z.number()),
  fitCpuSeconds: z.array(z.number()),
  convergenceWarning: z.boolean(),
});
const PeersSchema = z.object({
  models: z.array(ModelSchema),
  flywheelBySklearn: z.object({ rocAuc: z.number(), brier: z.number() }),
});

const log = createLogger({ name: 'bench', level: 'silent' });

/** The rows the trainer reads for a risk model: the demo history in a file event log, its bootstrap range, split by time. */
async function trainingRows() {
  const from = Date.UTC(2026, 7, 1);
  const liveStart = from + DATA.historyDays * DAY;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'peers-training-log-'));
  const eventLog = createFileEventLog({ dataDir: dir, topic: 'events', log });
  try {
    const generator = createGenerator({ seed: DATA.seed, customers: DATA.customers }, from);
    await appendHistory(eventLog, generator.until(liveStart), { labelsBefore: liveStart });
    const data = await readLabelledRows({
      eventLog,
      range: bootstrapRange({ historyStart: from, liveStart }),
      featureSet: customerFeatures,
    });
    const split = splitByTime(
      data.rows.map((r, i) => ({ ...r, label: data.labels[i] ?? 0 })),
      DATA.holdoutShare,
    );
    return { columns: [...data.columns], ...split };
  } finally {
    await eventLog.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Fits the risk MLP `rounds` times as the trainer does (its defaults) and scores the holdout through the ONNX export. */
async function flywheel(rows: Awaited<ReturnType<typeof trainingRows>>, rounds: number) {
  const { tf, backend } = await loadTrainingBackend({ log });
  const data = { columns: rows.columns, rows: rows.train.map((r) => r.values) };
  const labels = rows.train.map((r) => r.label);
  const fitSeconds: number[] = [];
  const fitCpuSeconds: number[] = [];
  let model: TrainedRiskModel | undefined;
  for (let r = 0; r < rounds; r++) {
    const cpu = process.cpuUsage();
    const start = performance.now();
    model = await trainRiskModel({ tf, data, labels, config: {} });
    fitSeconds.push((performance.now() - start) / 1000);
    const used = process.cpuUsage(cpu);
    fitCpuSeconds.push((used.user + used.system) / 1e6);
  }
  if (!model) throw new Error('no training round ran');
  const onnx = await loadOnnxModel(exportRiskOnnx(model, { name: 'risk' }));
  const holdoutRows = rows.holdout.map((r) => r.values);
  const probabilities = await scoreRisk(onnx, Float32Array.from(holdoutRows.flat()), holdoutRows.length);
  await onnx.close();
  const holdoutLabels = rows.holdout.map((r) => r.label);
  return {
    backend,
    model,
    fitSeconds,
    fitCpuSeconds,
    probabilities: Array.from(probabilities),
    rocAuc: rocAuc(holdoutLabels, probabilities),
    brier: brierScore(holdoutLabels, probabilities),
  };
}

function writeF64(dir: string, name: string, values: readonly number[]): string {
  writeFileSync(path.join(dir, name), new Uint8Array(Float64Array.from(values).buffer));
  return name;
}

const count = (x: number): string => x.toLocaleString('en-US').replaceAll(',', ' ');
const s = (xs: readonly number[]): string => `${median(xs).toFixed(2)} s`;
const list = (xs: readonly number[]): string => xs.map((x) => x.toFixed(2)).join(', ');

/** Where Flywheel is behind (fit time, or the AUC target), and why, from the methods. */
function notes(input: {
  fw: Awaited<ReturnType<typeof flywheel>>;
  hgb: z.infer<typeof ModelSchema> | undefined;
  summary: readonly SummaryRow[];
}): string[] {
  const { fw, hgb, summary } = input;
  const out: string[] = [];
  const t = fw.model.training;
  if (hgb && median(fw.fitSeconds) > median(hgb.fitSeconds)) {
    const fitRows = Math.round(t.rows * (1 - t.config.validationFraction));
    out.push(
      `**Fit time: Flywheel is slower** (${(median(fw.fitSeconds) / median(hgb.fitSeconds)).toFixed(1)}× ` +
        `HistGradientBoosting's wall time). It runs mini-batch Adam, ${t.epochsRun} epochs over ${count(fitRows)} ` +
        `rows in batches of ${t.config.batchSize} with a validation pass per epoch, on TensorFlow.js ${fw.backend.name} ` +
        `in one thread; HistGradientBoosting bins each feature once and grows its trees on histograms with OpenMP ` +
        `on both cores, and LogisticRegression solves one convex problem with L-BFGS. There is no target on fit time.`,
    );
  }
  if (summary.some((r) => r.met === false && r.comparison.includes('ROC AUC'))) {
    out.push(
      `**AUC: Flywheel is more than 0.01 behind HistGradientBoosting.** Trees split each raw feature at learned ` +
        `thresholds and combine them per leaf; the MLP sees log1p-standardised inputs through two small hidden ` +
        `layers with an L2 penalty and stops early on its validation loss, which loses signal the trees keep.`,
    );
  }
  return out;
}

/**
 * Builds the training rows once, trains Flywheel's risk model on them in this process, and fits the scikit-learn
 * models on the same rows in the drift group's Python environment, each `rounds` times; every model is scored on
 * the same holdout. A fit takes what it takes, so `seconds` is not used.
 */
export async function runTrainingSection(opts: { seconds: number; rounds: number }): Promise<SectionResult> {
  const rounds = Math.max(1, opts.rounds);
  process.stderr.write('training: building rows from the demo history\n');
  const rows = await trainingRows();
  process.stderr.write(`training: Flywheel's risk MLP, ${rounds} fit(s)\n`);
  const fw = await flywheel(rows, rounds);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'peers-training-'));
  let peers: z.infer<typeof PeersSchema>;
  try {
    const manifest = {
      columns: rows.columns,
      rounds,
      trainX: writeF64(
        dir,
        'train-x.f64',
        rows.train.flatMap((r) => r.values),
      ),
      trainY: writeF64(
        dir,
        'train-y.f64',
        rows.train.map((r) => r.label),
      ),
      holdoutX: writeF64(
        dir,
        'holdout-x.f64',
        rows.holdout.flatMap((r) => r.values),
      ),
      holdoutY: writeF64(
        dir,
        'holdout-y.f64',
        rows.holdout.map((r) => r.label),
      ),
      flywheelP: writeF64(dir, 'flywheel-p.f64', fw.probabilities),
    };
    writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest));
    peers = await runPythonJob({
      group: 'drift',
      script: 'train_peers.py',
      args: [path.join(dir, 'manifest.json')],
      out: path.join(dir, 'result.json'),
      schema: PeersSchema,
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const versions = frozenVersions('drift', ['scikit-learn', 'numpy', 'scipy']);
  const positives = (xs: readonly { label: number }[]): number => xs.filter((r) => r.label === 1).length;
  const hgb = peers.models.find((m) => m.id === 'hgb');
  const check = peers.flywheelBySklearn;
  const aucGap = Math.abs(check.rocAuc - fw.rocAuc);
  const summary: SummaryRow[] = [];
  if (hgb) {
    const diff = fw.rocAuc - hgb.rocAuc;
    summary.push({
      comparison: 'Training: risk model ROC AUC on the same time-split holdout',
      peer: 'scikit-learn HistGradientBoostingClassifier',
      flywheel: fw.rocAuc.toFixed(4),
      peerValue: hgb.rocAuc.toFixed(4),
      ratio: `Δ ${diff >= 0 ? '+' : ''}${diff.toFixed(4)}`,
      target: 'Δ ≥ −0.01',
      met: diff >= -0.01,
    });
  }
  summary.push({
    comparison: "Training: sklearn's roc_auc_score on Flywheel's holdout probabilities vs Flywheel's own AUC",
    peer: 'scikit-learn roc_auc_score',
    flywheel: fw.rocAuc.toFixed(6),
    peerValue: check.rocAuc.toFixed(6),
    ratio: `Δ ${(check.rocAuc - fw.rocAuc).toExponential(1)}`,
    target: `Δ within ±${METRIC_AGREEMENT}`,
    met: aucGap < METRIC_AGREEMENT,
  });
  const t = fw.model.training;
  const markdown = [
    '## Training: Flywheel vs scikit-learn',
    '',
    `${machine()}. scikit-learn ${versions['scikit-learn'] ?? '?'}, numpy ${versions.numpy ?? '?'}, scipy ${versions.scipy ?? '?'}.`,
    '',
    `**Rows.** The demo generator (seed ${DATA.seed}, ${DATA.customers} customers, ${DATA.historyDays} days) written ` +
      `to a file event log as ingest logs it; the trainer's own reading (readLabelledRows, the live feature set's ` +
      `${rows.columns.length} columns, point-in-time) over the first champion's range (the history after its 30 ` +
      `warm-up days), split by time with the newest ${DATA.holdoutShare * 100} % held out: ` +
      `${count(rows.train.length)} training rows (${positives(rows.train)} fraud), ` +
      `${count(rows.holdout.length)} holdout rows (${positives(rows.holdout)} fraud). Both sides ` +
      `read the same rows from one file.`,
    '',
    `**Models.** Flywheel: trainRiskModel with the trainer's defaults (MLP with hidden layers of ${t.config.hiddenUnits.join(' and ')}, log1p ` +
      `inputs, balanced class weights with the prior shift corrected, Adam, early stopping on a 20 % validation ` +
      `split, seed ${t.config.seed}; ${t.epochsRun} epochs run, best ${t.bestEpoch}) on ${fw.backend.name} ` +
      `(${fw.backend.reason}), holdout scored through its ONNX export as the trainer does. scikit-learn: ` +
      `${peers.models.map((m) => m.method).join('; ')}. Fit time is wall time around the fit alone (Flywheel: ` +
      `trainRiskModel; scikit-learn: fit), median of ${rounds} fit${rounds === 1 ? '' : 's'}; CPU is the process's ` +
      `(HistGradientBoosting uses OpenMP threads on both cores). AUC and Brier as shared/training/metrics.ts and ` +
      `sklearn.metrics define them, on the same holdout.`,
    '',
    '| model | ROC AUC | Brier | fit wall (each fit) | fit CPU (each fit) |',
    '|---|---:|---:|---:|---:|',
    `| Flywheel risk MLP (${fw.backend.name}) | ${fw.rocAuc.toFixed(4)} | ${fw.brier.toFixed(5)} | ${s(fw.fitSeconds)} (${list(fw.fitSeconds)}) | ${s(fw.fitCpuSeconds)} (${list(fw.fitCpuSeconds)}) |`,
    ...peers.models.map(
      (m) =>
        `| scikit-learn ${m.name}${m.convergenceWarning ? ' (ConvergenceWarning)' : ''} | ${m.rocAuc.toFixed(4)} | ` +
        `${m.brier.toFixed(5)} | ${s(m.fitSeconds)} (${list(m.fitSeconds)}) | ${s(m.fitCpuSeconds)} (${list(m.fitCpuSeconds)}) |`,
    ),
    '',
    `**The metric itself.** scikit-learn's roc_auc_score and brier_score_loss on Flywheel's holdout probabilities: ` +
      `AUC ${check.rocAuc.toFixed(6)}, Brier ${check.brier.toFixed(6)}; Flywheel's own: AUC ${fw.rocAuc.toFixed(6)}, ` +
      `Brier ${fw.brier.toFixed(6)} (differences ${aucGap.toExponential(1)} and ${Math.abs(check.brier - fw.brier).toExponential(1)}).`,
    '',
    ...notes({ fw, hgb, summary }).flatMap((p) => [p, '']),
  ].join('\n');
  return { name: 'training', markdown, summary };
}
