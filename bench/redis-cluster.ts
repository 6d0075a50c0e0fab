// Benchmark: featurize and score over HTTP with the online store on a Redis Cluster vs one redis-server, same data.
// Run: npx tsx bench/redis-cluster.ts [--seconds 3] [--rounds 3] [--customers 1000] [--history-days 14]
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { customerFeatures } from '../shared/features/index.ts';
import { ModelRegistry } from '../shared/registry/index.ts';
import { createLogger } from '../shared/runtime/index.ts';
import { createRedisStore } from '../shared/store/index.ts';
import { type RedisCluster, startRedisCluster } from '../test/support/redis-cluster.ts';
import { type RedisServer, startRedis } from '../test/support/redis.ts';
import { type ChildTarget, startChild } from './support/child.ts';
import { medianRow, type Row, rowMeasurer } from './support/ingest-rows.ts';
import { machine, ms, type RequestParts } from './support/load.ts';
import { registerBenchChampions } from './support/models.ts';
import {
  acceptedBinary,
  DAY_MS,
  historyLength,
  progress,
  seedHistories,
  transactionStream,
} from './support/workload.ts';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '1' },
    rounds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '32' },
    customers: { type: 'string', default: '1000' },
    'history-days': { type: 'string', default: '14' },
  },
});
const SECONDS = Number(args.seconds);
const WARMUP = Number(args.warmup);
const ROUNDS = Number(args.rounds);
const CONNECTIONS = Number(args.connections);
const CUSTOMERS = Number(args.customers);
const HISTORY_DAYS = Number(args['history-days']);
const STORES = ['single', 'cluster'] as const;
type StoreName = (typeof STORES)[number];
const LABEL: Record<StoreName, string> = {
  single: 'one redis-server',
  cluster: 'Redis Cluster, 3 masters + 3 replicas',
};

const log = createLogger({ name: 'bench', level: 'warn' });
const now = Date.now();
let single: RedisServer | null = null;
let cluster: RedisCluster | null = null;
let targets: ChildTarget | null = null;
const rounds = new Map<string, Row[]>();
const seeded: Record<string, string> = {};
const seedSeconds: Record<string, number> = {};

/** The same seeded stream for each store: the same customers, histories and, under load, the same next events. */
const streamFor = () =>
  transactionStream({ seed: 31, customers: CUSTOMERS, from: now - (HISTORY_DAYS + 1) * DAY_MS });

try {
  single = await startRedis();
  progress('starting the Redis Cluster');
  cluster = await startRedisCluster();
  const urls: Record<StoreName, string> = { single: single.url, cluster: cluster.url };
  const streams = { single: streamFor(), cluster: streamFor() };
  for (const name of STORES) {
    const store = createRedisStore({ url: urls[name], timeoutMs: 10_000, log });
    await registerBenchChampions(new ModelRegistry({ store }));
    progress(`seeding ${HISTORY_DAYS} days of history for ${CUSTOMERS} customers on ${LABEL[name]}`);
    const t0 = performance.now();
    const count = await seedHistories({ store, stream: streams[name], until: now - DAY_MS });
    seedSeconds[name] = (performance.now() - t0) / 1000;
    const states = await store.readCustomers(streams[name].customers, customerFeatures);
    const lengths = [...states.values()].map(historyLength).sort((a, b) => a - b);
    seeded[name] =
      `${count} events, ${states.size} customers, history median ${lengths[lengths.length >> 1]}`;
    await store.close();
  }
  if (seeded.single !== seeded.cluster) {
    throw new Error(`the stores hold different data: ${seeded.single} vs ${seeded.cluster}`);
  }

  targets = await startChild('bench/support/store-targets.ts', {
    env: { BENCH_REDIS_URLS: JSON.stringify(urls) },
  });
  const url = (key: string) => targets?.info[key] ?? '';
  const customers = streams.single.customers;
  const scoreNext = (): (() => RequestParts) => {
    let k = 0;
    return () => ({
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ customerId: customers[(k++ * 7919) % customers.length] }),
    });
  };
  const scoreBodies = { single: scoreNext(), cluster: scoreNext() };
  for (const name of STORES) {
    const res = await fetch(url(`score-${name}`), { method: 'POST', ...scoreBodies[name]() });
    const answer = JSON.stringify(await res.json());
    if (res.status !== 200 || answer.includes('"defaults"'))
      throw new Error(`score (${name}) answered ${answer}`);
  }

  const measure = rowMeasurer({ warmupSeconds: WARMUP, seconds: SECONDS });
  let seq = 0;
  const keep = (row: Row) => rounds.set(row.name, [...(rounds.get(row.name) ?? []), row]);
  for (let round = 1; round <= ROUNDS; round++) {
    // Alternate the order each round (single first, then cluster first), so drift in background load evens out.
    const order = round % 2 === 1 ? STORES : [...STORES].reverse();
    for (const name of order) {
      const stream = streams[name];
      keep(
        await measure({
          name: `featurize (${LABEL[name]})`,
          url: url(`featurize-${name}`),
          next: () => acceptedBinary(stream.next(), `feat-${name}-${seq++}`),
          eventsPerRequest: 1,
          connections: CONNECTIONS,
          counts: false,
        }),
      );
    }
    for (const name of order) {
      keep(
        await measure({
          name: `score by customerId (${LABEL[name]})`,
          url: url(`score-${name}`),
          next: scoreBodies[name],
          eventsPerRequest: 1,
          connections: CONNECTIONS,
          counts: false,
        }),
      );
    }
  }
} finally {
  await targets?.stop();
  await cluster?.stop();
  await single?.stop();
}

