// Benchmark: ingest CloudEvents/s over HTTP (single and batched) and featurize events/s on real Redis, beside the bare route.
// Run: npx tsx bench/ingest-featurize.ts [--seconds 8] [--rounds 3] [--kafka off|mock|apache|both] [--featurize off]
//      [--targets <another checkout>/bench/support/pipeline-targets.ts]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createFileEventLog, createKafkaEventLog, type EventLog } from '../shared/log/index.ts';
import { createLogger } from '../shared/runtime/index.ts';
import { customerFeatures } from '../shared/features/index.ts';
import { createRedisStore, type OnlineStore } from '../shared/store/index.ts';
import { startRedis } from '../test/support/redis.ts';
import { type AppendResult, measureAppends } from './support/appends.ts';
import { type ChildTarget, startChild } from './support/child.ts';
import { medianRow, type Row, rowMeasurer } from './support/ingest-rows.ts';
import {
  type BenchBroker,
  describeBrokers,
  parseKafkaChoice,
  startBenchBrokers,
  stopBenchBrokers,
} from './support/kafka-brokers.ts';
import { machine, median, ms } from './support/load.ts';
import {
  acceptedBinary,
  acceptedRecord,
  DAY_MS,
  type GeneratedTransaction,
  historyLength,
  progress,
  rawBatch,
  rawBinary,
  seedHistories,
  transactionStream,
} from './support/workload.ts';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '8' },
    warmup: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '32' },
    batch: { type: 'string', default: '100' },
    'batch-connections': { type: 'string', default: '4' },
    customers: { type: 'string', default: '2000' },
    /** Days of history written before the load: 30 = the feature set's retention, a steady state from the start. */
    'history-days': { type: 'string', default: '30' },
    /** The Kafka rows beside the file log's: librdkafka's mock, real Apache Kafka, both, or none. */
    kafka: { type: 'string', default: 'mock' },
    /** 'off' measures the bare route and featurize only (e.g. to profile featurize alone). */
    ingest: { type: 'string', default: 'on' },
    /** 'off' measures ingest only: no seeding, no bare route or featurize rows. */
    featurize: { type: 'string', default: 'on' },
    /** Ingest rows alternate over the event logs for this many rounds; the table shows each one's median round. */
    'ingest-rounds': { type: 'string', default: '1' },
    /** The targets' script: another checkout's, to measure the code before a change the same way. */
    targets: { type: 'string', default: 'bench/support/pipeline-targets.ts' },
    /** Write a V8 CPU profile of the targets' process into this folder. */
    profile: { type: 'string' },
  },
});
const SECONDS = Number(args.seconds);
const WARMUP = Number(args.warmup);
const ROUNDS = Number(args.rounds);
const CONNECTIONS = Number(args.connections);
const BATCH = Number(args.batch);
const BATCH_CONNECTIONS = Number(args['batch-connections']);
const CUSTOMERS = Number(args.customers);
const HISTORY_DAYS = Number(args['history-days']);
const PROFILE_DIR = args.profile;
const INGEST_ROUNDS = Number(args['ingest-rounds']);
const KAFKA = parseKafkaChoice(args.kafka);
const WITH_FEATURIZE = args.featurize !== 'off';

const log = createLogger({ name: 'bench', level: 'warn' });
const now = Date.now();
const redis = await startRedis();
let kafka: BenchBroker[] = [];
let peers: ChildTarget | null = null;
let targets: ChildTarget | null = null;
const logDir = await mkdtemp(path.join(tmpdir(), 'bench-log-'));

/** Median and largest history length over the customers, as text. */
async function historyLengths(store: OnlineStore, customers: readonly string[]): Promise<string> {
  const states = await store.readCustomers(customers, customerFeatures);
  const lengths = [...states.values()].map(historyLength);
  return `median ${median(lengths)}, max ${Math.max(...lengths)}`;
}

