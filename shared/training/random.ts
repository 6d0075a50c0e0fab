// Seeded pseudo-random draws so training, sampling and shuffles are reproducible.
import { seededRandom } from '../random/index.ts';

/** A deterministic source of numbers in [0, 1) plus the few draws the trainers need. */
export type Rng = {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  /** Standard normal (Box–Muller). */
  normal(): number;
};

/** The project's seeded stream (mulberry32, shared/random): good for shuffles and initialisation, not cryptography. */
export function createRng(seed: number): Rng {
  let spare: number | null = null;
  const next = seededRandom(seed);
  return {
    next,
    int: (n) => Math.floor(next() * n),
    normal: () => {
      if (spare !== null) {
        const s = spare;
        spare = null;
        return s;
      }
      let u = 0;
      while (u === 0) u = next();
      const v = next();
      const r = Math.sqrt(-2 * Math.log(u));
      spare = r * Math.sin(2 * Math.PI * v);
      return r * Math.cos(2 * Math.PI * v);
    },
  };
}

/** In-place Fisher–Yates shuffle of an index array driven by `rng`; returns the same array. */
export function shuffleInPlace(items: Int32Array, rng: Rng): Int32Array {
  for (let i = items.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const a = items[i] ?? 0;
    items[i] = items[j] ?? 0;
    items[j] = a;
  }
  return items;
}

/** The integers 0..n-1 in a seeded random order. */
export function permutation(n: number, rng: Rng): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  shuffleInPlace(out, rng);
  return out;
}

/**
 * Seeded split of row indices into two parts, stratified by a 0/1 label when given so a rare class lands in both
 * parts in proportion. `fraction` is the share of the second part (the holdout or validation rows).
 */
export function splitIndices(opts: {
  n: number;
  fraction: number;
  seed: number;
  labels?: ArrayLike<number>;
}): {
  train: Int32Array;
  holdout: Int32Array;
} {
  const rng = createRng(opts.seed);
  const groups: number[][] = [[], []];
  for (let i = 0; i < opts.n; i++) groups[opts.labels?.[i] === 1 ? 1 : 0]?.push(i);
  const train: number[] = [];
  const holdout: number[] = [];
  for (const group of groups) {
    const order = permutation(group.length, rng);
    const cut = Math.round(group.length * opts.fraction);
    order.forEach((p, rank) => {
      (rank < cut ? holdout : train).push(group[p] ?? 0);
    });
  }
  return { train: Int32Array.from(train).sort(), holdout: Int32Array.from(holdout).sort() };
}
