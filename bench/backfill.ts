// Benchmark: backfill events/s (event log → featurize's update → an empty store) vs live featurize over HTTP, same events.
// Run: npx tsx bench/backfill.ts [--events 50000] [--customers 2000] [--kafka apache|off]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { runBackfill } from '../shared/backfill/backfill.ts';
import { defaultConfig } from '../shared/config/index.ts';
import { customerFeatures } from '../shared/features/index.ts';
import { createFileEventLog, createKafkaEventLog, type EventLog } from '../shared/log/index.ts';
import { createLogger } from '../shared/runtime/index.ts';
import { createRedisStore } from '../shared/store/index.ts';
import { type RedisServer, startRedis } from '../test/support/redis.ts';
import { type ChildTarget, startChild } from './support/child.ts';
import {
  type BenchBroker,
  describeBrokers,
  parseKafkaChoice,
  startBenchBrokers,
  stopBenchBrokers,
} from './support/kafka-brokers.ts';
import { type LoadResult, machine, ms, runLoad } from './support/load.ts';
import {
  acceptedBinary,
  acceptedRecord,
  DAY_MS,
  type GeneratedTransaction,
  historyLength,
  progress,
  transactionStream,
} from './support/workload.ts';

const { values: args } = parseArgs({
  options: {
    events: { type: 'string', default: '50000' },
    customers: { type: 'string', default: '2000' },
    connections: { type: 'string', default: '32' },
    /** Seconds of warm-up for each path (live: featurize on a scratch store; backfill: a run stopped after it). */
    warmup: { type: 'string', default: '1' },
    /** Also backfill from real Apache Kafka ('apache'), or only from the file log ('off'). */
    kafka: { type: 'string', default: 'apache' },
    'append-batch': { type: 'string', default: '1000' },
  },
});
const EVENTS = Number(args.events);
const CUSTOMERS = Number(args.customers);
const CONNECTIONS = Number(args.connections);
const WARMUP = Number(args.warmup);
const APPEND_BATCH = Number(args['append-batch']);
const KAFKA = parseKafkaChoice(args.kafka);
if (KAFKA === 'mock' || KAFKA === 'both') throw new Error('--kafka takes apache or off here');

const log = createLogger({ name: 'bench', level: 'warn' });
const config = defaultConfig();
const now = Date.now();
const dataDir = await mkdtemp(path.join(tmpdir(), 'bench-backfill-'));
const servers: RedisServer[] = [];
let brokers: BenchBroker[] = [];
let targets: ChildTarget | null = null;
const logs: { name: string; eventLog: EventLog; appendPerSecond: number }[] = [];

/** A fresh, empty redis-server (persistence off), stopped at the end. */
async function emptyRedis(): Promise<RedisServer> {
  const server = await startRedis();
  servers.push(server);
  return server;
}

/** Events in every customer's history in the store (within the retention): the same on two stores that agree. */
async function historyTotal(url: string, customers: readonly string[]): Promise<number> {
  const store = createRedisStore({ url, timeoutMs: 10_000, log });
  const states = await store.readCustomers(customers, customerFeatures);
  await store.close();
  return [...states.values()].reduce((sum, s) => sum + historyLength(s), 0);
}

interface BackfillRow {
  source: string;
  seconds: number;
  applied: number;
  read: number;
  history: number;
}
const backfills: BackfillRow[] = [];
let live: LoadResult | null = null;
let liveHistory = 0;
let liveDropped = 0;