const rows: Row[] = [];
/** Bare appends per event log: the limit of ingest's batched rows. */
const limits: AppendResult[] = [];
let seeded = 0;
let historyAtStart = '';
let historyAtEnd = '';
let bareRounds: number[] = [];
let featurizeRounds: number[] = [];
/** Each ingest row's events/s per round, in the order the rows are printed. */
const ingestRounds = new Map<string, number[]>();
try {
  kafka = await startBenchBrokers(args.ingest === 'off' ? 'off' : KAFKA);
  peers = await startChild('bench/support/peers.ts');
  const measure = rowMeasurer({ sinkUrl: peers.info.sink ?? '', warmupSeconds: WARMUP, seconds: SECONDS });
  // featurize's customers: histories of HISTORY_DAYS days first, then the load continues the same stream.
  const from = now - 120 * DAY_MS;
  const featurizeStream = transactionStream({ seed: 11, customers: CUSTOMERS, from });
  const seedStore = createRedisStore({ url: redis.url, timeoutMs: 5_000, log });
  if (WITH_FEATURIZE) {
    progress(`seeding ${HISTORY_DAYS} days of history for ${CUSTOMERS} customers`);
    seeded = await seedHistories({
      store: seedStore,
      stream: featurizeStream,
      until: from + HISTORY_DAYS * DAY_MS,
    });
    historyAtStart = await historyLengths(seedStore, featurizeStream.customers);
    progress(`seeded ${seeded} events`);
  }

  targets = await startChild(args.targets, {
    env: {
      BENCH_REDIS_URL: redis.url,
      BENCH_SINK_URL: `${peers.info.sink ?? ''}/`,
      BENCH_LOG_DIR: logDir,
      BENCH_KAFKA: JSON.stringify(Object.fromEntries(kafka.map((b) => [b.kind, b.brokers]))),
    },
    ...(PROFILE_DIR ? { nodeArgs: ['--cpu-prof', '--cpu-prof-dir', PROFILE_DIR] } : {}),
  });
  const url = (name: string) => targets?.info[name] ?? '';

  // The bare route gets the same kind of event from a stream of its own (it keeps no state).
  const bareStream = transactionStream({ seed: 12, customers: CUSTOMERS, from: now - 60 * DAY_MS });
  let seq = 0;
  const bare = () => acceptedBinary(bareStream.next(), `bare-${seq++}`);
  const featurize = () => acceptedBinary(featurizeStream.next(), `feat-${seq++}`);
  // ingest dedupes by source + id: every request carries new ids. Event times stay in the past (clock-skew check).
  const ingestStream = transactionStream({ seed: 13, customers: CUSTOMERS, from: now - 150 * DAY_MS });
  const single = () => rawBinary(ingestStream.next(), `ing-${seq++}`);
  const batch = () => {
    const txs: GeneratedTransaction[] = [];
    for (let i = 0; i < BATCH; i++) txs.push(ingestStream.next());
    return rawBatch(txs, `ingb-${seq++}`);
  };

  // Bare route and featurize alternate, round by round, so a change in background load hits both alike.
  const bareRows: Row[] = [];
  const featurizeRows: Row[] = [];
  for (let round = 1; WITH_FEATURIZE && round <= ROUNDS; round++) {
    const common = { eventsPerRequest: 1, connections: CONNECTIONS, counts: false };
    bareRows.push(await measure({ name: 'bare hono route', url: url('bare'), next: bare, ...common }));
    featurizeRows.push(
      await measure({ name: 'featurize (Redis)', url: url('featurize'), next: featurize, ...common }),
    );
  }
  bareRounds = bareRows.map((r) => r.load.requestsPerSecond);
  featurizeRounds = featurizeRows.map((r) => r.load.requestsPerSecond);
  if (WITH_FEATURIZE) rows.push(medianRow(bareRows), medianRow(featurizeRows));

  // Ingest rows: every event log in turn within a round, single events then batches, INGEST_ROUNDS rounds.
  const logs =
    args.ingest === 'off'
      ? []
      : [['file log', 'ingest-file'], ...kafka.map((b) => [b.label, `ingest-${b.kind}`] as const)];
  const ingestRows = new Map<string, Row[]>();
  const record = (row: Row) => {
    ingestRows.set(row.name, [...(ingestRows.get(row.name) ?? []), row]);
    const perSecond = row.load.requestsPerSecond * row.eventsPerRequest;
    ingestRounds.set(row.name, [...(ingestRounds.get(row.name) ?? []), perSecond]);
  };
  for (let round = 1; round <= INGEST_ROUNDS; round++) {
    for (const [logName, key] of logs) {
      const common = { url: url(key), counts: true };
      record(
        await measure({
          name: `ingest, single event (${logName})`,
          next: single,
          eventsPerRequest: 1,
          connections: CONNECTIONS,
          ...common,
        }),
      );
      record(
        await measure({
          name: `ingest, batch of ${BATCH} (${logName})`,
          next: batch,
          eventsPerRequest: BATCH,
          connections: BATCH_CONNECTIONS,
          ...common,
        }),
      );
    }
  }
  for (const list of ingestRows.values()) rows.push(medianRow(list));

  // The limit: the same kind of records appended straight to each log, batches as big and as many in flight as the
  // batched ingest rows, with the same fsync policy (the adapter's defaults), in this process.
  if (args.ingest !== 'off') {
    const pool = Array.from({ length: 4_000 }, (_, i) => acceptedRecord(ingestStream.next(), `lim-${i}`));
    const limit = (name: string, events: EventLog) =>
      measureAppends({
        name,
        events,
        batch: BATCH,
        pool,
        concurrency: BATCH_CONNECTIONS,
        records: 400_000,
        seconds: SECONDS,
      });
    const fileLog = createFileEventLog({ dataDir: logDir, topic: 'bench-limit', log });
    limits.push(await limit('file log', fileLog));
    await fileLog.close();
    for (const b of kafka) {
      const kafkaLog = createKafkaEventLog({
        brokers: b.brokers.split(','),
        topic: 'bench-limit',
        clientId: 'bench-limit',
        timeoutMs: 5_000,
        log,
      });
      limits.push(await limit(b.label, kafkaLog));
      await kafkaLog.close();
    }
  }
  if (WITH_FEATURIZE) historyAtEnd = await historyLengths(seedStore, featurizeStream.customers);
  await seedStore.close();
} finally {
  await targets?.stop();
  await peers?.stop();
  await stopBenchBrokers(kafka);
  await redis.stop();
  await rm(logDir, { recursive: true, force: true });
}

