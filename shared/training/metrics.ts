// Model-quality metrics with scikit-learn's definitions, so a number in a model card means what readers expect.
import { InvalidInputError } from '../errors/index.ts';
import { createRng, permutation } from './random.ts';

type Numbers = ArrayLike<number>;

function classCounts(labels: Numbers, scores: Numbers): { pos: number; neg: number } {
  if (labels.length !== scores.length) {
    throw new InvalidInputError('scores', `got ${scores.length} scores for ${labels.length} labels`);
  }
  let pos = 0;
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i];
    if (y !== 0 && y !== 1) throw new InvalidInputError(`labels[${i}]`, 'labels must be 0 or 1');
    pos += y;
  }
  return { pos, neg: labels.length - pos };
}

function orderBy(scores: Numbers, descending: boolean): Int32Array {
  const idx = Int32Array.from({ length: scores.length }, (_, i) => i);
  const sign = descending ? -1 : 1;
  idx.sort((a, b) => sign * ((scores[a] ?? 0) - (scores[b] ?? 0)));
  return idx;
}

/** ROC AUC as the Mann–Whitney U statistic (tied scores count one half), equal to sklearn's roc_auc_score. */
export function rocAuc(labels: Numbers, scores: Numbers): number {
  const { pos, neg } = classCounts(labels, scores);
  if (pos === 0 || neg === 0) throw new InvalidInputError('labels', 'ROC AUC needs both classes');
  const idx = orderBy(scores, false);
  let rankSumPos = 0;
  for (let start = 0; start < idx.length; ) {
    const s = scores[idx[start] ?? 0];
    let end = start;
    let posInGroup = 0;
    while (end < idx.length && scores[idx[end] ?? 0] === s) {
      posInGroup += labels[idx[end] ?? 0] ?? 0;
      end++;
    }
    const averageRank = (start + 1 + end) / 2;
    rankSumPos += averageRank * posInGroup;
    start = end;
  }
  return (rankSumPos - (pos * (pos + 1)) / 2) / (pos * neg);
}

/** Average precision (area under the step precision–recall curve), equal to sklearn's average_precision_score. */
export function averagePrecision(labels: Numbers, scores: Numbers): number {
  const { pos } = classCounts(labels, scores);
  if (pos === 0) throw new InvalidInputError('labels', 'average precision needs at least one positive');
  const idx = orderBy(scores, true);
  let tp = 0;
  let seen = 0;
  let prevRecall = 0;
  let ap = 0;
  for (let start = 0; start < idx.length; ) {
    const s = scores[idx[start] ?? 0];
    let end = start;
    while (end < idx.length && scores[idx[end] ?? 0] === s) {
      tp += labels[idx[end] ?? 0] ?? 0;
      end++;
    }
    seen = end;
    const recall = tp / pos;
    ap += (recall - prevRecall) * (tp / seen);
    prevRecall = recall;
    start = end;
  }
  return ap;
}

/** Probabilities are clipped to [LOG_LOSS_EPS, 1 − LOG_LOSS_EPS] so one confident mistake stays finite. */
export const LOG_LOSS_EPS = 1e-15;

/** Mean binary cross-entropy with clipped probabilities (sklearn's log_loss with eps=1e-15). */
export function logLoss(labels: Numbers, probabilities: Numbers): number {
  const eps = LOG_LOSS_EPS;
  classCounts(labels, probabilities);
  let sum = 0;
  for (let i = 0; i < labels.length; i++) {
    const p = Math.min(Math.max(probabilities[i] ?? 0, eps), 1 - eps);
    sum -= labels[i] === 1 ? Math.log(p) : Math.log(1 - p);
  }
  return sum / labels.length;
}

/** Mean squared difference between probability and outcome (sklearn's brier_score_loss). */
export function brierScore(labels: Numbers, probabilities: Numbers): number {
  classCounts(labels, probabilities);
  let sum = 0;
  for (let i = 0; i < labels.length; i++) {
    const d = (probabilities[i] ?? 0) - (labels[i] ?? 0);
    sum += d * d;
  }
  return sum / labels.length;
}

/** Points for the clustering metrics: row-major values, `width` per row. */
export type Points = { data: Float64Array; width: number };

/** Squared Euclidean distance between row `i` of `a` and row `j` of `b` (both `width` wide). */
export function squaredDistance(opts: {
  a: Float64Array;
  i: number;
  b: Float64Array;
  j: number;
  width: number;
}): number {
  let sum = 0;
  const ai = opts.i * opts.width;
  const bj = opts.j * opts.width;
  for (let f = 0; f < opts.width; f++) {
    const d = (opts.a[ai + f] ?? 0) - (opts.b[bj + f] ?? 0);
    sum += d * d;
  }
  return sum;
}

