// Benchmark: POST /v1/score by customerId (store read + both ONNX models) against a bare route and the same work
// in-process; p99 at half the maximum rate; cold start and resident memory. Run: npx tsx bench/score.ts [--seconds 8]
// `--mode candidate`: only score by customerId beside score by candidate transaction, each at half its maximum rate.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ModelSet } from '../functions/score/models.ts';
import { packageFunction } from '../knative/package.ts';
import { ModelRegistry } from '../shared/registry/index.ts';
import { createLogger } from '../shared/runtime/index.ts';
import { customerFeatures, latestVector } from '../shared/features/index.ts';
import { createRedisStore, type OnlineStore } from '../shared/store/index.ts';
import { startRedis } from '../test/support/redis.ts';
import { type ChildTarget, startChild } from './support/child.ts';
import { type ColdStart, coldStart } from './support/cold-start.ts';
import { type LoadResult, machine, median, type RequestParts, runLoad } from './support/load.ts';
import { runPacedApart } from './support/paced.ts';
import { registerBenchChampions } from './support/models.ts';
import { type InProcessResult, measureInProcess } from './support/score-inprocess.ts';
import { measureForms, measureInProcessForms, printForms } from './support/score-candidate.ts';
import { printScoreReport } from './support/score-report.ts';
import {
  DAY_MS,
  type GeneratedTransaction,
  historyLength,
  progress,
  seedHistories,
  transactionStream,
} from './support/workload.ts';
import { runWrk, type WrkResult, wrkAvailable } from './support/wrk.ts';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '8' },
    warmup: { type: 'string', default: '2' },
    customers: { type: 'string', default: '1000' },
    'history-days': { type: 'string', default: '21' },
    /** Connection counts tried (3 s each) to find the maximum rate. */
    connections: { type: 'string', default: '4,16,64' },
    calls: { type: 'string', default: '20000' },
    'cold-rounds': { type: 'string', default: '5' },
    profile: { type: 'string' },
    /** full: every table; candidate: by customerId and by candidate transaction, each paced at half its maximum. */
    mode: { type: 'string', default: 'full' },
    /** --mode candidate: rounds of each measurement, the forms alternating within a round. */
    rounds: { type: 'string', default: '3' },
  },
});
if (args.mode !== 'full' && args.mode !== 'candidate')
  throw new Error(`--mode is full or candidate, got ${args.mode}`);
const SECONDS = Number(args.seconds);
const WARMUP = Number(args.warmup);
const CUSTOMERS = Number(args.customers);
const HISTORY_DAYS = Number(args['history-days']);
const SWEEP = args.connections.split(',').map(Number);
const COLD_ROUNDS = Number(args['cold-rounds']);
const root = path.resolve(import.meta.dirname, '..');
/** The floor of any cold start here: node itself answering HTTP, nothing loaded. */
const BARE_SERVER =
  "require('node:http').createServer((q, s) => s.end('ok')).listen(Number(process.env.PORT))";

const log = createLogger({ name: 'bench', level: 'warn' });
const now = Date.now();
const redis = await startRedis();
const store = createRedisStore({ url: redis.url, timeoutMs: 5_000, log });
let target: ChildTarget | null = null;
const dataDir = await mkdtemp(path.join(tmpdir(), 'bench-score-'));

