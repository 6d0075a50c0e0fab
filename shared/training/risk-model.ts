// The risk model: a small MLP giving P(fraud) from raw features, trained with TensorFlow.js, reproducible by seed.
import { z } from 'zod';
import { InvalidInputError } from '../errors/index.ts';
import type { Tensor as TfTensor } from '@tensorflow/tfjs';
import type { Tf } from './backend-probe.ts';
import { type FeatureMatrix, fitScaler, ScalerSchema, scaleRows, validateMatrix } from './matrix.ts';
import { createRng, permutation, splitIndices } from './random.ts';
import { createMlp, type Mlp, mlpLogits } from './risk-mlp.ts';

/** Hyper-parameters; every field has a default so `{}` trains a sensible model. */
export const RiskTrainingConfigSchema = z.object({
  hiddenUnits: z.array(z.int().positive()).min(1).max(4).default([16, 8]),
  epochs: z.int().positive().default(60),
  batchSize: z.int().positive().default(128),
  learningRate: z.number().positive().default(0.01),
  /** L2 penalty on the kernels. */
  l2: z.number().nonnegative().default(3e-3),
  /** `balanced` weighs each class by n / (2·n_class), as scikit-learn does; rare positives then count. */
  classWeight: z
    .union([
      z.literal('balanced'),
      z.literal('none'),
      z.object({ negative: z.number().positive(), positive: z.number().positive() }),
    ])
    .default('balanced'),
  /** Shift the output bias back by log(w₊/w₋) so class weighting does not inflate the probabilities. */
  correctPriorShift: z.boolean().default(true),
  /** Share of the training rows held out (stratified) for early stopping; 0 trains for exactly `epochs`. */
  validationFraction: z.number().min(0).max(0.5).default(0.2),
  /** Epochs without a better validation loss before stopping; the best epoch's weights are kept. */
  patience: z.int().positive().default(10),
  seed: z.int().default(42),
  /**
   * `log1p` feeds log(1 + max(x, 0)) to the network (and bakes it into the ONNX graph): counts, amounts and seconds
   * are heavy-tailed, and a small MLP learns them far better on a log scale. `none` feeds the raw values.
   */
  inputTransform: z.enum(['none', 'log1p']).default('log1p'),
});
export type RiskTrainingConfig = z.infer<typeof RiskTrainingConfigSchema>;

const DenseLayerSchema = z.object({ kernel: z.array(z.array(z.number())), bias: z.array(z.number()) });
export type DenseLayer = z.infer<typeof DenseLayerSchema>;

/** A trained risk model in plain arrays: hidden layers use ReLU, the last layer a sigmoid; inputs are raw. */
export const TrainedRiskModelSchema = z.object({
  kind: z.literal('risk'),
  columns: z.array(z.string()),
  /** Applied to raw inputs before the scaler; absent means none. */
  inputTransform: z.enum(['none', 'log1p']).optional(),
  scaler: ScalerSchema,
  layers: z.array(DenseLayerSchema).min(2),
  training: z.object({
    rows: z.int(),
    positives: z.int(),
    epochsRun: z.int(),
    bestEpoch: z.int(),
    trainLoss: z.array(z.number()),
    validationLoss: z.array(z.number()),
    classWeight: z.object({ negative: z.number(), positive: z.number() }),
    config: RiskTrainingConfigSchema,
  }),
});
export type TrainedRiskModel = z.infer<typeof TrainedRiskModelSchema>;

function classWeights(
  config: RiskTrainingConfig,
  n: number,
  positives: number,
): { negative: number; positive: number } {
  if (config.classWeight === 'none') return { negative: 1, positive: 1 };
  if (config.classWeight === 'balanced')
    return { negative: n / (2 * (n - positives)), positive: n / (2 * positives) };
  return config.classWeight;
}

function checkLabels(labels: readonly number[], rows: number): number {
  if (labels.length !== rows)
    throw new InvalidInputError('labels', `${labels.length} labels for ${rows} rows`);
  let positives = 0;
  labels.forEach((y, i) => {
    if (y !== 0 && y !== 1) throw new InvalidInputError(`labels[${i}]`, 'labels must be 0 or 1');
    positives += y;
  });
  if (positives === 0 || positives === rows)
    throw new InvalidInputError('labels', 'training needs both classes');
  return positives;
}

/**
 * Trains the MLP on standardised features with class weights, Adam, seeded initialisation and seeded shuffles;
 * the same seed on the same backend gives the same weights. Returns plain arrays ready for ONNX export.
 */
