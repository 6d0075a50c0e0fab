// Benchmark: how featurize's and score's cost grows with the number of customers in Redis and with the length of each
// customer's history; memory per customer. Run: npx tsx bench/growth.ts [--seconds 10] [--rate 300]
// Customers axis (history of 10 events each): 1 000 customers are written through featurize's own handler, then
// copied key for key (DUMP/RESTORE) under new customer ids up to each size. History axis (a few hundred customers
// each): 10, 100 and 1 000 events per customer spread over 29 days, written through featurize's handler.
// Each cell: featurize (one new transaction of a random customer of the cell per request, after its newest) and score
// by customerId, each paced at --rate requests/s over HTTP, one after the other; then featurize's handler in this
// process, one event at a time (no HTTP, no other load): the work per event itself.
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { customerFeatures } from '../shared/features/index.ts';
import { seededRandom } from '../shared/random/index.ts';
import { ModelRegistry } from '../shared/registry/index.ts';
import { createLogger } from '../shared/runtime/index.ts';
import { createRedisStore } from '../shared/store/index.ts';
import { customerKeys } from '../shared/store/keys.ts';
import { startRedis } from '../test/support/redis.ts';
import { type ChildTarget, startChild } from './support/child.ts';
import { machine, ms, percentile } from './support/load.ts';
import { registerBenchChampions } from './support/models.ts';
import { type PacedResult, runPaced } from './support/paced.ts';
import {
  acceptedBinary,
  acceptedData,
  DAY_MS,
  type GeneratedTransaction,
  progress,
  seedTransactions,
} from './support/workload.ts';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    rate: { type: 'string', default: '300' },
    customers: { type: 'string', default: '10000,100000,1000000' },
    history: { type: 'string', default: '10,100,1000' },
    /** Customers of each history-axis cell. */
    'history-customers': { type: 'string', default: '300' },
    /**
     * Another checkout's bench/support/store-targets.ts: measured in the same run, cell by cell, on
     * the odd-numbered customers of each cell while this checkout's targets get the even ones.
     */
    compare: { type: 'string' },
  },
});
const SECONDS = Number(args.seconds);
const RATE = Number(args.rate);
const CUSTOMER_SIZES = args.customers.split(',').map(Number);
const HISTORY_SIZES = args.history.split(',').map(Number);
const HISTORY_CUSTOMERS = Number(args['history-customers']);
const TEMPLATE = 1000;
const SHORT_HISTORY = 10;
const SPAN_MS = 29 * DAY_MS;
const NOW = Date.now();
const FROM = NOW - SPAN_MS;
const COUNTRIES = ['DE', 'DE', 'DE', 'FR', 'NL'];
const CATEGORIES = ['grocery', 'fuel', 'restaurants', 'electronics', 'travel'];

/** One customer's transaction number `j` of `n`, spread evenly (with jitter) over the 29 days before now. */
function transaction(customerId: string, j: number, n: number, rnd: () => number): GeneratedTransaction {
  const country = COUNTRIES[Math.floor(rnd() * COUNTRIES.length)] ?? 'DE';
  return {
    transactionId: `${customerId}-t${j}`,
    customerId,
    amount: Math.round(Math.exp(3 + rnd()) * 100) / 100,
    currency: 'EUR',
    merchantCategory: CATEGORIES[Math.floor(rnd() * CATEGORIES.length)] ?? 'grocery',
    channel: rnd() < 0.5 ? 'online' : 'pos',
    country,
    deviceId: `dev-${customerId}-${Math.floor(rnd() * 2)}`,
    occurredAt: Math.round(FROM + ((j + rnd() * 0.5) * SPAN_MS) / n),
  };
}

function histories(prefix: string, customers: number, events: number, seed: number): GeneratedTransaction[] {
  const rnd = seededRandom(seed);
  const out: GeneratedTransaction[] = [];
  for (let c = 0; c < customers; c++) {
    const id = `${prefix}-${c}`;
    for (let j = 0; j < events; j++) out.push(transaction(id, j, events, rnd));
  }
  return out;
}

const log = createLogger({ name: 'bench-growth', level: 'warn' });
const server = await startRedis();
const redis = new Redis(server.url);
const store = createRedisStore({ url: server.url, timeoutMs: 10_000, log });
await registerBenchChampions(new ModelRegistry({ store }));
const env = { BENCH_REDIS_URLS: JSON.stringify({ single: server.url }) };
const targets = await startChild('bench/support/store-targets.ts', { env });
const before = args.compare ? await startChild(args.compare, { env }) : null;
const fsv = customerFeatures.version;

