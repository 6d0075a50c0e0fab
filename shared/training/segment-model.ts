// The segment model: k-means on standardised customer features, k fixed or chosen by silhouette, with its metrics.
import { z } from 'zod';
import { InvalidInputError } from '../errors/index.ts';
import { canonicalOrder, kMeans, type KMeansResult } from './kmeans.ts';
import { type FeatureMatrix, fitScaler, ScalerSchema, scaleRows, validateMatrix } from './matrix.ts';
import { inertia as inertiaOf, silhouette } from './metrics.ts';
import { createRng } from './random.ts';

/** Hyper-parameters; `k` fixes the number of segments, otherwise the best silhouette in `kRange` wins. */
export const SegmentTrainingConfigSchema = z.object({
  k: z.int().min(2).optional(),
  kRange: z
    .tuple([z.int().min(2), z.int().min(2)])
    .refine(([lo, hi]) => lo <= hi, 'kRange must be [min, max] with min ≤ max')
    .default([2, 8]),
  nInit: z.int().positive().default(4),
  maxIterations: z.int().positive().default(100),
  /** Stop when the centres' summed squared shift (in standardised units) falls below this. */
  tolerance: z.number().nonnegative().default(1e-8),
  /** Silhouette is O(n²): above this many rows it is computed on a seeded sample of this size. */
  silhouetteSample: z.int().min(10).default(2000),
  seed: z.int().default(42),
});
export type SegmentTrainingConfig = z.infer<typeof SegmentTrainingConfigSchema>;

/** Quality of a segmentation; inertia is in standardised units (the space the clustering ran in). */
export const SegmentMetricsSchema = z.object({
  k: z.int(),
  inertia: z.number(),
  silhouette: z.number(),
  silhouetteSampled: z.boolean(),
  sizes: z.array(z.int()),
  candidates: z.array(z.object({ k: z.int(), inertia: z.number(), silhouette: z.number() })),
});
export type SegmentMetrics = z.infer<typeof SegmentMetricsSchema>;

/**
 * A trained segmentation. `centroids` are in standardised space (what the ONNX graph compares scaled inputs
 * with); `centroidsRaw` are the same centres in the original units, for people. Segment 0 is the largest.
 */
export const TrainedSegmentModelSchema = z.object({
  kind: z.literal('segment'),
  columns: z.array(z.string()),
  scaler: ScalerSchema,
  centroids: z.array(z.array(z.number())),
  centroidsRaw: z.array(z.array(z.number())),
  metrics: SegmentMetricsSchema,
  training: z.object({ rows: z.int(), iterations: z.int(), config: SegmentTrainingConfigSchema }),
});
export type TrainedSegmentModel = z.infer<typeof TrainedSegmentModelSchema>;

function toRows(flat: Float64Array, width: number): number[][] {
  return Array.from({ length: flat.length / width }, (_, c) =>
    Array.from(flat.subarray(c * width, (c + 1) * width)),
  );
}

/** Trains k-means (plain TypeScript: for a few thousand customers it beats tensor round-trips) and scores it. */
export function trainSegmentModel(opts: {
  data: FeatureMatrix;
  config?: Partial<SegmentTrainingConfig>;
}): TrainedSegmentModel {
  const config = SegmentTrainingConfigSchema.parse(opts.config ?? {});
  const width = validateMatrix(opts.data);
  const n = opts.data.rows.length;
  const [lo, hi] = config.k !== undefined ? [config.k, config.k] : config.kRange;
  if (n < hi + 1)
    throw new InvalidInputError('rows', `k-means with k up to ${hi} needs more than ${hi} rows, got ${n}`);
  const scaler = fitScaler(opts.data.rows, width);
  const data = scaleRows(opts.data.rows, scaler);
  const points = { data, width };
  const sampleSize = Math.min(config.silhouetteSample, n);
  const candidates: { k: number; inertia: number; silhouette: number; result: KMeansResult }[] = [];
  for (let k = lo; k <= hi; k++) {
    const rng = createRng(config.seed + k);
    const raw = kMeans({
      data,
      width,
      k,
      rng,
      nInit: config.nInit,
      maxIterations: config.maxIterations,
      tolerance: config.tolerance,
    });
    const result = canonicalOrder(raw, { width, k });
    const score = silhouette({ points, labels: result.labels, sampleSize, seed: config.seed });
    candidates.push({ k, inertia: result.inertia, silhouette: score, result });
  }
  const best = candidates.reduce((a, b) => (b.silhouette > a.silhouette ? b : a));
  const { result, k } = best;
  const sizes = new Array<number>(k).fill(0);
  for (const l of result.labels) sizes[l] = (sizes[l] ?? 0) + 1;
  const centroids = toRows(result.centroids, width);
  return {
    kind: 'segment',
    columns: [...opts.data.columns],
    scaler,
    centroids,
    centroidsRaw: centroids.map((c) => c.map((v, j) => v * (scaler.std[j] ?? 1) + (scaler.mean[j] ?? 0))),
    metrics: {
      k,
      inertia: inertiaOf({ points, labels: result.labels, centroids: result.centroids }),
      silhouette: best.silhouette,
      silhouetteSampled: sampleSize < n,
      sizes,
      candidates: candidates.map((c) => ({ k: c.k, inertia: c.inertia, silhouette: c.silhouette })),
    },
    training: { rows: n, iterations: result.iterations, config },
  };
}

/** Nearest centroid per raw row, computed in TypeScript (the reference the ONNX graph is checked against). */
export function assignSegments(opts: {
  model: TrainedSegmentModel;
  rows: readonly (readonly number[])[];
}): Int32Array {
  const { model } = opts;
  const width = model.columns.length;
  const scaled = scaleRows(opts.rows, model.scaler);
  const out = new Int32Array(opts.rows.length);
  for (let i = 0; i < opts.rows.length; i++) {
    let best = 0;
    let bestD = Number.POSITIVE_INFINITY;
    model.centroids.forEach((c, id) => {
      let d = 0;
      for (let f = 0; f < width; f++) d += ((scaled[i * width + f] ?? 0) - (c[f] ?? 0)) ** 2;
      if (d < bestD) {
        bestD = d;
        best = id;
      }
    });
    out[i] = best;
  }
  return out;
}