/** Sum of squared distances from each point to its assigned centroid (k-means' objective). */
export function inertia(opts: {
  points: Points;
  labels: ArrayLike<number>;
  centroids: Float64Array;
}): number {
  const { data, width } = opts.points;
  let sum = 0;
  for (let i = 0; i < opts.labels.length; i++) {
    sum += squaredDistance({ a: data, i, b: opts.centroids, j: opts.labels[i] ?? 0, width });
  }
  return sum;
}

/**
 * Mean silhouette coefficient (Euclidean), as sklearn's silhouette_score: a point alone in its cluster scores 0.
 * With `sampleSize` below the point count, it is computed on a seeded random subset (O(n²) otherwise).
 */
export function silhouette(opts: {
  points: Points;
  labels: ArrayLike<number>;
  sampleSize?: number;
  seed?: number;
}): number {
  const { data, width } = opts.points;
  const n = opts.labels.length;
  let subset: Int32Array = Int32Array.from({ length: n }, (_, i) => i);
  if (opts.sampleSize !== undefined && opts.sampleSize < n) {
    subset = permutation(n, createRng(opts.seed ?? 0)).slice(0, opts.sampleSize);
  }
  const labelOf = (i: number): number => opts.labels[subset[i] ?? 0] ?? 0;
  const clusterIds = [...new Set(Array.from({ length: subset.length }, (_, i) => labelOf(i)))].sort(
    (a, b) => a - b,
  );
  const k = clusterIds.length;
  if (k < 2 || k > subset.length - 1) {
    throw new InvalidInputError(
      'labels',
      `silhouette needs 2..n-1 clusters, got ${k} for ${subset.length} points`,
    );
  }
  const slot = new Map(clusterIds.map((c, s) => [c, s]));
  const sizes = new Float64Array(k);
  // Contiguous copy of the subset and its cluster slots: the O(n²) loop below stays allocation-free.
  const m = subset.length;
  const xs = new Float64Array(m * width);
  const slots = new Int32Array(m);
  for (let i = 0; i < m; i++) {
    xs.set(data.subarray((subset[i] ?? 0) * width, ((subset[i] ?? 0) + 1) * width), i * width);
    slots[i] = slot.get(labelOf(i)) ?? 0;
  }
  for (let i = 0; i < m; i++) {
    const s = slots[i] ?? 0;
    sizes[s] = (sizes[s] ?? 0) + 1;
  }
  const sums = new Float64Array(k);
  let total = 0;
  for (let i = 0; i < m; i++) {
    sums.fill(0);
    for (let j = 0; j < m; j++) {
      if (i === j) continue;
      let sq = 0;
      for (let f = 0; f < width; f++) {
        const d = (xs[i * width + f] ?? 0) - (xs[j * width + f] ?? 0);
        sq += d * d;
      }
      const s = slots[j] ?? 0;
      sums[s] = (sums[s] ?? 0) + Math.sqrt(sq);
    }
    const own = slots[i] ?? 0;
    const ownSize = sizes[own] ?? 0;
    if (ownSize <= 1) continue;
    const a = (sums[own] ?? 0) / (ownSize - 1);
    let b = Number.POSITIVE_INFINITY;
    for (let c = 0; c < k; c++) if (c !== own) b = Math.min(b, (sums[c] ?? 0) / (sizes[c] ?? 1));
    const scale = Math.max(a, b);
    if (scale > 0) total += (b - a) / scale;
  }
  return total / m;
}

/** Adjusted Rand index between two labelings (chance-corrected agreement; 1 = identical partitions). */
export function adjustedRandIndex(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new InvalidInputError('labels', 'labelings differ in length');
  const n = a.length;
  const pairs = new Map<string, number>();
  const rowSums = new Map<number, number>();
  const colSums = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    const key = `${x}:${y}`;
    pairs.set(key, (pairs.get(key) ?? 0) + 1);
    rowSums.set(x, (rowSums.get(x) ?? 0) + 1);
    colSums.set(y, (colSums.get(y) ?? 0) + 1);
  }
  const sumSquares = (m: Map<unknown, number>): number => [...m.values()].reduce((s, v) => s + v * v, 0);
  // The pair confusion matrix, as sklearn.metrics.cluster.pair_confusion_matrix computes it.
  const nij2 = sumSquares(pairs);
  const tp = nij2 - n;
  const fp = sumSquares(colSums) - nij2;
  const fn = sumSquares(rowSums) - nij2;
  const tn = n * n - fp - fn - nij2;
  if (fn === 0 && fp === 0) return 1;
  return (2 * (tp * tn - fn * fp)) / ((tp + fn) * (fn + tn) + (tp + fp) * (fp + tn));
}