async function usedMemory(): Promise<number> {
  return Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1]);
}

/** Bytes of each customer's keys but its claims (MEMORY USAGE), mean over a sample. */
async function keyBytes(ids: readonly string[]): Promise<number> {
  const sample = ids.slice(0, 200);
  let total = 0;
  for (const id of sample) {
    const k = customerKeys(id, fsv);
    for (const key of [k.history, k.firstSeen, k.latest, k.windowTree]) {
      total += Number((await redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0')) ?? 0);
    }
  }
  return total / sample.length;
}

/** Copies the keys (claims aside) of template customer `from` to customer `to`, on a pipeline. */
async function copyCustomers(pairs: readonly [string, string][]): Promise<void> {
  for (let i = 0; i < pairs.length; i += 500) {
    const chunk = pairs.slice(i, i + 500);
    const dump = redis.pipeline();
    for (const [from] of chunk) {
      const k = customerKeys(from, fsv);
      for (const key of [k.history, k.firstSeen, k.latest, k.windowTree]) dump.dumpBuffer(key).pttl(key);
    }
    const dumped = (await dump.exec()) ?? [];
    const restore = redis.pipeline();
    chunk.forEach(([, to], c) => {
      const k = customerKeys(to, fsv);
      [k.history, k.firstSeen, k.latest, k.windowTree].forEach((key, j) => {
        const payload = dumped[(c * 4 + j) * 2]?.[1] as Buffer | null;
        const ttl = Number(dumped[(c * 4 + j) * 2 + 1]?.[1]);
        if (payload) restore.restore(key, ttl > 0 ? ttl : 0, payload, 'REPLACE');
      });
    });
    await restore.exec();
  }
}

/** featurize then score, each paced at RATE over the given customers; transactions continue after each newest. */
async function measureTarget(
  target: ChildTarget,
  ids: readonly string[],
  historyLength: number,
  seed: number,
) {
  const rnd = seededRandom(seed);
  const next = new Map<string, number>();
  let seq = 0;
  const pick = () => ids[Math.floor(rnd() * ids.length)] as string;
  const featurize = await runPaced({
    name: 'featurize',
    url: target.info['featurize-single'] as string,
    rate: RATE,
    durationSeconds: SECONDS,
    connections: 64,
    next: () => {
      const id = pick();
      const j = next.get(id) ?? historyLength;
      next.set(id, j + 1);
      const tx = transaction(id, j, historyLength, rnd);
      tx.transactionId = `${id}-live-${seq}`;
      tx.occurredAt = NOW + seq++;
      return acceptedBinary(tx, `growth-${seed}-${seq}`);
    },
  });
  const score = await runPaced({
    name: 'score',
    url: target.info['score-single'] as string,
    rate: RATE,
    durationSeconds: SECONDS,
    connections: 64,
    next: () => ({
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ customerId: pick() }),
    }),
  });
  check(featurize);
  check(score);
  return { featurize, score };
}

/** One event at a time through a checkout's featurize handler, in this process: p50 and p99 in µs. */
type Handler = (tx: GeneratedTransaction, id: string) => Promise<void>;

/** featurize's handler from the checkout at `root` (its own store code), on this benchmark's Redis. */
async function checkoutHandler(root: string): Promise<Handler> {
  const load = (file: string) => import(path.join(root, file));
  const { featurizeFunction } = await load('functions/featurize/function.ts');
  const { createRedisStore: openStore } = await load('shared/store/index.ts');
  const { defaultConfig } = await load('shared/config/index.ts');
  const runtime = await load('shared/runtime/index.ts');
  const events = await load('shared/events/index.ts');
  const fn = featurizeFunction({
    store: openStore({ url: server.url, timeoutMs: 10_000, log }),
    config: defaultConfig(),
  });
  const ctx = {
    log: runtime.createLogger({ name: 'growth', level: 'silent' }),
    metrics: runtime.createMetrics('growth'),
  };
  return async (tx, id) => {
    const event = events.makeEvent({
      type: events.EventTypes.transactionAccepted,
      source: 'flywheel/ingest',
      id,
      time: tx.occurredAt,
      data: acceptedData(tx, tx.occurredAt),
    });
    const outcome = await fn.handle(event, ctx);
    if (outcome.kind !== 'reply') throw new Error(`in-process featurize: ${outcome.kind}`);
  };
}

