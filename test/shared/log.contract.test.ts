// One contract for the EventLog interface, run unchanged against the file log, librdkafka's mock and Apache Kafka.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it as test } from 'node:test';
import { InvalidInputError } from '../../shared/errors/index.ts';
import { createFileEventLog } from '../../shared/log/file.ts';
import { createKafkaEventLog } from '../../shared/log/kafka.ts';
import type { EventLog, LogRecord, StoredRecord } from '../../shared/log/types.ts';
import { createLogger } from '../../shared/runtime/logger.ts';
import { type KafkaBroker, startKafka } from '../support/kafka.ts';
import { KAFKA_VERSIONS, startApacheKafka } from '../support/kafka-broker.ts';
import { consumeUntil, expectedStored, position, transactionRecord } from './log/support.ts';

const log = createLogger({ name: 'log-contract', level: 'silent' });
let topics = 0;

/** A log on `topic`; several calls with one topic are several processes' views of one log. */
type Open = (topic: string) => EventLog;

interface Implementation {
  name: string;
  /** Starts what the log needs, once before this implementation's tests; `stop` runs after them. */
  start(): Promise<{ open: Open; stop(): Promise<void> }>;
  /** Why this implementation is known to fail the contract: its tests still run, reported as TODO. */
  knownFailure?: string;
}

const onKafka = (broker: KafkaBroker) => ({
  open: (topic: string) =>
    createKafkaEventLog({
      brokers: [broker.brokers],
      topic,
      clientId: 'contract',
      timeoutMs: 2_000,
      sessionTimeoutMs: 6_000,
      log,
    }),
  stop: () => broker.stop(),
});

const implementations: Implementation[] = [
  {
    name: 'file',
    async start() {
      const dataDir = await mkdtemp(join(tmpdir(), 'flywheel-log-contract-'));
      return {
        open: (topic) => createFileEventLog({ dataDir, topic, log }),
        stop: () => rm(dataDir, { recursive: true, force: true }),
      };
    },
  },
  { name: 'kafka, librdkafka mock cluster', start: async () => onKafka(await startKafka()) },
  ...Object.values(KAFKA_VERSIONS).map((version) => ({
    name: `kafka, Apache Kafka ${version}`,
    start: async () => onKafka(await startApacheKafka({ version })),
  })),
];

/** A fresh topic per test, so tests can run side by side on one broker and one data directory. */
const freshTopic = (name: string) => `contract.${name}.${++topics}`;
const customers = ['cust-a', 'cust-b', 'cust-c', 'cust-d', 'cust-e'];
const strip = ({ partition, offset, ...record }: StoredRecord): LogRecord & { at: string } => ({
  ...record,
  at: `${partition}/${offset}`,
});

