// Window statistics of a customer's earlier events: the one definition the offline builder and both online stores use.

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

/**
 * Summarises `prior` (earlier events, oldest first, all with time < t) for an event at time `t`: window i holds the
 * events with time > t - windowsMs[i]. Mean and population variance by Welford's method, in the given order, so
 * that every implementation that follows the same order gets the same doubles.
 */
export function summarizePrior(prior: PriorSeries, t: number, windowsMs: readonly number[]): PriorSummary {
  const n = windowsMs.length;
  const from = windowsMs.map((w) => t - w);
  const count = new Array<number>(n).fill(0);
  const sum = new Array<number>(n).fill(0);
  const mean = new Array<number>(n).fill(0);
  const m2 = new Array<number>(n).fill(0);
  const min = new Array<number>(n).fill(Number.POSITIVE_INFINITY);
  const max = new Array<number>(n).fill(Number.NEGATIVE_INFINITY);
  const last = new Array<number>(n).fill(0);
  let lastTime: number | null = null;
  for (let i = 0; i < prior.times.length; i++) {
    const et = prior.times[i] as number;
    const x = prior.values[i] as number;
    lastTime = et;
    for (let w = 0; w < n; w++) {
      if (!(et > (from[w] as number))) continue;
      const c = (count[w] as number) + 1;
      count[w] = c;
      sum[w] = (sum[w] as number) + x;
      const delta = x - (mean[w] as number);
      mean[w] = (mean[w] as number) + delta / c;
      m2[w] = (m2[w] as number) + delta * (x - (mean[w] as number));
      if (x < (min[w] as number)) min[w] = x;
      if (x > (max[w] as number)) max[w] = x;
      last[w] = x;
    }
  }
  const windows: WindowStats[] = [];
  for (let w = 0; w < n; w++) {
    const c = count[w] as number;
    windows.push(
      c === 0
        ? { ...EMPTY_WINDOW }
        : {
            count: c,
            sum: sum[w] as number,
            mean: mean[w] as number,
            min: min[w] as number,
            max: max[w] as number,
            std: Math.sqrt((m2[w] as number) / c),
            last: last[w] as number,
          },
    );
  }
  return { windows, lastTime };
}