const here = path.resolve(import.meta.dirname, '..');
const handlers: { now: Handler; earlier: Handler | null } = {
  now: await checkoutHandler(here),
  earlier: args.compare ? await checkoutHandler(path.resolve(path.dirname(args.compare), '../..')) : null,
};
const IN_PROCESS_EVENTS = 1500;

async function inProcess(handler: Handler, ids: readonly string[], historyLength: number, seed: number) {
  const rnd = seededRandom(seed);
  const took = new Float64Array(IN_PROCESS_EVENTS);
  for (let i = 0; i < IN_PROCESS_EVENTS; i++) {
    const id = ids[Math.floor(rnd() * ids.length)] as string;
    const tx = transaction(id, historyLength, historyLength, rnd);
    tx.transactionId = `${id}-inproc-${seed}-${i}`;
    tx.occurredAt = NOW + 60_000 + i;
    const start = performance.now();
    await handler(tx, `inproc-${seed}-${i}`);
    took[i] = (performance.now() - start) * 1000;
  }
  took.sort();
  return { p50Us: percentile(took, 0.5), p99Us: percentile(took, 0.99) };
}

/** This checkout's targets on the cell's even customers, then the compared ones (if any) on its odd customers. */
async function measureCell(ids: readonly string[], historyLength: number, seed: number) {
  const side = (parity: number) => (before ? ids.filter((_, i) => i % 2 === parity) : ids);
  const now = await measureTarget(targets, side(0), historyLength, seed);
  const then = before ? await measureTarget(before, side(1), historyLength, seed + 1) : null;
  const handlerNow = await inProcess(handlers.now, side(0), historyLength, seed + 2);
  const handlerThen = handlers.earlier
    ? await inProcess(handlers.earlier, side(1), historyLength, seed + 3)
    : null;
  return {
    ...now,
    handler: handlerNow,
    earlier: then && handlerThen ? { ...then, handler: handlerThen } : null,
  };
}

interface InProcess {
  p50Us: number;
  p99Us: number;
}
interface Cell {
  customers: number;
  history: number;
  bytesPerCustomer: number;
  keyBytes: number;
  featurize: PacedResult;
  score: PacedResult;
  handler: InProcess;
  earlier: { featurize: PacedResult; score: PacedResult; handler: InProcess } | null;
}
const cells: Cell[] = [];
const check = (r: PacedResult) => {
  if (r.errors > 0 || r.non2xx > 0) throw new Error(`${r.name}: ${r.errors} errors, ${r.non2xx} non-2xx`);
};

/**
 * Measures a cell and records it: memory grown since `baseline` per customer, less the claims featurize's seeding
 * left (they expire in a day and are not part of a customer's steady state), and its keys' bytes.
 */
async function record(
  prefix: string,
  ids: readonly string[],
  history: number,
  baseline: number,
  seed: number,
) {
  const bytes = ((await usedMemory()) - baseline - (await claimBytes(prefix))) / ids.length;
  const kb = await keyBytes(ids);
  progress(`${ids.length} customers, ${history} events each: measuring`);
  const measured = await measureCell(ids, history, seed);
  cells.push({ customers: ids.length, history, bytesPerCustomer: bytes, keyBytes: kb, ...measured });
}

// History axis first (its cells are small), then the customers axis.
for (const [i, h] of HISTORY_SIZES.entries()) {
  const baseline = await usedMemory();
  const prefix = `h${h}`;
  progress(`history ${h}: writing ${HISTORY_CUSTOMERS} customers × ${h} events through featurize`);
  await seedTransactions({ store, transactions: histories(prefix, HISTORY_CUSTOMERS, h, 100 + i) });
  const ids = Array.from({ length: HISTORY_CUSTOMERS }, (_, c) => `${prefix}-${c}`);
  await record(prefix, ids, h, baseline, 200 + i);
}

const baseline = await usedMemory();
progress(`customers: writing ${TEMPLATE} customers × ${SHORT_HISTORY} events through featurize`);
await seedTransactions({ store, transactions: histories('n', TEMPLATE, SHORT_HISTORY, 300) });
let have = TEMPLATE;
for (const [i, n] of CUSTOMER_SIZES.entries()) {
  if (n > have) {
    progress(`customers: copying up to ${n}`);
    const pairs: [string, string][] = [];
    for (let c = have; c < n; c++) pairs.push([`n-${c % TEMPLATE}`, `n-${c}`]);
    await copyCustomers(pairs);
    have = n;
  }
  const ids = Array.from({ length: n }, (_, c) => `n-${c}`);
  await record('n', ids, SHORT_HISTORY, baseline, 400 + i);
}