for (const impl of implementations) {
  const it = (name: string, fn: () => Promise<void>) =>
    test(name, impl.knownFailure === undefined ? {} : { todo: impl.knownFailure }, fn);
  describe(`EventLog contract (${impl.name})`, { concurrency: true }, () => {
    let subject: { open: Open; stop(): Promise<void> } | undefined;
    before(async () => {
      subject = await impl.start();
    });
    after(() => subject?.stop());
    const open: Open = (topic) => {
      if (!subject) throw new Error(`${impl.name} did not start`);
      return subject.open(topic);
    };

    it('stores a batch where the key decides the partition and offsets count from 0 per partition', async () => {
      const events = open(freshTopic('batch'));
      try {
        const batch = customers.flatMap((c, i) =>
          [0, 1].map((n) => transactionRecord({ customerId: c, n, time: 1_000 + i })),
        );
        await events.append(batch);
        const expected = expectedStored([batch]);
        assert.deepEqual(
          await events.readOffsets([0, 1, 2, 3].map((p) => ({ partition: p, from: '0' }))),
          [...expected].sort((a, b) => a.partition - b.partition || Number(a.offset) - Number(b.offset)),
        );
        const ends = new Map<number, number>();
        for (const r of expected) ends.set(r.partition, Number(r.offset) + 1);
        assert.deepEqual(
          await events.endOffsets(),
          [0, 1, 2, 3].map((p) => ({ partition: p, offset: String(ends.get(p) ?? 0) })),
        );
      } finally {
        await events.close();
      }
    });

    it('keeps each customer in append order when appends from many callers interleave', async () => {
      const events = open(freshTopic('order'));
      try {
        // Every customer's producer appends its own batches one after another, all producers at once, so the
        // log sees their calls interleaved; each customer's records must keep their order.
        await Promise.all(
          customers.map(async (c) => {
            for (let round = 0; round < 4; round++) {
              await events.append(
                [0, 1].map((i) => transactionRecord({ customerId: c, n: 2 * round + i, time: 5_000 })),
              );
            }
          }),
        );
        const read = await events.readRange({ from: 5_000, to: 5_001 });
        assert.equal(read.length, 40);
        for (const c of customers) {
          const mine = read.filter((r) => r.key === c);
          assert.deepEqual(
            mine.map((r) => r.id),
            Array.from({ length: 8 }, (_, n) => `tx-${c}-${n}`),
          );
          assert.equal(new Set(mine.map((r) => r.partition)).size, 1, `${c} stays on one partition`);
        }
      } finally {
        await events.close();
      }
    });

    it('reads a time range with from inclusive and to exclusive, ordered by event time across keys', async () => {
      const events = open(freshTopic('range'));
      try {
        // Appended out of time order, as late events arrive.
        const times = [30, 10, 20, 10, 40, 20, 30];
        const batch = times.map((t, n) =>
          transactionRecord({ customerId: customers[n % 3] ?? 'x', n, time: 100_000 + t }),
        );
        await events.append(batch.slice(0, 4));
        await events.append(batch.slice(4));
        const stored = expectedStored([batch.slice(0, 4), batch.slice(4)]);
        const inWindow = (from: number, to: number) =>
          stored
            .filter((r) => r.time >= from && r.time < to)
            .sort(
              (a, b) => a.time - b.time || a.partition - b.partition || Number(a.offset) - Number(b.offset),
            );
        const [middle, all, exact, empty, before, afterAll] = await Promise.all([
          events.readRange({ from: 100_020, to: 100_040 }),
          events.readRange({ from: 0, to: Number.MAX_SAFE_INTEGER }),
          events.readRange({ from: 100_010, to: 100_011 }),
          events.readRange({ from: 100_020, to: 100_020 }),
          events.readRange({ from: 0, to: 100_010 }),
          events.readRange({ from: 100_041, to: 200_000 }),
        ]);
        assert.deepEqual(middle.map(strip), inWindow(100_020, 100_040).map(strip));
        assert.deepEqual(
          middle.map((r) => r.time),
          [100_020, 100_020, 100_030, 100_030],
        );
        assert.deepEqual(all, inWindow(0, Number.MAX_SAFE_INTEGER));
        assert.deepEqual(
          exact.map((r) => r.time),
          [100_010, 100_010],
        );
        assert.deepEqual([empty, before, afterAll], [[], [], []]);
      } finally {
        await events.close();
      }
    });

    it('answers empty reads on a topic that has no records', async () => {
      const events = open(freshTopic('empty'));
      try {
        assert.deepEqual(await events.readRange({ from: 0, to: Number.MAX_SAFE_INTEGER }), []);
        assert.deepEqual(await events.readOffsets([{ partition: 0, from: '0' }]), []);
        assert.deepEqual(
          (await events.endOffsets()).map((o) => o.offset),
          ['0', '0', '0', '0'],
        );
        await events.append([]);
        assert.equal(await events.ping(), true);
      } finally {
        await events.close();
      }
    });

    it('reads an offset range of one partition, from inclusive and to exclusive', async () => {
      const events = open(freshTopic('offsets'));
      try {
        const batch = Array.from({ length: 6 }, (_, n) =>
          transactionRecord({ customerId: 'cust-a', n, time: 7_000 + n }),
        );
        await events.append(batch);
        const [{ partition }] = expectedStored([batch]) as [StoredRecord];
        const middle = await events.readOffsets([{ partition, from: '2', to: '5' }]);
        assert.deepEqual(
          middle.map((r) => [r.offset, r.id]),
          [
            ['2', 'tx-cust-a-2'],
            ['3', 'tx-cust-a-3'],
            ['4', 'tx-cust-a-4'],
          ],
        );
        const tail = await events.readOffsets([{ partition, from: '4' }]);
        assert.deepEqual(
          tail.map((r) => r.offset),
          ['4', '5'],
        );
        assert.deepEqual(await events.readOffsets([{ partition, from: '6' }]), []);
      } finally {
        await events.close();
      }
    });

    it('answers offset reads in any order, overlapping and side by side, each with its own range', async () => {
      const events = open(freshTopic('rereads'));
      try {
        const batch = customers.flatMap((customerId) =>
          Array.from({ length: 6 }, (_, n) => transactionRecord({ customerId, n, time: 8_000 + n })),
        );
        await events.append(batch);
        const ends = (await events.endOffsets()).filter((o) => o.offset !== '0');
        const offsetsOf = (records: readonly StoredRecord[]) =>
          records.map((r) => `${r.partition}/${r.offset}`);
        const range = (partition: number, from: number, to: number) =>
          Array.from({ length: to - from }, (_, n) => `${partition}/${from + n}`);
        const [first] = ends as [(typeof ends)[number]];
        // backwards on one partition: the tail, then the head, then the tail again
        const high = Number(first.offset);
        assert.deepEqual(
          offsetsOf(await events.readOffsets([{ partition: first.partition, from: String(high - 2) }])),
          range(first.partition, high - 2, high),
        );
        assert.deepEqual(
          offsetsOf(await events.readOffsets([{ partition: first.partition, from: '0', to: '3' }])),
          range(first.partition, 0, 3),
        );
        assert.deepEqual(
          offsetsOf(await events.readOffsets([{ partition: first.partition, from: String(high - 1) }])),
          range(first.partition, high - 1, high),
        );
        // side by side: every partition in chunks of two, all chunks at once, plus the whole log
        const chunks = ends.flatMap((end) =>
          Array.from({ length: Math.ceil(Number(end.offset) / 2) }, (_, n) => ({
            partition: end.partition,
            from: 2 * n,
            to: Math.min(2 * n + 2, Number(end.offset)),
          })),
        );
        const [whole, ...read] = await Promise.all([
          events.readOffsets(ends.map((o) => ({ partition: o.partition, from: '0' }))),
          ...chunks.map((c) =>
            events.readOffsets([{ partition: c.partition, from: String(c.from), to: String(c.to) }]),
          ),
        ]);
        read.forEach((records, n) => {
          const c = chunks[n] as (typeof chunks)[number];
          assert.deepEqual(offsetsOf(records), range(c.partition, c.from, c.to));
        });
        assert.deepEqual((whole ?? []).map((r) => r.id).sort(), batch.map((r) => r.id).sort());
      } finally {
        await events.close();
      }
    });

    it('rejects an invalid record with InvalidInputError naming it, and writes nothing of that batch', async () => {
      const events = open(freshTopic('invalid'));
      try {
        const good = transactionRecord({ customerId: 'cust-a', n: 0, time: 1 });
        const bad = { ...good, key: '' };
        await assert.rejects(events.append([good, bad]), (err: unknown) => {
          assert.ok(err instanceof InvalidInputError);
          assert.equal(err.field, 'records.1.key');
          return true;
        });
        assert.deepEqual(
          (await events.endOffsets()).map((o) => o.offset),
          ['0', '0', '0', '0'],
        );
      } finally {
        await events.close();
      }
    });

    it('commits group progress per batch: a restarted group resumes after it, a new group sees everything', async () => {
      const topic = freshTopic('group');
      const first = open(topic);
      const wave1 = customers.flatMap((c) =>
        [0, 1, 2].map((n) => transactionRecord({ customerId: c, n, time: 9_000 + n })),
      );
      await first.append(wave1);
      // Stops as soon as one batch is in: whatever was handed over by then is committed.
      const run1 = await consumeUntil({
        log: first,
        groupId: 'replay',
        fromBeginning: true,
        done: (s) => s.length > 0,
      });
      await first.close();
      const seen1 = run1.batches.flat();
      assert.ok(seen1.length > 0);

      const second = open(topic);
      try {
        const wave2 = customers.map((c) => transactionRecord({ customerId: c, n: 3, time: 9_003 }));
        await second.append(wave2);
        const all = expectedStored([wave1, wave2]);
        const remaining = new Set(all.map(position).filter((p) => !seen1.some((r) => position(r) === p)));
        const [run2, fresh] = await Promise.all([
          consumeUntil({
            log: second,
            groupId: 'replay',
            fromBeginning: true,
            done: (s) => [...remaining].every((p) => s.some((r) => position(r) === p)),
          }),
          consumeUntil({
            log: second,
            groupId: 'audit',
            fromBeginning: true,
            done: (s) => s.length >= all.length,
          }),
        ]);
        const seen2 = run2.batches.flat();
        assert.deepEqual(
          seen2.map(position).sort(),
          [...remaining].sort(),
          'resumes after the last committed batch',
        );
        assert.deepEqual(fresh.batches.flat().map(position).sort(), all.map(position).sort());
        for (const batch of [...run1.batches, ...run2.batches, ...fresh.batches]) {
          assert.equal(new Set(batch.map((r) => r.partition)).size, 1, 'one partition per batch');
          const offsets = batch.map((r) => Number(r.offset));
          assert.deepEqual(
            offsets,
            [...offsets].sort((a, b) => a - b),
            'offset order within a batch',
          );
        }
        assert.deepEqual(
          fresh.batches.flat().find((r) => r.id === 'tx-cust-c-3'),
          all.find((r) => r.id === 'tx-cust-c-3'),
        );
      } finally {
        await second.close();
      }
    });

    it('hands a batch whose onBatch rejected over again, then moves on', async () => {
      const events = open(freshTopic('redeliver'));
      try {
        const batch = customers.map((c) => transactionRecord({ customerId: c, n: 0, time: 11_000 }));
        await events.append(batch);
        const run = await consumeUntil({
          log: events,
          groupId: 'flaky',
          fromBeginning: true,
          inspect: (_, call) => {
            if (call === 0) throw new Error('downstream unavailable');
          },
          done: (s) => s.length >= batch.length,
        });
        const [failed] = run.failed;
        assert.ok(failed);
        const again = run.batches.find((b) => b[0]?.partition === failed[0]?.partition);
        assert.deepEqual(again?.slice(0, failed.length), failed, 'the same records, from the same offset');
        assert.deepEqual(
          run.batches.flat().map(position).sort(),
          expectedStored([batch]).map(position).sort(),
        );
      } finally {
        await events.close();
      }
    });

    it('starts a group without progress at the end when fromBeginning is false', async () => {
      const events = open(freshTopic('latest'));
      try {
        const early = transactionRecord({ customerId: 'cust-a', n: 0, time: 1 });
        const late = transactionRecord({ customerId: 'cust-b', n: 1, time: 2 });
        await events.append([early]);
        const run = await consumeUntil({
          log: events,
          groupId: 'tail',
          fromBeginning: false,
          started: () => events.append([late]),
          done: (s) => s.length > 0,
        });
        assert.deepEqual(
          run.batches.flat().map((r) => r.id),
          [late.id],
        );
      } finally {
        await events.close();
      }
    });
  });
}
