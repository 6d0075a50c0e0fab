// Window statistics of a customer's earlier events: the one definition the offline builder and both online stores use.
//
// Time is cut into leaves of WINDOW_LEAF_MS, and leaves into a binary tree: node (level, index) covers
// [index * LEAF * 2^level, (index + 1) * LEAF * 2^level). A window (t - w, t) is the events of the leaf holding t - w
// that lie after it, then the fewest whole nodes between, then the events of the leaf holding t that lie before it.
// A leaf's moments are Welford's over its events in history order; a node's are its two children's combined
// (Chan et al.); a window's are its parts combined left to right. So the doubles depend on the set of events alone,
// never on the order they arrived in, and a store that keeps every node's moments up to date (the Redis adapter)
// reads O(log(window / leaf)) of them per window instead of the window's events — the same doubles this module
// computes from the events themselves.

/** Statistics of the values inside one sliding window. An empty window is all zeros. */
export interface WindowStats {
  count: number;
  sum: number;
  mean: number;
  min: number;
  max: number;
  std: number;
  last: number;
}

/** What the features of an event need from the events before it: one WindowStats per window, and the latest time. */
export interface PriorSummary {
  /** In the order of the windows asked for. */
  windows: WindowStats[];
  /** Time of the latest earlier event inside the retention, or null when there is none. */
  lastTime: number | null;
}

/** Earlier events as parallel arrays, oldest first (what a store can fill without an object per event). */
export interface PriorSeries {
  times: ArrayLike<number>;
  values: ArrayLike<number>;
}

export const EMPTY_WINDOW: Readonly<WindowStats> = Object.freeze({
  count: 0,
  sum: 0,
  mean: 0,
  min: 0,
  max: 0,
  std: 0,
  last: 0,
});

/** Width of a leaf of the window tree (ms). */
export const WINDOW_LEAF_MS = 3_600_000;

/** Moments of a run of values: what a tree node keeps. `last` is the value of the run's latest event. */
export interface Moments {
  count: number;
  sum: number;
  mean: number;
  /** Sum of squared deviations from the mean. */
  m2: number;
  min: number;
  max: number;
  last: number;
}

export const EMPTY_MOMENTS: Readonly<Moments> = Object.freeze({
  count: 0,
  sum: 0,
  mean: 0,
  m2: 0,
  min: 0,
  max: 0,
  last: 0,
});

/** Welford's moments of values[from, to), in order. */
export function momentsOf(values: ArrayLike<number>, from: number, to: number): Moments {
  if (from >= to) return EMPTY_MOMENTS;
  let count = 0;
  let sum = 0;
  let mean = 0;
  let m2 = 0;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  let last = 0;
  for (let i = from; i < to; i++) {
    const x = values[i] as number;
    count += 1;
    sum += x;
    const delta = x - mean;
    mean += delta / count;
    m2 += delta * (x - mean);
    if (x < min) min = x;
    if (x > max) max = x;
    last = x;
  }
  return { count, sum, mean, m2, min, max, last };
}

/** The moments of `a`'s events followed by `b`'s (Chan et al.); an empty side gives the other unchanged. */
export function combineMoments(a: Moments, b: Moments): Moments {
  if (a.count === 0) return b;
  if (b.count === 0) return a;
  const count = a.count + b.count;
  const delta = b.mean - a.mean;
  return {
    count,
    sum: a.sum + b.sum,
    mean: a.mean + (delta * b.count) / count,
    m2: a.m2 + b.m2 + (delta * delta * a.count * b.count) / count,
    min: b.min < a.min ? b.min : a.min,
    max: b.max > a.max ? b.max : a.max,
    last: b.last,
  };
}

/** A window's statistics from its moments. */
export function statsOf(m: Moments): WindowStats {
  if (m.count === 0) return { ...EMPTY_WINDOW };
  return {
    count: m.count,
    sum: m.sum,
    mean: m.mean,
    min: m.min,
    max: m.max,
    std: Math.sqrt(m.m2 / m.count),
    last: m.last,
  };
}

/** The highest tree level a store keeps for windows up to `retentionMs`: every node a window can be cut into. */
export function windowTreeTop(retentionMs: number): number {
  return Math.max(1, Math.ceil(Math.log2(retentionMs / WINDOW_LEAF_MS + 2)));
}

/** x mod 2 for any integer, negative ones too (0 or 1). */
const odd = (x: number): boolean => x - 2 * Math.floor(x / 2) === 1;

/**
 * How window (t - w, t) is cut: `left` (events after t - w in its leaf, and before the next leaf or t) and `right`
 * (events from the leaf of t's start, before t; null when the window lies in one leaf), and the whole nodes between,
 * left to right, as `level:index` names.
 */
export interface WindowCut {
  /** Events with lo < time < leftEnd. */
  lo: number;
  leftEnd: number;
  /** Events with rightStart <= time < t (null: none, the window is inside one leaf). */
  rightStart: number | null;
  t: number;
  nodes: { level: number; index: number }[];
}

