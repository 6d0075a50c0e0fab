// k-means in plain TypeScript (Lloyd's iterations, k-means++ seeding from a seeded RNG) on row-major Float64Arrays.
import type { Rng } from './random.ts';

/** One clustering: `centroids` is k × width row-major, `labels` the nearest centroid per point. */
export type KMeansResult = {
  centroids: Float64Array;
  labels: Int32Array;
  inertia: number;
  iterations: number;
};

type Input = { data: Float64Array; width: number; k: number };

function nearest(opts: Input & { centroids: Float64Array; i: number }): { c: number; d: number } {
  const { data, width, k, centroids, i } = opts;
  let best = 0;
  let bestD = Number.POSITIVE_INFINITY;
  for (let c = 0; c < k; c++) {
    let d = 0;
    for (let f = 0; f < width; f++) {
      const diff = (data[i * width + f] ?? 0) - (centroids[c * width + f] ?? 0);
      d += diff * diff;
    }
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return { c: best, d: bestD };
}

/** k-means++: each next centre is drawn with probability proportional to its squared distance to the chosen ones. */
function seedCentroids(opts: Input & { rng: Rng }): Float64Array {
  const { data, width, k, rng } = opts;
  const n = data.length / width;
  const centroids = new Float64Array(k * width);
  const first = rng.int(n);
  centroids.set(data.subarray(first * width, (first + 1) * width), 0);
  const d2 = new Float64Array(n).fill(Number.POSITIVE_INFINITY);
  for (let c = 1; c < k; c++) {
    let total = 0;
    for (let i = 0; i < n; i++) {
      let d = 0;
      for (let f = 0; f < width; f++) {
        const diff = (data[i * width + f] ?? 0) - (centroids[(c - 1) * width + f] ?? 0);
        d += diff * diff;
      }
      if (d < (d2[i] ?? 0)) d2[i] = d;
      total += d2[i] ?? 0;
    }
    let target = rng.next() * total;
    let pick = n - 1;
    for (let i = 0; i < n; i++) {
      target -= d2[i] ?? 0;
      if (target < 0) {
        pick = i;
        break;
      }
    }
    centroids.set(data.subarray(pick * width, (pick + 1) * width), c * width);
  }
  return centroids;
}

/**
 * One k-means run: k-means++ seeding, then Lloyd's iterations until the centres move less than `tolerance`
 * (sum of squared shifts) or `maxIterations`. An empty cluster takes the point farthest from its centre.
 */
export function kMeansOnce(
  opts: Input & { rng: Rng; maxIterations: number; tolerance: number },
): KMeansResult {
  const { data, width, k } = opts;
  const n = data.length / width;
  let centroids = seedCentroids(opts);
  const labels = new Int32Array(n);
  const dist = new Float64Array(n);
  let iterations = 0;
  for (; iterations < opts.maxIterations; iterations++) {
    for (let i = 0; i < n; i++) {
      const { c, d } = nearest({ data, width, k, centroids, i });
      labels[i] = c;
      dist[i] = d;
    }
    const sums = new Float64Array(k * width);
    const counts = new Float64Array(k);
    for (let i = 0; i < n; i++) {
      const c = labels[i] ?? 0;
      counts[c] = (counts[c] ?? 0) + 1;
      for (let f = 0; f < width; f++)
        sums[c * width + f] = (sums[c * width + f] ?? 0) + (data[i * width + f] ?? 0);
    }
    for (let c = 0; c < k; c++) {
      const count = counts[c] ?? 0;
      if (count > 0) {
        for (let f = 0; f < width; f++) sums[c * width + f] = (sums[c * width + f] ?? 0) / count;
        continue;
      }
      let far = 0;
      for (let i = 1; i < n; i++) if ((dist[i] ?? 0) > (dist[far] ?? 0)) far = i;
      dist[far] = 0;
      sums.set(data.subarray(far * width, (far + 1) * width), c * width);
    }
    let shift = 0;
    for (let j = 0; j < sums.length; j++) shift += ((sums[j] ?? 0) - (centroids[j] ?? 0)) ** 2;
    centroids = sums;
    if (shift <= opts.tolerance) {
      iterations++;
      break;
    }
  }
  let inertia = 0;
  for (let i = 0; i < n; i++) {
    const { c, d } = nearest({ data, width, k, centroids, i });
    labels[i] = c;
    inertia += d;
  }
  return { centroids, labels, inertia, iterations };
}

/** Best of `nInit` seeded runs by inertia, as scikit-learn's KMeans(n_init=…) does. */
export function kMeans(
  opts: Input & { rng: Rng; nInit: number; maxIterations: number; tolerance: number },
): KMeansResult {
  let best: KMeansResult | null = null;
  for (let run = 0; run < opts.nInit; run++) {
    const result = kMeansOnce(opts);
    if (best === null || result.inertia < best.inertia) best = result;
  }
  if (best === null) throw new Error('kMeans needs nInit ≥ 1');
  return best;
}

/** Renumbers clusters by decreasing size (ties by first centroid coordinate) so ids are stable across retrains. */
export function canonicalOrder(result: KMeansResult, opts: { width: number; k: number }): KMeansResult {
  const { width, k } = opts;
  const sizes = new Float64Array(k);
  for (const l of result.labels) sizes[l] = (sizes[l] ?? 0) + 1;
  const order = Array.from({ length: k }, (_, c) => c).sort(
    (a, b) =>
      (sizes[b] ?? 0) - (sizes[a] ?? 0) ||
      (result.centroids[a * width] ?? 0) - (result.centroids[b * width] ?? 0),
  );
  const newId = new Int32Array(k);
  order.forEach((old, id) => {
    newId[old] = id;
  });
  const centroids = new Float64Array(k * width);
  order.forEach((old, id) => {
    centroids.set(result.centroids.subarray(old * width, (old + 1) * width), id * width);
  });
  const labels = result.labels.map((l) => newId[l] ?? 0);
  return { ...result, centroids, labels };
}
