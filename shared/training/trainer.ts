// The trainer: event-log range → offline features → TensorFlow.js model → ONNX (checked) → metrics, baseline, lineage.
import { buildBaseline } from '../drift/baseline.ts';
import type { ModelName, TimeRange } from '../events/index.ts';
import type { FeatureSet } from '../features/index.ts';
import { loadOnnxModel, type OnnxModel } from '../inference/onnx.ts';
import { assignSegment, scoreRisk } from '../inference/scoring.ts';
import type { EventLog } from '../log/index.ts';
import type { Holdout, Lineage } from '../registry/index.ts';
import type { Logger } from '../runtime/logger.ts';
import { type BackendName, loadTrainingBackend } from './backend.ts';
import { latestPerCustomer, readLabelledRows, splitByTime } from './dataset.ts';
import { averagePrecision, brierScore, logLoss, rocAuc } from './metrics.ts';
import { exportRiskOnnx, exportSegmentOnnx } from './onnx-export.ts';
import { predictRisk, type RiskTrainingConfig, trainRiskModel } from './risk-model.ts';
import { assignSegments, type SegmentTrainingConfig, trainSegmentModel } from './segment-model.ts';

/** The customer-level behaviour the segment model clusters on: frequency, monetary value, spread, recency. */
export const SEGMENT_COLUMNS = [
  'txn_count_30d',
  'amount_mean_30d',
  'amount_std_30d',
  'seconds_since_last',
] as const;

/** Flags and indicators: categorical for drift statistics. */
const CATEGORICAL = {
  new_country: 'categorical',
  new_device: 'categorical',
  is_online: 'categorical',
} as const;

/*
 * driftBaselineNote — which population each monitored stream is. detect-drift adds one observation to a model's
 * window per features.updated (the inputs) and per score.computed (the prediction), i.e. one per accepted
 * transaction, so every baseline is built per transaction, from the training split's rows (the oldest 80 % of the
 * range, in time order, each featurized point-in-time from the customer's events before it):
 * | window  | stream                                   | live: one per | baseline: one per training transaction |
 * |---------|------------------------------------------|---------------|----------------------------------------|
 * | risk    | each column of the feature set (16)      | transaction   | its feature value                      |
 * | risk    | risk score                               | transaction   | the trained model's score of it        |
 * | segment | SEGMENT_COLUMNS (4)                      | transaction   | its feature value                      |
 * | segment | segment id                               | transaction   | the trained model's segment for it     |
 * No stream is per customer live. The segment model is fitted on one row per customer (each one's latest): that is
 * its training population, not the population its window sees. A customer appears several times in a window and
 * many times in training, so each stream also records how alike a customer's values are (unitCorrelation,
 * effectiveCount: shared/drift/clustering.ts) and detect-drift's tests count repeated customers accordingly.
 */

/** The largest ONNX/tfjs output gap the export may show on the holdout. */
export const PARITY_TOLERANCE = 1e-4;

export interface TrainingRequest {
  model: ModelName;
  range: TimeRange;
  eventLog: EventLog;
  featureSet: FeatureSet;
  log: Logger;
  codeVersion: string;
  backend?: BackendName | undefined;
  cudaVisibleDevices?: string | undefined;
  holdoutShare?: number;
  risk?: Partial<RiskTrainingConfig>;
  segment?: Partial<SegmentTrainingConfig>;
  /** Rows younger than this at the range's end are left out (labels still to come); TRAINING_LABEL_MATURITY_MS. */
  labelMaturityMs?: number;
  /** Most holdout rows kept with the version for promotion gates (the newest ones). */
  maxHoldoutRows?: number;
}

/** What a training run produces: everything the registry needs to register the version. */
export interface TrainingResult {
  model: ModelName;
  artifact: Uint8Array;
  lineage: Lineage;
  holdout?: Holdout;
}

/** Raised when the data cannot train a model (too few rows, no positives): training.failed with this reason. */
export class TrainingDataError extends Error {}