export async function trainRiskModel(opts: {
  tf: Tf;
  data: FeatureMatrix;
  labels: readonly number[];
  config?: Partial<RiskTrainingConfig>;
}): Promise<TrainedRiskModel> {
  const { tf, data } = opts;
  const config = RiskTrainingConfigSchema.parse(opts.config ?? {});
  const width = validateMatrix(data);
  const positives = checkLabels(opts.labels, data.rows.length);
  const weights = classWeights(config, data.rows.length, positives);
  const split =
    config.validationFraction > 0
      ? splitIndices({
          n: data.rows.length,
          fraction: config.validationFraction,
          seed: config.seed,
          labels: opts.labels,
        })
      : { train: Int32Array.from(data.rows.keys()), holdout: new Int32Array(0) };
  const inputs =
    config.inputTransform === 'log1p' ? data.rows.map((r) => r.map(log1pNonNegative)) : data.rows;
  const fitRows = Array.from(split.train, (i) => inputs[i] ?? []);
  const scaler = fitScaler(fitRows, width);
  const allScaled = scaleRows(inputs, scaler);
  const pick = (idx: Int32Array) => {
    const x = new Float32Array(idx.length * width);
    const y = new Float32Array(idx.length);
    const w = new Float32Array(idx.length);
    idx.forEach((row, k) => {
      x.set(allScaled.subarray(row * width, (row + 1) * width), k * width);
      y[k] = opts.labels[row] ?? 0;
      w[k] = y[k] === 1 ? weights.positive : weights.negative;
    });
    return {
      x: tf.tensor2d(x, [idx.length, width]),
      y: tf.tensor2d(y, [idx.length, 1]),
      w: tf.tensor2d(w, [idx.length, 1]),
    };
  };
  const train = pick(split.train);
  const valid = split.holdout.length > 0 ? pick(split.holdout) : null;
  const rng = createRng(config.seed);
  const mlp = createMlp({ tf, sizes: [width, ...config.hiddenUnits, 1], rng });
  const optimizer = tf.train.adam(config.learningRate);
  const loss = (x: TfTensor, y: TfTensor, w: TfTensor, withPenalty: boolean) => {
    const z = mlpLogits({ tf, mlp, x });
    // Weighted binary cross-entropy from logits: max(z,0) − z·y + log(1 + e^−|z|), numerically stable.
    const bce = tf.add(tf.sub(tf.relu(z), tf.mul(z, y)), tf.log1p(tf.exp(tf.neg(tf.abs(z)))));
    const data = tf.div(tf.sum(tf.mul(bce, w)), tf.sum(w)).asScalar();
    if (!withPenalty || config.l2 === 0) return data;
    return tf.add(data, tf.mul(config.l2, tf.addN(mlp.kernels.map((k) => tf.sum(tf.square(k)))))).asScalar();
  };
  const history = { trainLoss: [] as number[], validationLoss: [] as number[] };
  let best = { loss: Number.POSITIVE_INFINITY, epoch: 0, layers: readLayers(mlp) };
  let epoch = 0;
  try {
    for (epoch = 1; epoch <= config.epochs; epoch++) {
      const order = permutation(split.train.length, rng);
      const costs: TfTensor[] = [];
      for (let start = 0; start < order.length; start += config.batchSize) {
        const batchIdx = tf.tensor1d(order.subarray(start, start + config.batchSize), 'int32');
        const cost = tf.tidy(() => {
          const x = tf.gather(train.x, batchIdx);
          const y = tf.gather(train.y, batchIdx);
          const w = tf.gather(train.w, batchIdx);
          return optimizer.minimize(() => loss(x, y, w, true), true, mlp.variables) ?? tf.scalar(Number.NaN);
        });
        batchIdx.dispose();
        costs.push(cost);
      }
      const meanCost = tf.tidy(() => tf.mean(tf.stack(costs)));
      history.trainLoss.push((await meanCost.data())[0] ?? Number.NaN);
      tf.dispose([meanCost, ...costs]);
      if (valid === null) continue;
      const vLoss = tf.tidy(() => loss(valid.x, valid.y, valid.w, false));
      const v = (await vLoss.data())[0] ?? Number.NaN;
      vLoss.dispose();
      history.validationLoss.push(v);
      if (v < best.loss) best = { loss: v, epoch, layers: readLayers(mlp) };
      else if (epoch - best.epoch >= config.patience) break;
    }
    epoch = Math.min(epoch, config.epochs);
    const layers = valid === null ? readLayers(mlp) : best.layers;
    const last = layers[layers.length - 1];
    if (config.correctPriorShift && last) {
      const shift = Math.log(weights.positive / weights.negative);
      last.bias = last.bias.map((b) => Math.fround(b - shift));
    }
    return {
      kind: 'risk',
      columns: [...data.columns],
      inputTransform: config.inputTransform,
      scaler,
      layers,
      training: {
        rows: data.rows.length,
        positives,
        epochsRun: epoch,
        bestEpoch: valid === null ? epoch : best.epoch,
        ...history,
        classWeight: weights,
        config,
      },
    };
  } finally {
    tf.dispose([train.x, train.y, train.w, ...(valid ? [valid.x, valid.y, valid.w] : []), ...mlp.variables]);
    optimizer.dispose();
  }
}

/** log(1 + max(x, 0)), computed in float32 like the ONNX graph and tfjs do. */
function log1pNonNegative(x: number): number {
  return Math.fround(Math.log1p(Math.max(Math.fround(x), 0)));
}

function readLayers(mlp: Mlp): DenseLayer[] {
  return mlp.kernels.map((k, i) => ({
    kernel: k.arraySync(),
    bias: Array.from(mlp.biases[i]?.dataSync() ?? []),
  }));
}

/** P(fraud) for raw rows computed by TensorFlow.js from the plain weights (the reference for ONNX parity). */
export function predictRisk(opts: {
  tf: Tf;
  model: TrainedRiskModel;
  rows: readonly (readonly number[])[];
}): Float32Array {
  const { tf, model } = opts;
  const width = model.columns.length;
  return tf.tidy(() => {
    const raw = tf.tensor2d(
      opts.rows.flatMap((r) => [...r]),
      [opts.rows.length, width],
    );
    const input = model.inputTransform === 'log1p' ? tf.log1p(tf.relu(raw)) : raw;
    let h = tf.div(tf.sub(input, tf.tensor1d(model.scaler.mean)), tf.tensor1d(model.scaler.std));
    model.layers.forEach((layer, i) => {
      h = tf.add(tf.matMul(h, tf.tensor2d(layer.kernel)), tf.tensor1d(layer.bias));
      h = i < model.layers.length - 1 ? tf.relu(h) : tf.sigmoid(h);
    });
    return h.dataSync<'float32'>();
  });
}
