// Small real ONNX models for tests: hand-set weights exported by the trainer's exporter, registered with lineage.
import { customerFeatures } from '../../shared/features/index.ts';
import type { ModelRegistry, ModelVersion } from '../../shared/registry/index.ts';
import { exportRiskOnnx, exportSegmentOnnx } from '../../shared/training/onnx-export.ts';
import {
  type RiskTrainingConfig,
  RiskTrainingConfigSchema,
  type TrainedRiskModel,
} from '../../shared/training/risk-model.ts';
import type { TrainedSegmentModel } from '../../shared/training/segment-model.ts';

const columns = [...customerFeatures.columns];
const width = columns.length;

/** The training record of a risk model whose weights were set by hand: nothing ran, only the config is told. */
export function handSetTraining(
  config: RiskTrainingConfig = RiskTrainingConfigSchema.parse({}),
): TrainedRiskModel['training'] {
  return {
    rows: 0,
    positives: 0,
    epochsRun: 0,
    bestEpoch: 0,
    trainLoss: [],
    validationLoss: [],
    classWeight: { negative: 1, positive: 1 },
    config,
  };
}

/**
 * A real risk ONNX file computing sigmoid(a·x[column] + b) on raw rows, written as ReLU(x) − ReLU(−x) through the
 * MLP exporter's layers, so tests know every probability it gives.
 */
export function linearRiskOnnx(input: {
  columns?: readonly string[];
  column: number;
  a: number;
  b: number;
}): Uint8Array {
  const cols = [...(input.columns ?? columns)];
  const model: TrainedRiskModel = {
    kind: 'risk',
    columns: cols,
    scaler: { mean: cols.map(() => 0), std: cols.map(() => 1) },
    layers: [
      { kernel: cols.map((_, i) => (i === input.column ? [1, -1] : [0, 0])), bias: [0, 0] },
      { kernel: [[input.a], [-input.a]], bias: [input.b] },
    ],
    training: handSetTraining(RiskTrainingConfigSchema.parse({ inputTransform: 'none' })),
  };
  return exportRiskOnnx(model, { name: 'risk', featureSet: customerFeatures.version });
}

/**
 * The same function as linearRiskOnnx (the same probabilities, exactly: every weight added is 1 or 0), computed
 * through `depth` more hidden layers of width 2 that pass the ReLU pair on unchanged: a graph doing more work per
 * row (two more nodes per layer) for the same answers, so a test can vary inference cost and nothing else.
 */
export function deepRiskOnnx(input: {
  columns?: readonly string[];
  column: number;
  a: number;
  b: number;
  depth: number;
}): Uint8Array {
  const cols = [...(input.columns ?? columns)];
  const identity = {
    kernel: [
      [1, 0],
      [0, 1],
    ],
    bias: [0, 0],
  };
  const model: TrainedRiskModel = {
    kind: 'risk',
    columns: cols,
    scaler: { mean: cols.map(() => 0), std: cols.map(() => 1) },
    layers: [
      { kernel: cols.map((_, i) => (i === input.column ? [1, -1] : [0, 0])), bias: [0, 0] },
      ...Array.from({ length: input.depth }, () => identity),
      { kernel: [[input.a], [-input.a]], bias: [input.b] },
    ],
    training: handSetTraining(RiskTrainingConfigSchema.parse({ inputTransform: 'none' })),
  };
  return exportRiskOnnx(model, { name: 'risk', featureSet: customerFeatures.version });
}

/** A risk model whose probability is sigmoid(slope · amount/100 + bias): versions tell themselves apart by bias. */
export function riskOnnx(opts: { bias: number; slope?: number }): Uint8Array {
  return linearRiskOnnx({ column: columns.indexOf('amount'), a: (opts.slope ?? 1) / 100, b: opts.bias });
}

/** A segment model with two centres on amount: segment 0 for amounts near 0, segment 1 for amounts near `split`·2. */
export function segmentOnnx(split = 100): Uint8Array {
  const amountIndex = columns.indexOf('amount');
  const centre = (a: number) => columns.map((_, i) => (i === amountIndex ? a : 0));
  const model: TrainedSegmentModel = {
    kind: 'segment',
    columns,
    scaler: { mean: columns.map(() => 0), std: columns.map(() => 1) },
    centroids: [centre(0), centre(2 * split)],
    centroidsRaw: [centre(0), centre(2 * split)],
    metrics: { k: 2, inertia: 0, silhouette: 0, silhouetteSampled: false, sizes: [1, 1], candidates: [] },
    training: {
      rows: 0,
      iterations: 0,
      config: { kRange: [2, 2], nInit: 1, maxIterations: 1, tolerance: 0, silhouetteSample: 10, seed: 1 },
    },
  };
  return exportSegmentOnnx(model, { name: 'segment', featureSet: customerFeatures.version });
}

/**
 * Lineage good enough for the registry: the real feature set's name and version, fixed numbers; `metrics` and the
 * feature `columns` replace the defaults where given.
 */
export function lineage(opts: { metrics?: Record<string, number>; columns?: readonly string[] } = {}) {
  const { metrics = { rocAuc: 0.9, brier: 0.05 }, columns: featureColumns = columns } = opts;
  return {
    featureSet: {
      name: customerFeatures.name,
      version: customerFeatures.version,
      columns: [...featureColumns],
    },
    dataRange: { from: 0, to: 1000 },
    metrics,
    hyperParameters: {},
    codeVersion: 'test',
    backend: { name: 'cpu', reason: 'test' },
    trainedBy: 'test',
  };
}

/** Registers a risk and a segment version and makes them champions; returns the records. */
export async function registerChampions(
  registry: ModelRegistry,
  riskBias = 0,
): Promise<{ risk: ModelVersion; segment: ModelVersion }> {
  const risk = await registry.register({
    name: 'risk',
    artifact: riskOnnx({ bias: riskBias }),
    lineage: lineage(),
  });
  const segment = await registry.register({
    name: 'segment',
    artifact: segmentOnnx(),
    lineage: lineage({ metrics: { silhouette: 0.5 } }),
  });
  await registry.moveAlias({
    name: 'risk',
    alias: 'champion',
    to: risk.version,
    actor: 'test',
    reason: 'setup',
  });
  await registry.moveAlias({
    name: 'segment',
    alias: 'champion',
    to: segment.version,
    actor: 'test',
    reason: 'setup',
  });
  return { risk, segment };
}

export { width as FEATURE_WIDTH };