try {
  const registry = new ModelRegistry({ store });
  await registerBenchChampions(registry);
  const stream = transactionStream({
    seed: 21,
    customers: CUSTOMERS,
    from: now - (HISTORY_DAYS + 1) * DAY_MS,
  });
  progress(`seeding ${HISTORY_DAYS} days of history for ${CUSTOMERS} customers`);
  const seeded = await seedHistories({ store, stream, until: now - DAY_MS });
  const states = await store.readCustomers(stream.customers, customerFeatures);
  const lengths = [...states.values()].map(historyLength).sort((a, b) => a - b);
  const customers = stream.customers.filter((c) => states.has(c));

  if (args.mode === 'candidate') {
    target = await startChild('bench/support/score-target.ts', { env: { BENCH_REDIS_URL: redis.url } });
    await candidateRun({
      url: target.info.score ?? '',
      store,
      registry,
      customers,
      next: stream.until(now).filter((tx) => states.has(tx.customerId)),
      seeded,
      lengths,
    });
  } else {
    progress('in-process loop');
    const models = new ModelSet({ registry, log, aliasTtlMs: 60_000, loadTimeoutMs: 5_000 });
    await models.start();
    const inProcess: InProcessResult = await measureInProcess({
      store,
      models,
      customers,
      calls: Number(args.calls),
      seconds: SECONDS,
      concurrency: 16,
    });
    await models.close();

    target = await startChild('bench/support/score-target.ts', {
      env: { BENCH_REDIS_URL: redis.url },
      ...(args.profile ? { nodeArgs: ['--cpu-prof', '--cpu-prof-dir', args.profile] } : {}),
    });
    const scoreUrl = target.info.score ?? '';
    const bareUrl = target.info.bare ?? '';
    let k = 0;
    const next = (): RequestParts => ({
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ customerId: customers[(k++ * 7919) % customers.length] }),
    });
    const check = await fetch(scoreUrl, { method: 'POST', ...next() });
    const answer = JSON.stringify(await check.json());
    if (check.status !== 200 || answer.includes('"defaults"')) throw new Error(`score answered ${answer}`);

    const byCustomer = customers.map((customerId) => JSON.stringify({ customerId }));
    const load = (name: string, url: string, connections: number, seconds = SECONDS) =>
      runLoad({ name, url, next, connections, durationSeconds: seconds });
    progress('finding the maximum rate');
    await load('warm-up', scoreUrl, SWEEP[0] ?? 16, WARMUP);
    const sweep: LoadResult[] = [];
    for (const c of SWEEP) sweep.push(await load(`score, ${c} connections`, scoreUrl, c, 3));
    const best = [...sweep].sort((a, b) => b.requestsPerSecond - a.requestsPerSecond)[0];
    const connections = SWEEP[sweep.indexOf(best as LoadResult)] ?? 16;
    await load('warm-up', bareUrl, connections, WARMUP);
    const bare = await load('bare hono route', bareUrl, connections);
    const max = await load('score, POST /v1/score', scoreUrl, connections);
    const half = Math.max(1, Math.round(max.requestsPerSecond / 2));
    progress(
      `maximum ${Math.round(max.requestsPerSecond)} req/s with ${connections} connections; half ${half}`,
    );
    const bursts = await runLoad({
      name: 'score at half rate, autocannon overallRate',
      url: scoreUrl,
      next,
      connections,
      durationSeconds: SECONDS,
      rate: half,
    });
    const pace = (name: string, url: string, rate: number) =>
      runPacedApart({ name, url, bodies: byCustomer, connections: 64, rate, durationSeconds: SECONDS });
    const paced = await pace('score at half rate, paced open loop', scoreUrl, half);
    const pacedBare = await pace('bare route at the same rate, paced open loop', bareUrl, half);
    // Lower rates show whether the tail comes from queueing (it shrinks) or from pauses that hit any rate.
    const lower = [
      await pace('score at a tenth of the maximum, paced', scoreUrl, Math.max(1, Math.round(half / 5))),
      await pace('score at a quarter of the maximum, paced', scoreUrl, Math.max(1, Math.round(half / 2))),
    ];
    const byWrk = wrkAvailable()
      ? await secondGenerator({
          scoreUrl,
          bareUrl,
          half,
          connections,
          byCustomer,
          byVector: [...states.values()].map((s) =>
            JSON.stringify({ features: latestVector(customerFeatures, s) }),
          ),
        })
      : null;
    await target.stop();
    target = null;

    progress('cold starts');
    const env = { REDIS_URL: redis.url, LOG_LEVEL: 'warn', FLYWHEEL_DATA_DIR: dataDir };
    const rounds = async (argv: string[]): Promise<ColdStart[]> => {
      await coldStart({ args: argv, env }); // warm-up: file cache, tsx's transform cache
      const out: ColdStart[] = [];
      for (let i = 0; i < COLD_ROUNDS; i++) out.push(await coldStart({ args: argv, env }));
      return out;
    };
    const floor = await rounds(['-e', BARE_SERVER]);
    const tsx = await rounds(['--import', 'tsx', path.join(root, 'functions/score/main.ts')]);
    const unit = await packageFunction({
      root,
      outDir: path.join(root, 'out', 'bench-package'),
      name: 'score',
    });
    const packaged = await rounds([unit.entry]);

    printScoreReport({
      machine: machine(),
      seconds: SECONDS,
      warmup: WARMUP,
      customers: customers.length,
      historyDays: HISTORY_DAYS,
      seeded,
      historyLengths: { min: lengths[0] ?? 0, median: median(lengths), max: lengths.at(-1) ?? 0 },
      inProcess,
      sweep: sweep.map((r, i) => ({ connections: SWEEP[i] ?? 0, requestsPerSecond: r.requestsPerSecond })),
      connections,
      http: { bare, max, bursts, paced, pacedBare, lower },
      byWrk,
      half,
      cold: { floor, tsx, packaged, bundleKiB: unit.bundleBytes / 1024 },
    });
  }
} finally {
  await target?.stop();
  await store.close();
  await redis.stop();
  await rm(dataDir, { recursive: true, force: true });
}

