// Flywheel's side of the peers' comparisons: score with the bench champions on Redis, and seeded customers whose
// feature vectors the peers are given too.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { customerFeatures, latestVector } from '../../shared/features/index.ts';
import { ModelRegistry } from '../../shared/registry/index.ts';
import type { OnlineStore } from '../../shared/store/index.ts';
import { type ChildTarget, startChild } from '../support/child.ts';
import { registerBenchChampions } from '../support/models.ts';
import { DAY_MS, progress, seedHistories, transactionStream } from '../support/workload.ts';

export interface FlywheelScore {
  /** Base URL ending in `/`: `v1/score` and `v2/models/risk/infer` are under it. */
  base: string;
  target: ChildTarget;
}

/**
 * Registers the bench champions in the store's registry, starts score (bench/support/score-target.ts, a process of
 * its own) on it and returns the risk champion's ONNX file as served, for the peers to load.
 */
export async function startFlywheelScore(opts: {
  store: OnlineStore;
  redisUrl: string;
}): Promise<FlywheelScore & { riskOnnx: Uint8Array }> {
  const registry = new ModelRegistry({ store: opts.store });
  await registerBenchChampions(registry);
  const version = await registry.alias('risk', 'champion');
  if (version === null) throw new Error('the risk champion was not registered');
  const riskOnnx = await registry.artifact('risk', version);
  const target = await startChild('bench/support/score-target.ts', {
    env: { BENCH_REDIS_URL: opts.redisUrl },
  });
  const score = target.info.score;
  if (!score?.endsWith('v1/score'))
    throw new Error(`score-target printed no score URL: ${JSON.stringify(target.info)}`);
  return { base: score.slice(0, -'v1/score'.length), target, riskOnnx };
}

export interface SeededCustomers {
  /** The stream the histories came from; its next() continues after them. */
  stream: ReturnType<typeof transactionStream>;
  /** Customers with a history, in the stream's order. */
  customers: string[];
  /** Each customer's feature vector as score computes it (columns of customerFeatures). */
  vectors: Map<string, number[]>;
  events: number;
}

/**
 * Writes `days` of history for `customers` customers through featurize's handler (from 90 days ago, so the stream
 * has room to go on) and reads back each one's feature vector.
 */
export async function seedCustomers(opts: {
  store: OnlineStore;
  customers: number;
  days: number;
  seed: number;
}): Promise<SeededCustomers> {
  const from = Date.now() - 90 * DAY_MS;
  const stream = transactionStream({ seed: opts.seed, customers: opts.customers, from });
  progress(`seeding ${opts.days} days of history for ${opts.customers} customers`);
  const events = await seedHistories({ store: opts.store, stream, until: from + opts.days * DAY_MS });
  const states = await opts.store.readCustomers(stream.customers, customerFeatures);
  const vectors = new Map<string, number[]>();
  for (const id of stream.customers) {
    const state = states.get(id);
    if (state) vectors.set(id, latestVector(customerFeatures, state));
  }
  progress(`seeded ${events} events; ${vectors.size} customers have a history`);
  return { stream, customers: [...vectors.keys()], vectors, events };
}

/** The onnxruntime-node version score runs on. */
export function onnxruntimeNodeVersion(): string {
  const file = path.resolve(import.meta.dirname, '../../node_modules/onnxruntime-node/package.json');
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}
