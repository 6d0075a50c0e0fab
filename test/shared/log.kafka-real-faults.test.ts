// The Kafka adapter on a real Apache Kafka broker: topics as an operator expects them, a broker that dies
// mid-append, and a consumer group that loses a member mid-replay while the records go into a real Redis.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DependencyError } from '../../shared/errors/index.ts';
import { createKafkaEventLog, type KafkaEventLogOptions } from '../../shared/log/kafka.ts';
import type { Consumption, EventLog, LogRecord, StoredRecord } from '../../shared/log/types.ts';
import { createLogger } from '../../shared/runtime/logger.ts';
import { createRedisStore } from '../../shared/store/redis.ts';
import type { OnlineStore } from '../../shared/store/types.ts';
import { type ApacheKafka, startApacheKafka } from '../support/kafka-broker.ts';
import { type RedisServer, startRedis } from '../support/redis.ts';
import { rejectsAsUnavailable, transactionRecord, waitFor } from './log/support.ts';

const log = createLogger({ name: 'kafka-real-faults', level: 'silent' });
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
process.on('unhandledRejection', onUnhandled);
after(() => process.off('unhandledRejection', onUnhandled));

const open = (broker: ApacheKafka, topic: string, more: Partial<KafkaEventLogOptions> = {}): EventLog =>
  createKafkaEventLog({
    brokers: [broker.brokers],
    topic,
    clientId: 'real-faults',
    timeoutMs: 1_000,
    sessionTimeoutMs: 6_000,
    log,
    ...more,
  });

const records = (prefix: string, count: number, customers: number): LogRecord[] =>
  Array.from({ length: count }, (_, n) =>
    transactionRecord({ customerId: `${prefix}-${n % customers}`, n, time: 1_000_000 + n }),
  );

/** What a topic holds, read back by offsets from the start of every partition. */
async function everything(events: EventLog): Promise<StoredRecord[]> {
  const ends = await events.endOffsets();
  return events.readOffsets(ends.map((o) => ({ partition: o.partition, from: '0' })));
}

