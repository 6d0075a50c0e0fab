// Champions for the benchmarks, shaped like the trainer's defaults: an MLP (16, 8 hidden; log1p inputs) and 4-means.
import { customerFeatures } from '../../shared/features/index.ts';
import type { ModelRegistry } from '../../shared/registry/index.ts';
import { exportRiskOnnx, exportSegmentOnnx } from '../../shared/training/onnx-export.ts';
import { createRng } from '../../shared/training/random.ts';
import type { TrainedRiskModel } from '../../shared/training/risk-model.ts';
import type { TrainedSegmentModel } from '../../shared/training/segment-model.ts';
import { handSetTraining, lineage } from '../../test/support/models.ts';

const columns = [...customerFeatures.columns];

/** A seeded uniform source in [-1, 1), so every run serves the same weights. */
function uniform(seed: number): () => number {
  const rng = createRng(seed);
  return () => rng.next() * 2 - 1;
}

function dense(rnd: () => number, inputs: number, outputs: number) {
  const scale = Math.sqrt(2 / inputs);
  return {
    kernel: Array.from({ length: inputs }, () => Array.from({ length: outputs }, () => rnd() * scale)),
    bias: Array.from({ length: outputs }, () => rnd() * 0.1),
  };
}

/** The risk MLP at the trainer's default size (width → 16 → 8 → 1, log1p inputs, scaler), random weights. */
export function benchRiskOnnx(seed = 1): Uint8Array {
  const rnd = uniform(seed);
  const width = columns.length;
  const model: TrainedRiskModel = {
    kind: 'risk',
    columns,
    inputTransform: 'log1p',
    scaler: { mean: columns.map(() => 1), std: columns.map(() => 2) },
    layers: [dense(rnd, width, 16), dense(rnd, 16, 8), dense(rnd, 8, 1)],
    training: handSetTraining({
      hiddenUnits: [16, 8],
      epochs: 1,
      batchSize: 128,
      learningRate: 0.01,
      l2: 0,
      classWeight: 'none',
      correctPriorShift: false,
      validationFraction: 0,
      patience: 1,
      seed,
      inputTransform: 'log1p',
    }),
  };
  return exportRiskOnnx(model, { name: 'risk', featureSet: customerFeatures.version });
}

/** A k-means segmentation with 4 centres over every feature column. */
export function benchSegmentOnnx(seed = 2): Uint8Array {
  const rnd = uniform(seed);
  const centroids = Array.from({ length: 4 }, () => columns.map(() => rnd() * 2));
  const model: TrainedSegmentModel = {
    kind: 'segment',
    columns,
    scaler: { mean: columns.map(() => 10), std: columns.map(() => 50) },
    centroids,
    centroidsRaw: centroids,
    metrics: {
      k: 4,
      inertia: 0,
      silhouette: 0,
      silhouetteSampled: false,
      sizes: [1, 1, 1, 1],
      candidates: [],
    },
    training: {
      rows: 0,
      iterations: 0,
      config: { k: 4, kRange: [4, 4], nInit: 1, maxIterations: 1, tolerance: 0, silhouetteSample: 10, seed },
    },
  };
  return exportSegmentOnnx(model, { name: 'segment', featureSet: customerFeatures.version });
}

/** Registers both models and makes them the champions, as promote would. */
export async function registerBenchChampions(registry: ModelRegistry): Promise<void> {
  for (const [name, artifact] of [
    ['risk', benchRiskOnnx()],
    ['segment', benchSegmentOnnx()],
  ] as const) {
    const record = await registry.register({ name, artifact, lineage: lineage() });
    await registry.moveAlias({
      name,
      alias: 'champion',
      to: record.version,
      actor: 'bench',
      reason: 'bench',
    });
  }
}
