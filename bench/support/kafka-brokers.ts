// The Kafka brokers a benchmark can put the event log on: librdkafka's mock cluster (kcat) and real Apache Kafka.
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { KAFKA_VERSIONS, startApacheKafka } from '../../test/support/kafka-broker.ts';
import { startKafka } from '../../test/support/kafka.ts';
import { progress } from './workload.ts';

/** Which brokers to start: `--kafka off|mock|apache|both` (`on` is `mock`, the earlier meaning). */
export type KafkaChoice = 'off' | 'mock' | 'apache' | 'both';

/** A started broker, named for tables: `kind` keys the target, `label` is what a row says. */
export interface BenchBroker {
  kind: 'mock' | 'apache';
  label: string;
  brokers: string;
  /** Seconds from spawn until it served a round trip (Apache Kafka: JVM start, storage format, topic). */
  startSeconds: number;
  stop(): Promise<void>;
}

/** Parses the `--kafka` option; throws naming the values it takes. */
export function parseKafkaChoice(text: string): KafkaChoice {
  if (text === 'on') return 'mock';
  if (text === 'off' || text === 'mock' || text === 'apache' || text === 'both') return text;
  throw new Error(`--kafka takes off, mock, apache or both, not ${text}`);
}

/**
 * Starts the chosen brokers, one after the other. The mock needs kcat and is left out (with a note on stderr) when
 * kcat is missing; Apache Kafka needs Java 17 and Maven and fails with the install command when they are missing.
 */
export async function startBenchBrokers(choice: KafkaChoice): Promise<BenchBroker[]> {
  const started: BenchBroker[] = [];
  try {
    if (choice === 'mock' || choice === 'both') {
      if (spawnSync('kcat', ['-V'], { stdio: 'ignore' }).error)
        progress('kcat not found: no mock-broker rows');
      else {
        const t0 = performance.now();
        const mock = await startKafka();
        const startSeconds = (performance.now() - t0) / 1000;
        started.push({ kind: 'mock', label: 'Kafka mock', startSeconds, ...mock });
      }
    }
    if (choice === 'apache' || choice === 'both') {
      const version = KAFKA_VERSIONS.current;
      progress(`starting Apache Kafka ${version}`);
      const t0 = performance.now();
      // Kafka's default group delay (the tests' brokers use 0): a reader that joined a group per read pays it here
      const broker = await startApacheKafka({ version, groupInitialRebalanceDelayMs: 3_000 });
      const startSeconds = (performance.now() - t0) / 1000;
      progress(`Apache Kafka ${version} serving after ${startSeconds.toFixed(1)} s`);
      started.push({
        kind: 'apache',
        label: `Apache Kafka ${version}`,
        brokers: broker.brokers,
        startSeconds,
        stop: () => broker.stop(),
      });
    }
    return started;
  } catch (err) {
    await stopBenchBrokers(started);
    throw err;
  }
}

export async function stopBenchBrokers(brokers: readonly BenchBroker[]): Promise<void> {
  for (const b of brokers) await b.stop();
}

/** One sentence for a method paragraph: what each started broker is and how it runs. */
export function describeBrokers(brokers: readonly BenchBroker[]): string {
  return brokers
    .map((b) =>
      b.kind === 'mock'
        ? "Kafka mock: librdkafka's mock cluster (one broker, via kcat)"
        : `${b.label}: one real broker and controller in one JVM (KRaft, jars from Maven Central, -Xmx384m, ` +
          `SerialGC, C1 only; log on ${tmpdir()}, Kafka's default flush policy, i.e. the page ` +
          `cache, no fsync per write; ready ${b.startSeconds.toFixed(0)} s after spawn); the topic is created by ` +
          'the adapter with 4 partitions, replication factor 1, and its producer is idempotent',
    )
    .join('; ');
}
