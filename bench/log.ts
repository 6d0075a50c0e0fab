// Benchmark: event-log appends per second on the file log and on Kafka (librdkafka's mock via kcat, real Apache Kafka).
// Run: npx tsx bench/log.ts [--kafka mock|apache|both] [--batches 1,100,1000] [--seconds 3] [--rounds 3]
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createFileEventLog } from '../shared/log/file.ts';
import { createKafkaEventLog } from '../shared/log/kafka.ts';
import type { EventLog, LogRecord } from '../shared/log/types.ts';
import { createLogger } from '../shared/runtime/logger.ts';
import { transactionRecord } from '../test/shared/log/support.ts';
import {
  type BenchBroker,
  describeBrokers,
  parseKafkaChoice,
  startBenchBrokers,
  stopBenchBrokers,
} from './support/kafka-brokers.ts';
import { type AppendResult as Result, measureAppends } from './support/appends.ts';
import { medianBy } from './support/load.ts';

const { values: args } = parseArgs({
  options: {
    batches: { type: 'string', default: '1,100,1000' },
    /** Records appended per case (rounded up to whole batches); each case also stops after `seconds`. */
    records: { type: 'string', default: '50000' },
    seconds: { type: 'string', default: '3' },
    /** Each case runs this many times; the table shows the median round (by records/s). */
    rounds: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '1' },
    /** The Kafka brokers beside the file log: librdkafka's mock, real Apache Kafka, or both. */
    kafka: { type: 'string', default: 'mock' },
  },
});
const BATCHES = args.batches.split(',').map(Number);
const RECORDS = Number(args.records);
const SECONDS = Number(args.seconds);
const CONCURRENCY = Number(args.concurrency);
const ROUNDS = Number(args.rounds);
const CUSTOMERS = 1_000;

/** A pool of realistic transaction.accepted records over CUSTOMERS customers (so all 4 partitions get some). */
const pool: LogRecord[] = Array.from({ length: 4_000 }, (_, i) =>
  transactionRecord({ customerId: `cust-${i % CUSTOMERS}`, n: i, time: 1_700_000_000_000 + i }),
);

const measure = (name: string, events: EventLog, batch: number) =>
  measureAppends({ name, events, batch, pool, concurrency: CONCURRENCY, records: RECORDS, seconds: SECONDS });

/** The round with the median throughput. */
function median(rounds: Result[]): Result {
  const middle = medianBy(rounds, (r) => r.records / r.seconds);
  if (!middle) throw new Error('no rounds');
  return middle;
}

const log = createLogger({ name: 'bench-log', level: 'silent' });
const dataDir = await mkdtemp(join(os.tmpdir(), 'flywheel-bench-log-'));
const brokers: BenchBroker[] = await startBenchBrokers(parseKafkaChoice(args.kafka));
const results: Result[] = [];
try {
  for (const batch of BATCHES) {
    const rounds = new Map<string, Result[]>();
    const keep = (r: Result) => rounds.set(r.log, [...(rounds.get(r.log) ?? []), r]);
    for (let round = 0; round < ROUNDS; round++) {
      const topic = `bench.${batch}.${round}`;
      const fileLog = createFileEventLog({ dataDir, topic, log });
      keep(await measure('file (write + fdatasync per append)', fileLog, batch));
      await fileLog.close();
      for (const broker of brokers) {
        const kafkaLog = createKafkaEventLog({
          brokers: [broker.brokers],
          topic,
          clientId: 'bench',
          timeoutMs: 5_000,
          log,
        });
        keep(await measure(`${broker.label} (acks=all)`, kafkaLog, batch));
        await kafkaLog.close();
      }
    }
    for (const list of rounds.values()) results.push(median(list));
  }
} finally {
  await stopBenchBrokers(brokers);
  await rm(dataDir, { recursive: true, force: true });
}

const recordBytes = Math.round(pool.reduce((n, r) => n + Buffer.byteLength(r.value), 0) / pool.length);
const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
const fsType =
  spawnSync('stat', ['-f', '-c', '%T', os.tmpdir()], { encoding: 'utf8' }).stdout.trim() || 'unknown';
console.log('### Event log appends\n');
console.log(
  `- machine: ${cpu}, ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.platform()} ${os.release()}, Node ${process.version}`,
);
console.log(`- date: ${new Date().toISOString()}`);
console.log(
  `- method: \`npx tsx bench/log.ts\`; EventLog.append through the adapter, ${CONCURRENCY} call(s) in flight, ` +
    `each case up to ${RECORDS} records or ${SECONDS} s after 3 warm-up appends, median of ${ROUNDS} rounds; records are transaction.accepted ` +
    `CloudEvents (~${recordBytes} B value) over ${CUSTOMERS} customers; the file log is on ${os.tmpdir()} (${fsType}); ` +
    `the file log and each broker alternate within a round. ${describeBrokers(brokers)}; producer with acks=all ` +
    'and one request in flight, on loopback.\n',
);
console.log(
  '| log | records/append | appends | records/s | appends/s | p50 ms/append | p90 ms/append | p99 ms/append |',
);
console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
for (const r of results) {
  console.log(
    `| ${r.log} | ${r.batch} | ${r.appends} | ${Math.round(r.records / r.seconds)} | ${Math.round(r.appends / r.seconds)} | ${r.p50.toFixed(2)} | ${r.p90.toFixed(2)} | ${r.p99.toFixed(2)} |`,
  );
}