describe('Kafka event log on Apache Kafka', { timeout: 300_000 }, () => {
  let broker: ApacheKafka | undefined;
  let redis: RedisServer | undefined;
  before(async () => {
    [broker, redis] = await Promise.all([startApacheKafka(), startRedis()]);
  });
  after(async () => {
    await Promise.all([broker?.stop(), redis?.stop()]);
  });
  const kafka = (): ApacheKafka => {
    if (!broker) throw new Error('no broker');
    return broker;
  };

  it('creates a missing topic with the configured partitions, or refuses clearly when told not to', async () => {
    // The test broker auto-creates nothing and defaults to one partition.
    const refusing = open(kafka(), 'topics.refused', { createTopic: false });
    const creating = open(kafka(), 'topics.created', { partitions: 6 });
    try {
      for (const call of [refusing.append(records('r', 1, 1)), refusing.endOffsets()]) {
        await assert.rejects(call, (err: unknown) => {
          assert.ok(err instanceof DependencyError);
          assert.match(err.message, /topic topics\.refused does not exist and KAFKA_CREATE_TOPIC is false/);
          assert.match(err.message, /--partitions 4/);
          return true;
        });
      }
      assert.deepEqual(
        await creating.endOffsets(),
        [0, 1, 2, 3, 4, 5].map((p) => ({ partition: p, offset: '0' })),
      );
      const batch = records('c', 30, 10);
      await creating.append(batch);
      const stored = await everything(creating);
      assert.deepEqual(stored.map((r) => r.id).sort(), batch.map((r) => r.id).sort());
      assert.ok(
        new Set(stored.map((r) => r.partition)).size > 1,
        'ten customers spread over several partitions',
      );
    } finally {
      await Promise.all([refusing.close(), creating.close()]);
    }
  });

  it('answers retriable errors while the broker is down mid-append, works after its restart, and loses nothing', async (t) => {
    const events = open(kafka(), 'faults.crash');
    const sent = records('crash', 400, 20);
    /** Ids whose append resolved: Kafka acknowledged them (acks=all), so they must survive the crash. */
    const acknowledged = new Set<string>();
    const failures: { ms: number; err: unknown }[] = [];
    let crashed = false;
    const writer = (async () => {
      // One writer, as ingest appends: batches of 10, each retried until Kafka acknowledges it.
      for (let i = 0; i < sent.length; i += 10) {
        const batch = sent.slice(i, i + 10);
        for (const until = Date.now() + 120_000; ; ) {
          assert.ok(
            Date.now() < until,
            `batch ${i / 10} not acknowledged within 120 s: ${String(failures.at(-1)?.err)}`,
          );
          const started = Date.now();
          const outcome = await events.append(batch).then(
            () => undefined,
            (err: unknown) => err,
          );
          if (outcome === undefined) break;
          failures.push({ ms: Date.now() - started, err: outcome });
          await new Promise((done) => setTimeout(done, 100));
        }
        for (const r of batch) acknowledged.add(r.id);
        if (i === 100) {
          crashed = true;
          await kafka().crash();
        }
      }
    })();
    try {
      await waitFor('the crash', () => crashed, 120_000);
      await waitFor('appends to fail while the broker is down', () => failures.length >= 3, 120_000);
      await rejectsAsUnavailable(events.endOffsets());
      assert.equal(await events.ping(), false);
      await kafka().restart();
      await writer;
      for (const { err } of failures) {
        assert.ok(err instanceof DependencyError, `a failed append is a DependencyError, got ${String(err)}`);
        assert.equal(err.retriable, true);
      }
      const slowest = Math.max(...failures.map((f) => f.ms));
      t.diagnostic(`${failures.length} failed appends while down; the slowest failed after ${slowest} ms`);
      const stored = await everything(events);
      const ids = new Set(stored.map((r) => r.id));
      assert.deepEqual(
        sent.map((r) => r.id).filter((id) => !ids.has(id)),
        [],
        'every acknowledged record is there',
      );
      assert.equal(acknowledged.size, sent.length);
      // Per customer the records keep their append order (a retried batch may repeat, never reorder).
      for (let c = 0; c < 20; c++) {
        const mine = stored.filter((r) => r.key === `crash-${c}`).map((r) => r.id);
        const firsts = mine.filter((id, n) => mine.indexOf(id) === n);
        assert.deepEqual(
          firsts,
          sent.filter((r) => r.key === `crash-${c}`).map((r) => r.id),
        );
      }
      assert.deepEqual(unhandled, []);
    } finally {
      await writer.catch(() => undefined);
      await events.close();
    }
  });

  it('rebalances a group of two when one member leaves mid-replay; every record is applied to Redis exactly once', async (t) => {
    if (!redis) throw new Error('no redis');
    const store: OnlineStore = createRedisStore({ url: redis.url, timeoutMs: 2_000, log });
    const events = open(kafka(), 'faults.rebalance');
    const customers = 40;
    const sent = records('group', 2_000, customers);
    const applied = new Map<string, number>();
    const handledBy = new Map<string, Set<string>>();
    const second = open(kafka(), 'faults.rebalance');
    const members: Consumption[] = [];
    try {
      /** A member applies each record as featurize does: idempotent by event key, through one Lua script. */
      const member = (name: string, events: EventLog): Promise<Consumption> =>
        events.consume({
          groupId: 'featurize',
          fromBeginning: true,
          onBatch: async (batch) => {
            for (const r of batch) {
              const result = await store.applyCustomerEvent({
                customerId: r.key,
                eventKey: `${r.source}#${r.id}`,
                eventTime: r.time,
                orderKey: r.id,
                value: 1,
                record: r.value,
                windowsMs: [3_600_000],
                retentionMs: 3_600_000,
                maxEvents: 1_000,
                allowedLatenessMs: 3_600_000,
                claimTtlMs: 600_000,
                firstSeen: [],
              });
              if (result.kind === 'applied') applied.set(r.id, (applied.get(r.id) ?? 0) + 1);
              const by = handledBy.get(r.id) ?? new Set<string>();
              handledBy.set(r.id, by.add(name));
              // Slow enough that the replay is still running when a member leaves.
              await new Promise((done) => setTimeout(done, 1));
            }
          },
        });
      // Both members join before the records arrive, so the replay starts with the partitions split between them.
      const a = await member('a', events);
      const b = await member('b', second);
      members.push(a, b);
      await events.append(sent);
      await waitFor(
        'both members to take records',
        () => {
          const names = new Set([...handledBy.values()].flatMap((s) => [...s]));
          return names.has('a') && names.has('b');
        },
        120_000,
      );
      const handledWhenLeaving = handledBy.size;
      await b.stop();
      assert.ok(handledWhenLeaving < sent.length, 'b left mid-replay');
      await waitFor('every record to be handled', () => handledBy.size === sent.length, 120_000);
      await a.stop();
      const twice = [...handledBy.values()].filter((s) => s.size > 1).length;
      t.diagnostic(`b left after ${handledWhenLeaving} of ${sent.length} records; ${twice} handed to both`);
      assert.deepEqual(
        sent.filter((r) => applied.get(r.id) !== 1).map((r) => r.id),
        [],
        'each record applied once',
      );
      const state = await store.readCustomers(
        Array.from({ length: customers }, (_, c) => `group-${c}`),
        { retentionMs: 3_600_000, windowsMs: [3_600_000] },
      );
      for (let c = 0; c < customers; c++) {
        const stored = state.get(`group-${c}`);
        // The newest record is the latest; the ones before it are the prior window's count.
        assert.equal((stored?.prior.windows[0]?.count ?? -1) + 1, sent.length / customers, `group-${c}`);
      }
    } finally {
      await Promise.all(members.map((m) => m.stop()));
      await Promise.all([events.close(), second.close()]);
      await store.close();
    }
  });
  it('keeps records whose event time is older than any retention (the history a backfill replays)', async () => {
    // The test broker checks retention every second (after its first 30 s). A topic with a 1-minute retention
    // shows that a check has run; the adapter's topic keeps everything, though every record is decades old.
    const kept = open(kafka(), 'retention.kept');
    const control = open(kafka(), 'retention.control', { retentionMs: 60_000 });
    try {
      const history = records('old', 20, 4);
      await Promise.all([kept.append(history), control.append(history)]);
      for (const until = Date.now() + 120_000; (await everything(control)).length > 0; ) {
        assert.ok(Date.now() < until, 'no retention check deleted the 1-minute topic within 120 s');
        await new Promise((done) => setTimeout(done, 500));
      }
      assert.deepEqual((await everything(kept)).map((r) => r.id).sort(), history.map((r) => r.id).sort());
    } finally {
      await Promise.all([kept.close(), control.close()]);
    }
  });
});