/**
 * Score by customerId beside score by candidate transaction (the customers' next day of transactions, after their
 * seeded history; nothing is written, so each body can be posted again), each at half its own maximum rate.
 */
async function candidateRun(o: {
  url: string;
  store: OnlineStore;
  registry: ModelRegistry;
  customers: string[];
  next: GeneratedTransaction[];
  seeded: number;
  lengths: number[];
}): Promise<void> {
  const byTransaction = o.next.map((transaction) => JSON.stringify({ transaction }));
  const check = await fetch(o.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: byTransaction[0] ?? '',
  });
  const answer = JSON.stringify(await check.json());
  if (check.status !== 200 || !answer.includes('"duplicate":false'))
    throw new Error(`score answered ${answer}`);
  const results = await measureForms({
    url: o.url,
    forms: [
      { name: 'by customerId', bodies: o.customers.map((customerId) => JSON.stringify({ customerId })) },
      { name: 'by candidate transaction', bodies: byTransaction },
    ],
    sweep: SWEEP,
    seconds: SECONDS,
    warmup: WARMUP,
    rounds: Number(args.rounds),
  });
  progress('in-process, no HTTP');
  const models = new ModelSet({ registry: o.registry, log, aliasTtlMs: 60_000, loadTimeoutMs: 5_000 });
  await models.start();
  const inProcess = await measureInProcessForms({
    store: o.store,
    models,
    customers: o.customers,
    transactions: o.next,
    calls: Number(args.calls),
  });
  await models.close();
  printForms({
    machine: machine(),
    results,
    inProcess,
    method:
      `Method: a private redis-server (persistence off) on loopback; ${o.customers.length} customers with ` +
      `${HISTORY_DAYS} days of generated history (${o.seeded} events written through featurize; history per ` +
      `customer min ${o.lengths[0] ?? 0}, median ${median(o.lengths)}, max ${o.lengths.at(-1) ?? 0}); score in a child ` +
      "process with champions shaped like the trainer's defaults. By customerId: one customer per request (store read " +
      'of the latest state, vector, both ONNX models). By candidate transaction: one of the ' +
      `${byTransaction.length} transactions of the customers' next day per request (normalised as ingest does, one ` +
      "read of the customer's history from the transaction's retention on and its first sightings, vector as " +
      'featurize computes it, both ONNX models; nothing written). Each form: autocannon warm-up ' +
      `${WARMUP} s and connections ${SWEEP.join('/')} for 3 s each; then ${args.rounds} rounds of each form flat ` +
      `out with its best count for ${SECONDS} s (its maximum: the median), then ${args.rounds} rounds of each at ` +
      `half its maximum for ${SECONDS} s from the paced open-loop generator (own process, arrivals spread evenly, ` +
      'up to 64 keep-alive connections, latency from the scheduled issue) and from wrk (64 connections, ' +
      'exponential think time calibrated to the rate by a 2 s run). The two forms alternate within every round, ' +
      'so a neighbour on the shared cores weighs on both; all generators and the target share the same cores.',
  });
}

/**
 * The same half rate from Debian's wrk, whose one C thread leaves the shared cores to the server; and score by feature
 * vector (no store read), flat out and at half of its own maximum, to show what the store read adds to the tail.
 */
async function secondGenerator(o: {
  scoreUrl: string;
  bareUrl: string;
  half: number;
  connections: number;
  byCustomer: string[];
  byVector: string[];
}): Promise<WrkResult[]> {
  progress('the same loads from wrk');
  const run = (name: string, url: string, bodies: string[], rate?: number) =>
    runWrk({
      name,
      url,
      bodies,
      connections: rate ? 64 : o.connections,
      durationSeconds: SECONDS,
      ...(rate ? { rate } : {}),
    });
  const max = await run('score by customerId, flat out', o.scoreUrl, o.byCustomer);
  const paced = await run('score by customerId, paced', o.scoreUrl, o.byCustomer, o.half);
  const bare = await run('bare hono route, paced', o.bareUrl, o.byCustomer, o.half);
  const vectorMax = await run('score by feature vector, flat out', o.scoreUrl, o.byVector);
  const vectorHalf = Math.round(vectorMax.requestsPerSecond / 2);
  const vector = await run('score by feature vector, paced', o.scoreUrl, o.byVector, vectorHalf);
  return [max, paced, bare, vectorMax, vector];
}