export function cutWindow(t: number, w: number): WindowCut {
  const lo = t - w;
  const a = Math.floor(lo / WINDOW_LEAF_MS);
  const b = Math.floor(t / WINDOW_LEAF_MS);
  if (a === b) return { lo, leftEnd: t, rightStart: null, t, nodes: [] };
  const left: { level: number; index: number }[] = [];
  const right: { level: number; index: number }[] = [];
  let l = a + 1;
  let r = b;
  for (let level = 0; l < r; level++) {
    if (odd(l)) left.push({ level, index: l++ });
    if (odd(r)) right.push({ level, index: --r });
    l /= 2;
    r /= 2;
  }
  for (let i = right.length - 1; i >= 0; i--) left.push(right[i] as { level: number; index: number });
  return { lo, leftEnd: (a + 1) * WINDOW_LEAF_MS, rightStart: b * WINDOW_LEAF_MS, t, nodes: left };
}

/** The name of a tree node in a store: `level:index`. */
export function nodeName(level: number, index: number): string {
  return `${level}:${index}`;
}

/** First index in times[from, to) with times[i] >= x (strict: > x). */
function bound(times: ArrayLike<number>, x: number, from: number, to: number, strict: boolean): number {
  let lo = from;
  let hi = to;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const v = times[mid] as number;
    if (strict ? v <= x : v < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The lowest level at which leaves a and b share a node. */
function meetLevel(a: number, b: number): number {
  if (a >= 0 && b >= 0 && a < 2 ** 31 && b < 2 ** 31) return 32 - Math.clz32(a ^ b);
  let level = 0;
  for (let x = a, y = b; x !== y; x = Math.floor(x / 2), y = Math.floor(y / 2)) level++;
  return level;
}

/**
 * The moments of the tree node whose events are exactly series[from, to) (a node with one non-empty child has that
 * child's moments, so any ancestor holding no other events has these too), in one pass: leaves in order on a stack,
 * two neighbours combined as soon as a later boundary lies higher in the tree than theirs — children before parents,
 * as the tree combines them.
 */
export function treeMoments(series: PriorSeries, from: number, to: number): Moments {
  const { times, values } = series;
  const parts: Moments[] = [];
  /** levels[j]: the level of the node where parts[j] and parts[j + 1] meet (strictly falling towards the top). */
  const levels: number[] = [];
  let previous = 0;
  for (let i = from; i < to; ) {
    const leaf = Math.floor((times[i] as number) / WINDOW_LEAF_MS);
    let j = i + 1;
    while (j < to && Math.floor((times[j] as number) / WINDOW_LEAF_MS) === leaf) j++;
    if (parts.length > 0) {
      const level = meetLevel(previous, leaf);
      while (levels.length > 0 && (levels[levels.length - 1] as number) < level) {
        levels.pop();
        const right = parts.pop() as Moments;
        parts.push(combineMoments(parts.pop() as Moments, right));
      }
      levels.push(level);
    }
    parts.push(momentsOf(values, i, j));
    previous = leaf;
    i = j;
  }
  while (parts.length > 1) {
    const right = parts.pop() as Moments;
    parts.push(combineMoments(parts.pop() as Moments, right));
  }
  return parts[0] ?? EMPTY_MOMENTS;
}

/** The moments of window (t - w, t) over `prior`, cut as {@link cutWindow} cuts it. */
function windowMoments(prior: PriorSeries, cut: WindowCut): Moments {
  const { times, values } = prior;
  const n = times.length;
  const start = bound(times, cut.lo, 0, n, true);
  const leftEnd = bound(times, cut.leftEnd, start, n, false);
  let m = momentsOf(values, start, leftEnd);
  if (cut.rightStart === null) return m;
  for (const node of cut.nodes) {
    const span = WINDOW_LEAF_MS * 2 ** node.level;
    const from = bound(times, node.index * span, leftEnd, n, false);
    const to = bound(times, (node.index + 1) * span, from, n, false);
    m = combineMoments(m, treeMoments(prior, from, to));
  }
  const rightFrom = bound(times, cut.rightStart, leftEnd, n, false);
  const rightTo = bound(times, cut.t, rightFrom, n, false);
  return combineMoments(m, momentsOf(values, rightFrom, rightTo));
}

/**
 * Summarises `prior` (earlier events, oldest first, all with time < t) for an event at time `t`: window i holds the
 * events with time > t - windowsMs[i], their moments taken along the window tree (see the head of this module).
 */
export function summarizePrior(prior: PriorSeries, t: number, windowsMs: readonly number[]): PriorSummary {
  const n = prior.times.length;
  return {
    windows: windowsMs.map((w) => statsOf(windowMoments(prior, cutWindow(t, w)))),
    lastTime: n > 0 ? (prior.times[n - 1] as number) : null,
  };
}