/** Bytes held by the claim keys of the customers named `<prefix>-…` (written by the seeding through featurize). */
async function claimBytes(prefix: string): Promise<number> {
  let total = 0;
  let cursor = '0';
  do {
    const [nextCursor, keys] = await redis.scan(cursor, 'MATCH', `fw:{${prefix}-*}:*:claim:*`, 'COUNT', 1000);
    cursor = nextCursor;
    for (const key of keys) total += Number((await redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0')) ?? 0);
  } while (cursor !== '0');
  return total;
}

await targets.stop();
await before?.stop();
await store.close();
redis.disconnect();
await server.stop();

const kib = (b: number) => `${(b / 1024).toFixed(2)} KiB`;
console.log('### How cost grows with customers and history\n');
console.log(
  `${machine()}, ${new Date().toISOString().slice(0, 10)}. featurize and score by customerId over HTTP on one ` +
    `redis-server, each paced at ${RATE} req/s for ${SECONDS} s (open loop, latency from the scheduled issue). ` +
    'Memory: used_memory grown per customer, less the claims of the seeding, and MEMORY USAGE of its four keys (history, first ' +
    'sightings, latest record, window tree).\n',
);
const compared = before !== null;
console.log(
  '| customers | events of history | memory / customer | its keys | featurize p50 | featurize p99 | score p50 | score p99 |' +
    (compared ? ' before: featurize p50 / p99 | before: score p50 / p99 |' : ''),
);
console.log(`|---:|---:|---:|---:|---:|---:|---:|---:|${compared ? '---:|---:|' : ''}`);
for (const c of cells) {
  const then = c.earlier
    ? ` ${ms(c.earlier.featurize.p50Ms)} / ${ms(c.earlier.featurize.p99Ms)} | ${ms(c.earlier.score.p50Ms)} / ${ms(c.earlier.score.p99Ms)} |`
    : '';
  console.log(
    `| ${c.customers.toLocaleString('en')} | ${c.history} | ${kib(c.bytesPerCustomer)} | ${kib(c.keyBytes)} | ` +
      `${ms(c.featurize.p50Ms)} | ${ms(c.featurize.p99Ms)} | ${ms(c.score.p50Ms)} | ${ms(c.score.p99Ms)} |${then}`,
  );
}
const us = (x: number) => `${Math.round(x)} µs`;
console.log(
  `\nfeaturize's handler in the benchmark's process, ${IN_PROCESS_EVENTS} events one at a time per cell (the work ` +
    'per event: validation, the store script, the vector; no HTTP):\n',
);
console.log(`| customers | events of history | p50 | p99 |${compared ? ' before: p50 | before: p99 |' : ''}`);
console.log(`|---:|---:|---:|---:|${compared ? '---:|---:|' : ''}`);
for (const c of cells) {
  const then = c.earlier ? ` ${us(c.earlier.handler.p50Us)} | ${us(c.earlier.handler.p99Us)} |` : '';
  console.log(
    `| ${c.customers.toLocaleString('en')} | ${c.history} | ${us(c.handler.p50Us)} | ${us(c.handler.p99Us)} |${then}`,
  );
}
if (compared) {
  console.log(
    `\n"before": ${args.compare}, in the same run, cell by cell, on the cell's odd-numbered customers (this ` +
      'checkout on the even ones), at the same rate.',
  );
}
const historyCell = (h: number) => cells.find((c) => c.customers === HISTORY_CUSTOMERS && c.history === h);
const [short, long] = [historyCell(Math.min(...HISTORY_SIZES)), historyCell(Math.max(...HISTORY_SIZES))];
if (short && long) {
  const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}×`;
  console.log(
    `\nfeaturize p99 at ${long.history} events of history / at ${short.history}: over HTTP ` +
      `${ratio(long.featurize.p99Ms, short.featurize.p99Ms)}, in-process ${ratio(long.handler.p99Us, short.handler.p99Us)}` +
      (long.earlier && short.earlier
        ? `; before: over HTTP ${ratio(long.earlier.featurize.p99Ms, short.earlier.featurize.p99Ms)}, in-process ` +
          `${ratio(long.earlier.handler.p99Us, short.earlier.handler.p99Us)}`
        : ''),
  );
}