const version =
  spawnSync('redis-server', ['--version'])
    .stdout?.toString()
    .match(/v=(\S+)/)?.[1] ?? '?';
console.log('### featurize and score: Redis Cluster vs one redis-server\n');
console.log(
  `${machine()}, redis-server ${version}. On loopback: one redis-server and a Redis Cluster of 6 redis-servers ` +
    '(3 masters with one replica each, joined by `redis-cli --cluster create`), persistence off on all; the four ' +
    'targets (featurize and score on each store) in one child process, autocannon in the parent: every process ' +
    'shares the same cores.\n',
);
console.log(
  `Method: both stores get the same data, written through featurize's own handler before the run: ${seeded.single} ` +
    `(${HISTORY_DAYS} days of the demo generator's transactions over ${CUSTOMERS} customers; seeding took ` +
    `${seedSeconds.single?.toFixed(1)} s on one server, ${seedSeconds.cluster?.toFixed(1)} s on the cluster), and the ` +
    "same champions (bench/support/models.ts) in each store's registry. featurize: one binary-mode " +
    '`transaction.accepted` per request, each store continuing the same seeded stream (replies `features.updated`). ' +
    'score: `POST /v1/score` with one customerId per request (store read, feature vector, both ONNX models), the ' +
    `customers in the same order on both. autocannon, ${CONNECTIONS} connections, ${SECONDS} s per row after a ` +
    `${WARMUP} s warm-up of the same target (shorter than the featurize and score benchmarks' 8 s); the two stores ` +
    `alternate within each of ${ROUNDS} rounds, taking turns to go first; the table shows each row's median round (by req/s). ` +
    'Latency percentiles are per request, µs resolution. "2xx but not 200": featurize answers 202 to an event it ' +
    "drops as older than the allowed lateness (1 h behind its customer's newest), which would flatter a row. On the cluster the client is ioredis' Cluster " +
    "(REDIS_URL `redis+cluster://…`, reads from masters); a customer's keys share one hash slot.\n",
);
console.log(
  '| target | store | req/s | p50 ms | p90 ms | p99 ms | errors | non-2xx | 2xx but not 200 | cluster vs single |',
);
console.log('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|');
const fmt = (xs: number[]) => xs.map((x) => Math.round(x)).join(', ');
const summary: string[] = [];
for (const target of ['featurize', 'score by customerId']) {
  const rowOf = (name: StoreName) => medianRow(rounds.get(`${target} (${LABEL[name]})`) ?? []);
  const base = rowOf('single').load.requestsPerSecond;
  for (const name of STORES) {
    const l = rowOf(name).load;
    const share = name === 'single' ? '–' : `${((100 * l.requestsPerSecond) / base).toFixed(0)}%`;
    const other2xx = Object.entries(l.statuses ?? {})
      .filter(([code]) => code !== '200' && code.startsWith('2'))
      .reduce((sum, [, n]) => sum + n, 0);
    console.log(
      `| ${target} | ${LABEL[name]} | ${Math.round(l.requestsPerSecond)} | ${ms(l.p50Ms)} | ${ms(l.p90Ms)} | ` +
        `${ms(l.p99Ms)} | ${l.errors} | ${l.non2xx} | ${other2xx} | ${share} |`,
    );
    const perRound = (rounds.get(`${target} (${LABEL[name]})`) ?? []).map((r) => r.load.requestsPerSecond);
    summary.push(`${target} on ${LABEL[name]} ${fmt(perRound)}`);
  }
}
console.log(`\nRounds (req/s): ${summary.join('; ')}.`);
