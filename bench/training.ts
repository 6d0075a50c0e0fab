// Benchmark: training rows/s per TensorFlow.js backend (risk MLP), k-means rows/s, and ONNX scoring throughput.
import os from 'node:os';
import { parseArgs } from 'node:util';
import { loadOnnxModel } from '../shared/inference/onnx.ts';
import { scoreRisk } from '../shared/inference/scoring.ts';
import { createLogger } from '../shared/runtime/logger.ts';
import {
  type BackendName,
  type BackendProbes,
  chooseBackend,
  loadTrainingBackend,
} from '../shared/training/backend.ts';
import { toFloat32 } from '../shared/training/matrix.ts';
import { exportRiskOnnx } from '../shared/training/onnx-export.ts';
import { type TrainedRiskModel, trainRiskModel } from '../shared/training/risk-model.ts';
import { trainSegmentModel } from '../shared/training/segment-model.ts';
import { customerDataset, fraudDataset } from '../test/shared/training/datasets.ts';
import { median } from './support/load.ts';

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', default: '10000' },
    epochs: { type: 'string', default: '5' },
    batch: { type: 'string', default: '128,512' },
    rounds: { type: 'string', default: '3' },
    'kmeans-rows': { type: 'string', default: '20000' },
    'score-calls': { type: 'string', default: '2000' },
  },
});
const ROWS = Number(args.rows);
const EPOCHS = Number(args.epochs);
const BATCHES = args.batch.split(',').map(Number);
const ROUNDS = Number(args.rounds);
const KMEANS_ROWS = Number(args['kmeans-rows']);
const SCORE_CALLS = Number(args['score-calls']);

const log = createLogger({ name: 'bench', level: 'silent' });
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

type Row = { backend: string; batch: string; status: string; rowsPerSecond: string; detail: string };

async function benchRisk(
  name: BackendName,
  probes: BackendProbes,
  batchSize: number,
): Promise<{ row: Row; model?: TrainedRiskModel }> {
  const choice = chooseBackend({ ...probes, forced: name });
  if (choice.kind === 'unavailable') {
    return {
      row: {
        backend: name,
        batch: '–',
        status: 'not available here',
        rowsPerSecond: '–',
        detail: choice.reason,
      },
    };
  }
  const { tf, backend } = await loadTrainingBackend({ log, force: name });
  const data = fraudDataset({ n: ROWS, seed: 1 });
  const config = { epochs: EPOCHS, batchSize, validationFraction: 0, seed: 1 };
  await trainRiskModel({
    tf,
    data: { columns: data.columns, rows: data.rows.slice(0, 1000) },
    labels: data.labels.slice(0, 1000),
    config: { ...config, epochs: 1 },
  });
  const times: number[] = [];
  let model: TrainedRiskModel | undefined;
  for (let r = 0; r < ROUNDS; r++) {
    const start = performance.now();
    model = await trainRiskModel({ tf, data, labels: data.labels, config });
    times.push((performance.now() - start) / 1000);
  }
  const seconds = median(times);
  return {
    row: {
      backend: name,
      batch: String(batchSize),
      status: 'trained',
      rowsPerSecond: fmt((ROWS * EPOCHS) / seconds),
      detail: `${seconds.toFixed(2)} s median; ${backend.reason}`,
    },
    ...(model ? { model } : {}),
  };
}

function benchKMeans(): Row {
  const data = customerDataset({ n: KMEANS_ROWS, seed: 2 });
  const times: number[] = [];
  let iterations = 0;
  for (let r = 0; r < ROUNDS; r++) {
    const start = performance.now();
    const model = trainSegmentModel({ data, config: { k: 4, nInit: 1, silhouetteSample: 1000 } });
    times.push((performance.now() - start) / 1000);
    iterations = model.training.iterations;
  }
  const seconds = median(times);
  return {
    backend: 'plain TypeScript (any)',
    batch: 'all rows',
    status: 'trained',
    rowsPerSecond: fmt(KMEANS_ROWS / seconds),
    detail: `${seconds.toFixed(3)} s median per fit, ${iterations} Lloyd iterations, silhouette on 1,000 sampled rows`,
  };
}

async function benchScoring(model: TrainedRiskModel): Promise<string[]> {
  const rows = fraudDataset({ n: 256, seed: 3 }).rows;
  const buffer = toFloat32(rows, 8);
  const lines: string[] = [];
  for (const threads of [1, 2]) {
    const onnx = await loadOnnxModel(exportRiskOnnx(model, { name: 'risk' }), { intraOpNumThreads: threads });
    for (const batch of [1, 32, 256]) {
      for (let i = 0; i < 200; i++) await scoreRisk(onnx, buffer, batch);
      const latencies: number[] = [];
      const start = performance.now();
      for (let i = 0; i < SCORE_CALLS; i++) {
        const t0 = performance.now();
        await scoreRisk(onnx, buffer, batch);
        latencies.push(performance.now() - t0);
      }
      const seconds = (performance.now() - start) / 1000;
      lines.push(
        `| ${threads} | ${batch} | ${fmt((SCORE_CALLS * batch) / seconds)} | ${(median(latencies) * 1000).toFixed(0)} | ${((seconds * 1e6) / SCORE_CALLS).toFixed(0)} |`,
      );
    }
    await onnx.close();
  }
  return lines;
}

const cpus = os.cpus();
const { probes } = await loadTrainingBackend({ log });
const results: Row[] = [];
let trained: TrainedRiskModel | undefined;
for (const name of ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const) {
  for (const batchSize of BATCHES) {
    const { row, model } = await benchRisk(name, probes, batchSize);
    results.push(row);
    trained ??= model;
    if (row.status !== 'trained') break;
  }
}
const kmeans = benchKMeans();

console.log(`### Training throughput\n`);
console.log(
  `- machine: ${cpus[0]?.model ?? 'unknown CPU'}, ${cpus.length} cores, ${os.platform()} ${os.arch()}, Node ${process.version}`,
);
console.log(`- date: ${new Date().toISOString()}`);
console.log(
  `- method: risk MLP (8 → 16 → 8 → 1, Adam, class weights) on ${fmt(ROWS)} synthetic transactions, ${EPOCHS} epochs, batch ${BATCHES.join(' and ')}, no validation split; rows/s = rows × epochs / median wall time of ${ROUNDS} runs after a warm-up run. k-means: k = 4, one k-means++ init, ${fmt(KMEANS_ROWS)} customers × 4 features; rows/s = rows / median fit time. Backends that cannot load here are listed with the chooser's reason.\n`,
);
console.log('| model | backend | batch | status | rows/s | detail |');
console.log('|---|---|---:|---|---:|---|');
for (const r of results)
  console.log(`| risk MLP | ${r.backend} | ${r.batch} | ${r.status} | ${r.rowsPerSecond} | ${r.detail} |`);
console.log(
  `| segment k-means | ${kmeans.backend} | ${kmeans.batch} | ${kmeans.status} | ${kmeans.rowsPerSecond} | ${kmeans.detail} |`,
);
if (trained) {
  console.log(`\n### ONNX scoring (onnxruntime-node, risk model)\n`);
  console.log(
    `- method: ${fmt(SCORE_CALLS)} sequential scoreRisk calls per cell after 200 warm-up calls, one session, rows from one reused Float32Array.\n`,
  );
  console.log('| intraOpNumThreads | rows per call | rows/s | median µs per call | mean µs per call |');
  console.log('|---:|---:|---:|---:|---:|');
  for (const line of await benchScoring(trained)) console.log(line);
}
