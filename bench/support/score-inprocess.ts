// Scoring without HTTP: the store read, the feature vector and both ONNX runs that POST /v1/score does, in a loop.
import { champions, scoreRows } from '../../functions/score/scorer.ts';
import type { ModelSet } from '../../functions/score/models.ts';
import { customerFeatures, latestVector } from '../../shared/features/index.ts';
import type { OnlineStore } from '../../shared/store/index.ts';
import { percentile } from './load.ts';

export interface StepTimes {
  /** Per-call latency percentiles, µs. */
  p50Us: number;
  p99Us: number;
  meanUs: number;
  /** Sequential calls per second (1 / mean). */
  callsPerSecond: number;
  calls: number;
}

export interface InProcessResult {
  /** The whole path, one call at a time. */
  sequential: StepTimes;
  /** Each step alone, one call at a time: store read, feature vector, both ONNX runs. */
  steps: { read: StepTimes; vector: StepTimes; onnx: StepTimes };
  /** The whole path with `concurrency` calls in flight (store reads pipelined): calls per second. */
  concurrent: { concurrency: number; callsPerSecond: number };
}

function times(samples: number[], wallMs: number): StepTimes {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    p50Us: percentile(sorted, 0.5) * 1000,
    p99Us: percentile(sorted, 0.99) * 1000,
    meanUs: (wallMs * 1000) / samples.length,
    callsPerSecond: (samples.length * 1000) / wallMs,
    calls: samples.length,
  };
}

/**
 * Measures `calls` sequential scorings (bounded by `seconds`), each step alone, then `concurrency` in flight; each
 * after a warm-up of 500 calls. Customers are taken in a fixed pseudo-random order.
 */
export async function measureInProcess(opts: {
  store: OnlineStore;
  models: ModelSet;
  customers: readonly string[];
  calls: number;
  seconds: number;
  concurrency: number;
}): Promise<InProcessResult> {
  const set = customerFeatures;
  let k = 0;
  const nextCustomer = () => opts.customers[(k++ * 7919) % opts.customers.length] as string;
  const score = async (id: string) => {
    const champs = await champions(opts.models);
    const state = (await opts.store.readCustomers([id], set)).get(id);
    const vector = state ? latestVector(set, state) : null;
    if (!vector) throw new Error(`customer ${id} has no history`);
    return scoreRows(champs, [vector]);
  };
  /** Runs `step` sequentially until `calls` or `seconds`; per-call ms samples and the wall time. */
  const loop = async (step: () => Promise<unknown>) => {
    for (let i = 0; i < 500; i++) await step();
    const samples: number[] = [];
    const deadline = performance.now() + opts.seconds * 1000;
    const start = performance.now();
    while (samples.length < opts.calls && performance.now() < deadline) {
      const t0 = performance.now();
      await step();
      samples.push(performance.now() - t0);
    }
    return times(samples, performance.now() - start);
  };

  const sequential = await loop(() => score(nextCustomer()));
  const read = await loop(() => opts.store.readCustomers([nextCustomer()], set));
  const states = await opts.store.readCustomers(opts.customers.slice(0, 200), set);
  const stateList = [...states.values()];
  const vector = await loop(async () => {
    const s = stateList[k++ % stateList.length];
    if (s) latestVector(set, s);
  });
  const sample = stateList.map((s) => latestVector(set, s));
  const champs = await champions(opts.models);
  const onnx = await loop(() => scoreRows(champs, [sample[k++ % sample.length] ?? []]));

  let done = 0;
  const deadline = performance.now() + opts.seconds * 1000;
  const start = performance.now();
  const worker = async () => {
    while (done < opts.calls && performance.now() < deadline) {
      done++;
      await score(nextCustomer());
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, worker));
  const concurrent = {
    concurrency: opts.concurrency,
    callsPerSecond: (done * 1000) / (performance.now() - start),
  };
  return { sequential, steps: { read, vector, onnx }, concurrent };
}
