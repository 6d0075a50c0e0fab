// The Apache Kafka the log tests run on: Maven Central's jars, reached by the adapter, never left running.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { createKafkaEventLog } from '../../shared/log/kafka.ts';
import { createLogger } from '../../shared/runtime/logger.ts';
import { KAFKA_VERSIONS, kafkaLibs, startApacheKafka } from '../support/kafka-broker.ts';
import type { StoredRecord } from '../../shared/log/types.ts';
import { transactionRecord } from './log/support.ts';

const log = createLogger({ name: 'kafka-real', level: 'silent' });
const SUPPORT = new URL('../support/kafka-broker.ts', import.meta.url).href;

/** Whether a process with this pid exists (signal 0 checks without sending anything). */
function exists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('Apache Kafka for the tests', () => {
  it(`runs Apache Kafka ${KAFKA_VERSIONS.current} from Maven Central's jars, keeps what the adapter appends, and stops`, async () => {
    const broker = await startApacheKafka({ version: KAFKA_VERSIONS.current });
    assert.ok(
      existsSync(join(kafkaLibs(KAFKA_VERSIONS.current), `kafka_2.13-${KAFKA_VERSIONS.current}.jar`)),
    );
    const events = createKafkaEventLog({
      brokers: [broker.brokers],
      topic: 'kafka-real.append',
      clientId: 'kafka-real',
      timeoutMs: 2_000,
      log,
    });
    try {
      // The broker auto-creates nothing: the adapter creates the topic before its first append.
      const records = [0, 1, 2].map((n) => transactionRecord({ customerId: 'cust-a', n, time: 1_000 + n }));
      await events.append(records.slice(0, 1));
      await events.append(records.slice(1));
      const ends = await events.endOffsets();
      const written = ends.filter((o) => o.offset !== '0');
      assert.equal(written.length, 1, 'one key, one partition');
      assert.equal(written[0]?.offset, '3');
      const read = await events.readOffsets(ends.map((o) => ({ partition: o.partition, from: '0' })));
      assert.deepEqual(
        read.map((r) => [r.id, r.offset, r.time]),
        records.map((r, n) => [r.id, String(n), r.time]),
      );
    } finally {
      await events.close();
      await broker.stop();
    }
    assert.equal(exists(broker.pid), false, 'the JVM is gone after stop()');
  });

  it('reads offset ranges through one consumer group joined once, on a broker with the default group delay', async () => {
    // Kafka holds a new group's first join for group.initial.rebalance.delay.ms (3 s by default): a group per read
    // would pay it on every chunk a backfill reads.
    const broker = await startApacheKafka({ groupInitialRebalanceDelayMs: 3_000 });
    const events = createKafkaEventLog({
      brokers: [broker.brokers],
      topic: 'kafka-real.reads',
      clientId: 'reader',
      timeoutMs: 2_000,
      log,
    });
    // the broker seen through a second client: which groups exist, and who is in them
    const probe = new Kafka({
      clientId: 'probe',
      brokers: [broker.brokers],
      logLevel: logLevel.NOTHING,
    }).admin();
    try {
      await probe.connect();
      const records = ['cust-a', 'cust-b', 'cust-c', 'cust-d', 'cust-e', 'cust-f'].flatMap((customerId) =>
        Array.from({ length: 5 }, (_, n) => transactionRecord({ customerId, n, time: 1_000 + n })),
      );
      await events.append(records);
      const ends = await events.endOffsets();
      const read: StoredRecord[] = [];
      const readerGroups = new Set<string>();
      // as a backfill reads: every partition at once, each in chunks of three offsets
      await Promise.all(
        ends.map(async (end) => {
          for (let from = 0n; from < BigInt(end.offset); from += 3n) {
            const range = { partition: end.partition, from: String(from), to: String(from + 3n) };
            read.push(...(await events.readOffsets([range])));
            for (const g of (await probe.listGroups()).groups) {
              if (g.groupId.startsWith('reader.read.')) readerGroups.add(g.groupId);
            }
          }
        }),
      );
      assert.deepEqual(read.map((r) => r.id).sort(), records.map((r) => r.id).sort());
      assert.equal(readerGroups.size, 1, `one group for every read, not one per read: ${[...readerGroups]}`);
      const group = [...readerGroups].join();
      const members = async () => (await probe.describeGroups([group])).groups[0]?.members.length;
      assert.equal(await members(), 1, 'the reader stays in its group between reads');
      await events.close();
      assert.equal(await members(), 0, 'close() leaves the group');
    } finally {
      await probe.disconnect();
      await events.close();
      await broker.stop();
    }
  });

  it('kills the broker when the test process dies without stopping it', async () => {
    // A child test process starts a broker, prints the JVM's pid, and is then killed with SIGKILL.
    const script = `const { startApacheKafka } = await import(${JSON.stringify(SUPPORT)});
      const broker = await startApacheKafka();
      console.log('pid', broker.pid);
      setInterval(() => {}, 1_000);`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      out += d.toString();
    });
    let pid = Number.NaN;
    try {
      for (const until = Date.now() + 90_000; !Number.isInteger(pid); await sleep(100)) {
        assert.ok(Date.now() < until && child.exitCode === null, `the child started no broker:\n${out}`);
        pid = Number(/^pid (\d+)$/m.exec(out)?.[1] ?? Number.NaN);
      }
      assert.equal(exists(pid), true);
    } finally {
      child.kill('SIGKILL');
    }
    for (const until = Date.now() + 10_000; exists(pid); await sleep(50)) {
      assert.ok(Date.now() < until, `the broker JVM ${pid} outlived its test process by 10 s`);
    }
  });

  it('fails with the install command when Java or Maven is missing', async () => {
    // PATH holds node alone, and the version is one never cached, so the support has to look for java and mvn.
    const bin = await mkdtemp(join(tmpdir(), 'flywheel-no-java-'));
    try {
      await symlink(process.execPath, join(bin, 'node'));
      const script = `const { resolveKafka } = await import(${JSON.stringify(SUPPORT)});
        await resolveKafka('0.0.0-never-cached');`;
      const run = spawnSync(join(bin, 'node'), ['--import', 'tsx', '--input-type=module', '-e', script], {
        env: { PATH: bin },
        encoding: 'utf8',
      });
      assert.notEqual(run.status, 0);
      assert.match(run.stderr, /java is needed to run the Apache Kafka broker in tests/);
      assert.match(run.stderr, /apt-get install -y openjdk-17-jre-headless maven/);
    } finally {
      await rm(bin, { recursive: true, force: true });
    }
  });
});