// The same N transactions for every path: the demo generator's, over the last weeks, each customer's in time order.
const stream = transactionStream({ seed: 41, customers: CUSTOMERS, from: now - 90 * DAY_MS });
const txs: GeneratedTransaction[] = Array.from({ length: EVENTS }, () => stream.next());
const range = { from: now - 90 * DAY_MS, to: now };
try {
  brokers = await startBenchBrokers(KAFKA);
  const sources: { name: string; eventLog: EventLog }[] = [
    { name: 'the file log', eventLog: createFileEventLog({ dataDir, topic: 'backfill', log }) },
    ...brokers.map((b) => ({
      name: b.label,
      eventLog: createKafkaEventLog({
        brokers: [b.brokers],
        topic: 'backfill',
        clientId: 'bench-backfill',
        timeoutMs: config.DEPENDENCY_TIMEOUT_MS,
        log,
      }),
    })),
  ];
  // What ingest would have appended: one accepted record per transaction, in batches through the adapter.
  const records = txs.map((tx, i) => acceptedRecord(tx, `bf-${i}`));
  for (const { name, eventLog } of sources) {
    const t0 = performance.now();
    for (let i = 0; i < records.length; i += APPEND_BATCH)
      await eventLog.append(records.slice(i, i + APPEND_BATCH));
    const appendPerSecond = records.length / ((performance.now() - t0) / 1000);
    progress(`${records.length} records appended to ${name} (${Math.round(appendPerSecond)}/s)`);
    logs.push({ name, eventLog, appendPerSecond });
  }

  const backfill = async (eventLog: EventLog, url: string, signal?: AbortSignal) => {
    const store = createRedisStore({ url, timeoutMs: 10_000, log });
    try {
      const t0 = performance.now();
      const outcome = await runBackfill({
        eventLog,
        store,
        featureSet: customerFeatures,
        range,
        allowedLatenessMs: config.ALLOWED_LATENESS_MS,
        log,
        ...(signal ? { signal } : {}),
      });
      return { outcome, seconds: (performance.now() - t0) / 1000 };
    } finally {
      await store.close();
    }
  };
  for (const { name, eventLog } of logs) {
    // warm-up: the same path into a scratch store, stopped after WARMUP s
    await backfill(eventLog, (await emptyRedis()).url, AbortSignal.timeout(WARMUP * 1000));
    const target = await emptyRedis();
    const { outcome, seconds } = await backfill(eventLog, target.url);
    const c = outcome.checkpoint.counts;
    if (outcome.kind !== 'completed' || c.applied !== EVENTS) {
      throw new Error(`backfill from ${name} ended ${outcome.kind} with ${JSON.stringify(c)}`);
    }
    const history = await historyTotal(target.url, stream.customers);
    backfills.push({ source: name, seconds, applied: c.applied, read: c.read, history });
    progress(`backfill from ${name}: ${Math.round(c.applied / seconds)} events/s`);
  }

  // The live path: the same events, in the same order and with the same ids, to featurize over HTTP.
  const warm = await emptyRedis();
  const target = await emptyRedis();
  targets = await startChild('bench/support/store-targets.ts', {
    env: { BENCH_REDIS_URLS: JSON.stringify({ warm: warm.url, live: target.url }), BENCH_SCORE: 'off' },
  });
  const warmStream = transactionStream({ seed: 42, customers: CUSTOMERS, from: now - 90 * DAY_MS });
  let w = 0;
  await runLoad({
    name: 'warm-up',
    url: targets.info['featurize-warm'] ?? '',
    next: () => acceptedBinary(warmStream.next(), `warm-${w++}`),
    connections: CONNECTIONS,
    durationSeconds: WARMUP,
  });
  let i = 0;
  live = await runLoad({
    name: 'live featurize',
    url: targets.info['featurize-live'] ?? '',
    // autocannon stops at `amount` answers; a request set up beyond it repeats the last event (a duplicate)
    next: () => {
      const n = Math.min(i++, EVENTS - 1);
      return acceptedBinary(txs[n] as GeneratedTransaction, `bf-${n}`);
    },
    connections: CONNECTIONS,
    amount: EVENTS,
  });
  liveDropped = live.statuses?.[202] ?? 0;
  liveHistory = await historyTotal(target.url, stream.customers);
  progress(`live featurize: ${Math.round(live.requestsPerSecond)} events/s`);
} finally {
  await targets?.stop();
  for (const { eventLog } of logs) await eventLog.close();
  await stopBenchBrokers(brokers);
  for (const server of servers) await server.stop();
  await rm(dataDir, { recursive: true, force: true });
}

if (!live) throw new Error('the live path did not run');
const liveRate = live.requestsPerSecond;
console.log('### Backfill vs live featurize\n');
console.log(
  `${machine()}. Private redis-servers (persistence off, a new empty one per run) on loopback. Backfill runs in the ` +
    'benchmark process; live featurize in a child process with autocannon in the parent' +
    `${brokers.length > 0 ? ', the Kafka broker in a JVM' : ''}: every process shares the same cores.\n`,
);
const appended = logs.map((l) => `${l.name} ${Math.round(l.appendPerSecond)} records/s`).join(', ');
console.log(
  `Method: ${EVENTS} transactions from the demo generator over ${CUSTOMERS} customers (` +
    `${(((txs.at(-1)?.occurredAt ?? 0) - (txs[0]?.occurredAt ?? 0)) / DAY_MS).toFixed(0)} days of event time), appended as ingest appends them ` +
    `(\`transaction.accepted\` structured CloudEvents keyed by customer) through the adapter in batches of ` +
    `${APPEND_BATCH} (${appended}; the file log: write + fdatasync per append, on ${tmpdir()}` +
    `${brokers.length > 0 ? `; ${describeBrokers(brokers)}` : ''}). Backfill: \`runBackfill\`, the function ` +
    '`flywheel backfill` runs (the same arguments and defaults: chunks of 500 records per partition, the 4 ' +
    'partitions side by side, 32 customers at a time, a checkpoint per chunk), over the whole range into an ' +
    `empty store, timed from the call to its completion, after a ${WARMUP} s warm-up run into a scratch store. ` +
    `Live: the same events with the same ids, in the same order, as binary-mode \`transaction.accepted\` ` +
    `requests to featurize over HTTP (autocannon, ${CONNECTIONS} connections, exactly ${EVENTS} requests, after ` +
    `a ${WARMUP} s warm-up on a scratch store) into an empty store. Both apply each event through ` +
    '`applyTransaction`, the same Lua update; "events in histories" sums every customer\'s history length ' +
    'afterwards (the same on every store when they agree). One run each (no rounds: each path writes the store ' +
    'once).\n',
);
console.log(
  '| path | events | seconds | events/s | vs live featurize | p50 / p90 / p99 ms per request | events in histories |',
);
console.log('|---|---:|---:|---:|---:|---|---:|');
console.log(
  `| live featurize over HTTP (${CONNECTIONS} connections) | ${live.requests} | ` +
    `${(live.requests / liveRate).toFixed(1)} | ${Math.round(liveRate)} | 100% | ` +
    `${ms(live.p50Ms)} / ${ms(live.p90Ms)} / ${ms(live.p99Ms)} | ${liveHistory} |`,
);
for (const b of backfills) {
  const rate = b.applied / b.seconds;
  console.log(
    `| backfill from ${b.source} | ${b.applied} | ${b.seconds.toFixed(1)} | ${Math.round(rate)} | ` +
      `${((100 * rate) / liveRate).toFixed(0)}% | – | ${b.history} |`,
  );
}
console.log(
  `\nLive featurize: ${live.errors} errors, ${live.non2xx} non-2xx, ${liveDropped} dropped as too late (202). ` +
    `Backfill ratios to live: ${backfills.map((b) => `${b.source} ${(b.applied / b.seconds / liveRate).toFixed(2)}×`).join(', ')}.`,
);