console.log(`### ${WITH_FEATURIZE ? 'Ingest and featurize' : 'Ingest'} over HTTP\n`);
console.log(
  `${machine()}. A private redis-server (persistence off) on loopback; the targets in one child process, the K_SINK ` +
    'peer (answers 202, counts events) in another, autocannon in the parent' +
    `${kafka.some((b) => b.kind === 'apache') ? ', the Kafka broker in a JVM' : ''}: every process shares the same cores.\n`,
);
const featurizeMethod =
  `featurize: one binary-mode \`transaction.accepted\` per request, replies ` +
  `\`features.updated\`; its customers start with ${HISTORY_DAYS} days of history (${seeded} events written ` +
  `through featurize before the run; events per customer ${historyAtStart}; the features keep 30 days) and the ` +
  `load continues the same stream (at the end: ${historyAtEnd}). The bare route is the foundation ` +
  "benchmark's (reads the binary event, parses the JSON, echoes it), sent the same kind of events. bare and " +
  `featurize alternate for ${ROUNDS} rounds; the table shows each one's median round. `;
const brokers = kafka.length > 0 ? `; ${describeBrokers(kafka)}` : '';
console.log(
  `Method: autocannon, ${CONNECTIONS} connections (batches: ${BATCH_CONNECTIONS}), ${SECONDS} s per row after a ${WARMUP} s warm-up of the same ` +
    `target; every request is different and new (unique CloudEvent ids, transactions from the demo generator over ` +
    `${CUSTOMERS} customers). ${WITH_FEATURIZE ? featurizeMethod : ''}ingest: binary mode, or ` +
    `\`application/cloudevents-batch+json\` with ${BATCH} structured events per request; each event is validated, ` +
    'de-duplicated on Redis, appended to the event log (file log: write + fdatasync per group commit, on ' +
    `${tmpdir()}${brokers}) and published to K_SINK over HTTP, one POST per event. ` +
    (INGEST_ROUNDS > 1
      ? `The ingest rows alternate over the event logs for ${INGEST_ROUNDS} rounds; the table shows each row's median round (by events/s). `
      : '') +
    '"published/s": events the K_SINK peer received from the start of the measured load until ingest went quiet, ' +
    'per second. Latency percentiles are per request (a batch request carries all its events).\n',
);
const vsBare = WITH_FEATURIZE ? ' vs bare route (req/s) |' : '';
console.log(
  `| target | req/s | events/s | published/s | p50 ms | p90 ms | p99 ms | errors | non-2xx |${vsBare}`,
);
console.log(`|---|---:|---:|---:|---:|---:|---:|---:|---:|${WITH_FEATURIZE ? '---:|' : ''}`);
const base = rows[0]?.load.requestsPerSecond ?? 1;
for (const r of rows) {
  const l = r.load;
  const share = r.publishedPerSecond === null ? `${((100 * l.requestsPerSecond) / base).toFixed(0)}%` : '–';
  console.log(
    `| ${r.name} | ${Math.round(l.requestsPerSecond)} | ${Math.round(l.requestsPerSecond * r.eventsPerRequest)} | ` +
      `${r.publishedPerSecond === null ? '–' : Math.round(r.publishedPerSecond)} | ${ms(l.p50Ms)} | ${ms(l.p90Ms)} | ` +
      `${ms(l.p99Ms)} | ${l.errors} | ${l.non2xx} |${WITH_FEATURIZE ? ` ${share} |` : ''}`,
  );
}
if (limits.length > 0) {
  console.log(
    `\nThe limit: the same kind of records appended straight to each log (EventLog.append in the benchmark's process, ` +
      `${BATCH} records per call, ${BATCH_CONNECTIONS} calls in flight, ${SECONDS} s), beside batched ingest:\n`,
  );
  console.log(
    '| event log | bare append records/s | p50 / p99 ms per append | batched ingest events/s | ingest ÷ limit |',
  );
  console.log('|---|---:|---:|---:|---:|');
  for (const l of limits) {
    const perSecond = l.records / l.seconds;
    const ingest = rows.find((r) => r.name === `ingest, batch of ${BATCH} (${l.log})`);
    const ingestRate = ingest ? ingest.load.requestsPerSecond * ingest.eventsPerRequest : 0;
    console.log(
      `| ${l.log} | ${Math.round(perSecond)} | ${l.p50.toFixed(1)} / ${l.p99.toFixed(1)} | ${Math.round(ingestRate)} | ` +
        `${(ingestRate / perSecond).toFixed(2)} |`,
    );
  }
}
const fmt = (xs: number[]) => xs.map((x) => Math.round(x)).join(', ');
if (INGEST_ROUNDS > 1) {
  const lines = [...ingestRounds].map(([name, list]) => `${name} ${fmt(list)}`);
  console.log(`\nIngest rounds (events/s): ${lines.join('; ')}.`);
}
if (WITH_FEATURIZE) {
  const share = median(featurizeRounds) / median(bareRounds);
  console.log(
    `\nRounds (req/s): bare ${fmt(bareRounds)}; featurize ${fmt(featurizeRounds)}. featurize sustains ` +
      `${(100 * share).toFixed(0)}% of the bare route's requests/s (median of ${ROUNDS} rounds each; target ≥ 50%: ` +
      `${share >= 0.5 ? 'met' : 'missed'}).`,
  );
}
