// Single-row latency of candidate and champion, timed side by side in one run so that load weighs on both alike.
import { isRetriable } from '../../shared/errors/index.ts';
import type { OnnxModel } from '../../shared/inference/onnx.ts';
import type { ModelVersion } from '../../shared/registry/index.ts';
import type { GraphCost } from './cost.ts';
import type { LatencyMeasurement } from './gate-latency.ts';

export type Unavailable = { unavailable: string };

/** A loaded version with its graph's work per row. */
export interface Opened {
  record: ModelVersion;
  model: OnnxModel;
  cost: GraphCost | { unknown: string };
}

const reason = (record: ModelVersion, err: unknown): Unavailable => ({
  unavailable: `${record.name} v${record.version}: ${err instanceof Error ? err.message : String(err)}`,
});

/** Runs `fn`; a non-retriable failure (a model that cannot be loaded or run) becomes a reason, the rest rethrow. */
export async function attempt<T>(record: ModelVersion, fn: () => Promise<T>): Promise<T | Unavailable> {
  try {
    return await fn();
  } catch (err) {
    if (isRetriable(err)) throw err;
    return reason(record, err);
  }
}

/** The latency run: warm-up runs of each model, then rounds of timed runs per model (see MeasureDeps). */
export type LatencyPlan = { rounds: number; runs: number; warmup: number };

/** The rows a model is timed on, row-major, `width` values each. */
export type TimingRows = (record: ModelVersion) => { rows: Float32Array; width: number };

const percentile = (sorted: readonly number[], q: number): number =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(sorted.length * q) - 1))] ?? Number.NaN;
const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1
    ? (s[mid] ?? Number.NaN)
    : ((s[mid - 1] ?? Number.NaN) + (s[mid] ?? Number.NaN)) / 2;
};

/** A model being timed: the next row it runs, its times round by round, or why it stopped. */
interface Subject {
  opened: Opened;
  row: () => Float32Array;
  rounds: number[][];
  failed: Unavailable | null;
}

/**
 * Times single-row inference of each model in rounds: in each round every model makes `runs` runs back to back,
 * and the model that goes first changes from round to round, so a burst of load on the machine falls on both.
 * Returns each model's times per round, or why it could not be run.
 */
async function interleave(
  models: readonly Opened[],
  rowsOf: TimingRows,
  plan: LatencyPlan,
): Promise<(number[][] | Unavailable)[]> {
  const subjects = models.map((m): Subject => {
    const { rows, width } = rowsOf(m.record);
    const n = Math.max(1, Math.floor(rows.length / width));
    let next = 0;
    const row = () => {
      const i = next++ % n;
      return rows.subarray(i * width, (i + 1) * width);
    };
    return { opened: m, row, rounds: [], failed: null };
  });
  const runAll = async (s: Subject, count: number, timed: number[] | null) => {
    if (s.failed) return;
    const result = await attempt(s.opened.record, async () => {
      for (let i = 0; i < count; i++) {
        const row = s.row();
        const started = performance.now();
        await s.opened.model.run(row, 1);
        timed?.push(performance.now() - started);
      }
    });
    if (result && 'unavailable' in result) s.failed = result;
  };
  for (const s of subjects) await runAll(s, plan.warmup, null);
  for (let r = 0; r < plan.rounds; r++) {
    const order = r % 2 === 0 ? subjects : [...subjects].reverse();
    for (const s of order) {
      const times: number[] = [];
      await runAll(s, plan.runs, times);
      s.rounds.push(times);
    }
  }
  return subjects.map((s) => s.failed ?? s.rounds);
}

/** The latency measurement: the candidate and the champion timed in one interleaved run; see gate.ts. */
export async function latencyOf(input: {
  candidate: Opened | Unavailable;
  champion: { version: number; opened: Opened | Unavailable } | null;
  rowsOf: TimingRows;
  plan: LatencyPlan;
}): Promise<LatencyMeasurement> {
  const { candidate, champion, plan } = input;
  const rounds = plan.rounds;
  const championOpened = champion && 'model' in champion.opened ? champion.opened : null;
  if (!('model' in candidate)) {
    const latency = champion
      ? { version: champion.version, latency: { unavailable: 'not timed: the candidate could not be run' } }
      : null;
    return { candidate, champion: latency, ratio: null, rounds };
  }
  const models = championOpened ? [candidate, championOpened] : [candidate];
  const [own, theirs] = await interleave(models, input.rowsOf, plan);
  const summary = (opened: Opened, times: number[][] | Unavailable | undefined) => {
    if (times === undefined) return { unavailable: 'not timed' };
    if ('unavailable' in times) return times;
    const all = times.flat().sort((a, b) => a - b);
    return { medianMs: median(all), p99Ms: percentile(all, 0.99), cost: opened.cost };
  };
  const ratio =
    Array.isArray(own) && Array.isArray(theirs) && own.length > 0
      ? median(own.map((t, r) => median(t) / median(theirs[r] ?? [])))
      : null;
  return {
    candidate: summary(candidate, own),
    champion: champion
      ? {
          version: champion.version,
          latency: 'model' in champion.opened ? summary(champion.opened, theirs) : champion.opened,
        }
      : null,
    ratio: ratio !== null && Number.isFinite(ratio) ? ratio : null,
    rounds,
  };
}