/** Trains one model on a log range and returns the checked ONNX artifact with its metrics, baseline and lineage. */
export async function train(req: TrainingRequest): Promise<TrainingResult> {
  const data = await readLabelledRows({
    eventLog: req.eventLog,
    range: req.range,
    featureSet: req.featureSet,
    ...(req.labelMaturityMs === undefined ? {} : { labelMaturityMs: req.labelMaturityMs }),
  });
  req.log.info({ rows: data.rows.length, labelled: data.labelled, range: req.range }, 'training data read');
  if (data.rows.length < 50)
    throw new TrainingDataError(`only ${data.rows.length} transactions in the range; need at least 50`);
  const { tf, backend } = await loadTrainingBackend({
    log: req.log,
    ...(req.backend ? { force: req.backend } : {}),
    ...(req.cudaVisibleDevices ? { cudaVisibleDevices: req.cudaVisibleDevices } : {}),
  });
  const rows = data.rows.map((r, i) => ({ ...r, label: data.labels[i] ?? 0 }));
  const split = splitByTime(rows, req.holdoutShare ?? 0.2);
  const lineageBase = {
    dataRange: req.range,
    holdoutRange: { from: split.cut, to: req.range.to },
    codeVersion: req.codeVersion,
    backend: { name: backend.name, reason: backend.reason },
    trainedBy: 'flywheel-trainer',
  };
  // What both models' lineages share; each adds what its fit produced.
  const lineage = (
    columns: string[],
    fitted: Pick<Lineage, 'metrics' | 'hyperParameters' | 'baseline'>,
  ): Lineage => ({
    ...lineageBase,
    featureSet: { name: req.featureSet.name, version: req.featureSet.version, columns },
    ...fitted,
  });

  if (req.model === 'risk') {
    const positives = (list: typeof rows) => list.filter((r) => r.label === 1).length;
    if (positives(split.train) < 5 || positives(split.holdout) < 1) {
      throw new TrainingDataError(
        `too few fraud labels: ${positives(split.train)} in training, ${positives(split.holdout)} in holdout`,
      );
    }
    const columns = [...req.featureSet.columns];
    const model = await trainRiskModel({
      tf,
      data: { columns, rows: split.train.map((r) => r.values) },
      labels: split.train.map((r) => r.label),
      config: req.risk ?? {},
    });
    const artifact = exportRiskOnnx(model, { name: 'risk', featureSet: req.featureSet.version });
    const holdoutRows = split.holdout.map((r) => r.values);
    const onnx = await runOnnx(artifact, holdoutRows, scoreRisk);
    const reference = predictRisk({ tf, model, rows: holdoutRows });
    checkParity(onnx, reference);
    const labels = split.holdout.map((r) => r.label);
    const metrics = {
      rocAuc: rocAuc(labels, onnx),
      prAuc: averagePrecision(labels, onnx),
      logLoss: logLoss(labels, onnx),
      brier: brierScore(labels, onnx),
      trainRows: split.train.length,
      holdoutRows: split.holdout.length,
      holdoutPositives: labels.filter((l) => l === 1).length,
    };
    const trainScores = Array.from(
      await runOnnx(
        artifact,
        split.train.map((r) => r.values),
        scoreRisk,
      ),
    );
    const keep = split.holdout.slice(-(req.maxHoldoutRows ?? 5000));
    return {
      model: 'risk',
      artifact,
      lineage: lineage(columns, {
        metrics,
        hyperParameters: flat({
          ...model.training.config,
          hiddenUnits: model.training.config.hiddenUnits.join('x'),
          epochsRun: model.training.epochsRun,
        }),
        // Per transaction, as detect-drift's risk window (see driftBaselineNote above).
        baseline: buildBaseline({
          columns,
          rows: split.train.map((r) => r.values),
          kinds: CATEGORICAL,
          prediction: { name: 'risk', kind: 'numeric', values: trainScores },
          units: split.train.map((r) => r.customerId),
        }),
      }),
      holdout: { columns, rows: keep.map((r) => r.values), labels: keep.map((r) => r.label) },
    };
  }

  const columns = [...SEGMENT_COLUMNS];
  const index = columns.map((c) => req.featureSet.columns.indexOf(c));
  const project = (values: readonly number[]) => index.map((i) => values[i] ?? 0);
  const trainCustomers = latestPerCustomer(split.train, split.cut).map((r) => project(r.values));
  const holdoutCustomers = latestPerCustomer(rows, Number.POSITIVE_INFINITY).map((r) => project(r.values));
  if (trainCustomers.length < 10)
    throw new TrainingDataError(`only ${trainCustomers.length} customers before the holdout; need 10`);
  const model = trainSegmentModel({ data: { columns, rows: trainCustomers }, config: req.segment ?? {} });
  const artifact = exportSegmentOnnx(model, { name: 'segment', featureSet: req.featureSet.version });
  const onnx = await runOnnx(artifact, holdoutCustomers, assignSegment);
  const reference = assignSegments({ model, rows: holdoutCustomers });
  if (onnx.some((s, i) => s !== reference[i]))
    throw new Error('ONNX segments differ from the trained assignment');
  // The segment window is per transaction too (see driftBaselineNote above): the baseline is every training
  // transaction's segment inputs and the segment the model assigns to each — not the one row per customer the model
  // is fitted on, where a customer paying 120 times a month weighs as much as one paying 9 times.
  const trainTransactions = split.train.map((r) => project(r.values));
  const transactionSegments = Array.from(await runOnnx(artifact, trainTransactions, assignSegment));
  return {
    model: 'segment',
    artifact,
    lineage: lineage(columns, {
      metrics: {
        k: model.metrics.k,
        inertia: model.metrics.inertia,
        silhouette: model.metrics.silhouette,
        customers: trainCustomers.length,
        ...Object.fromEntries(model.metrics.sizes.map((n, s) => [`size_${s}`, n])),
      },
      hyperParameters: flat({ ...model.training.config, kRange: model.training.config.kRange.join('-') }),
      baseline: buildBaseline({
        columns,
        rows: trainTransactions,
        prediction: { name: 'segment', kind: 'categorical', values: transactionSegments },
        units: split.train.map((r) => r.customerId),
      }),
    }),
  };
}

/** Loads the exported artifact just long enough to run `infer` (scoreRisk or assignSegment) on `rows` in one batch. */
async function runOnnx<T>(
  artifact: Uint8Array,
  rows: readonly (readonly number[])[],
  infer: (model: OnnxModel, rows: Float32Array, nRows: number) => Promise<T>,
): Promise<T> {
  const model = await loadOnnxModel(artifact);
  try {
    return await infer(model, Float32Array.from(rows.flat()), rows.length);
  } finally {
    await model.close();
  }
}

/** The exported graph must reproduce the trained model: the largest gap on the holdout stays within 1e-4. */
function checkParity(onnx: Float32Array, reference: Float32Array): void {
  let worst = 0;
  for (let i = 0; i < onnx.length; i++)
    worst = Math.max(worst, Math.abs((onnx[i] ?? 0) - (reference[i] ?? 0)));
  if (worst > PARITY_TOLERANCE)
    throw new Error(`ONNX export differs from the trained model by ${worst} (> ${PARITY_TOLERANCE})`);
}

function flat(o: Record<string, unknown>): Record<string, number | string | boolean | null> {
  const out: Record<string, number | string | boolean | null> = {};
  for (const [k, v] of Object.entries(o)) {
    out[k] =
      v === null || typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean'
        ? v
        : JSON.stringify(v);
  }
  return out;
}
