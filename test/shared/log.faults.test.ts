// Kafka fault tests against a real broker: frozen or stopped → retriable errors, no hang, no crash, recovery.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { createKafkaEventLog } from '../../shared/log/kafka.ts';
import type { EventLog, LogRecord, StoredRecord } from '../../shared/log/types.ts';
import { createLogger } from '../../shared/runtime/logger.ts';
import { startKafka } from '../support/kafka.ts';
import { freePort } from '../support/ports.ts';
import { eventually, rejectsAsUnavailable, transactionRecord, waitFor } from './log/support.ts';

const log = createLogger({ name: 'log-faults', level: 'silent' });
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
process.on('unhandledRejection', onUnhandled);
after(() => process.off('unhandledRejection', onUnhandled));

const open = (brokers: string, topic: string) =>
  createKafkaEventLog({
    brokers: [brokers],
    topic,
    clientId: 'faults',
    timeoutMs: 500,
    sessionTimeoutMs: 6_000,
    log,
  });

const batch = (from: number, count: number): LogRecord[] =>
  Array.from({ length: count }, (_, i) =>
    transactionRecord({ customerId: `cust-${(from + i) % 3}`, n: from + i, time: 1_000 + from + i }),
  );

/** A running group consumer that records everything it is handed. */
async function survivor(events: EventLog): Promise<{ ids: Set<string>; stop(): Promise<void> }> {
  const ids = new Set<string>();
  const consumption = await events.consume({
    groupId: 'survivor',
    fromBeginning: true,
    onBatch: async (records: StoredRecord[]) => {
      for (const r of records) ids.add(r.id);
    },
  });
  return { ids, stop: () => consumption.stop() };
}

describe('Kafka event log under broker faults', { timeout: 120_000, concurrency: true }, () => {
  it('fails fast with DependencyError while the broker is frozen, and works again by itself after', async (t) => {
    const broker = await startKafka();
    const events = open(broker.brokers, 'faults.frozen');
    try {
      const before = batch(0, 6);
      await events.append(before);
      const consumer = await survivor(events);
      await waitFor('the first records', () => before.every((r) => consumer.ids.has(r.id)));

      await broker.pause();
      const lost = batch(100, 1);
      const failedIn = [
        await rejectsAsUnavailable(events.append(lost)),
        await rejectsAsUnavailable(events.endOffsets()),
        await rejectsAsUnavailable(events.readRange({ from: 0, to: Number.MAX_SAFE_INTEGER })),
      ];
      assert.equal(await events.ping(), false);

      broker.resume();
      const later = batch(6, 6);
      const failedTries = await eventually(() => events.append(later));
      t.diagnostic(
        `frozen: append/endOffsets/readRange failed after ${failedIn.join('/')} ms; ${failedTries} failed tries after resume`,
      );
      assert.equal(await events.ping(), true);
      await waitFor('the records appended after recovery', () => later.every((r) => consumer.ids.has(r.id)));
      await consumer.stop();

      const stored = await events.readRange({ from: 0, to: Number.MAX_SAFE_INTEGER });
      // The append that failed may still have reached the broker once it woke up (at-least-once); nothing else.
      const expected = [...before, ...later].map((r) => r.id);
      assert.deepEqual(
        stored.map((r) => r.id).filter((id) => id !== lost[0]?.id),
        expected,
      );
      assert.deepEqual(unhandled, []);
    } finally {
      await events.close();
      await broker.stop();
    }
  });

  it('fails fast with DependencyError while the broker is down, and recovers when one is back at its address', async (t) => {
    const port = await freePort();
    let broker = await startKafka({ port });
    const events = open(broker.brokers, 'faults.down');
    try {
      await events.append(batch(0, 3));
      const consumer = await survivor(events);
      await waitFor('the first records', () => consumer.ids.size === 3);

      await broker.stop();
      const failedIn = [
        await rejectsAsUnavailable(events.append(batch(100, 2))),
        await rejectsAsUnavailable(events.readOffsets([{ partition: 0, from: '0' }])),
        await rejectsAsUnavailable(events.append(batch(200, 2))),
      ];
      assert.equal(await events.ping(), false);

      // A new (empty) broker at the same address: the adapter and the running consumer find it themselves.
      broker = await startKafka({ port });
      const later = batch(3, 4);
      const failedTries = await eventually(() => events.append(later));
      t.diagnostic(
        `down: append/readOffsets/append failed after ${failedIn.join('/')} ms; ${failedTries} failed tries after restart`,
      );
      await waitFor('the records appended after recovery', () => later.every((r) => consumer.ids.has(r.id)));
      await consumer.stop();
      const stored = await events.readRange({ from: 0, to: Number.MAX_SAFE_INTEGER });
      assert.deepEqual(
        [...new Set(stored.map((r) => r.id))],
        later.map((r) => r.id),
      );
      assert.deepEqual(unhandled, []);
    } finally {
      await events.close();
      await broker.stop();
    }
  });

  it('refuses to start a consumer with DependencyError when no broker answers, without leaving it running', async () => {
    const port = await freePort();
    const events = open(`127.0.0.1:${port}`, 'faults.none');
    try {
      await rejectsAsUnavailable(
        events.consume({ groupId: 'g', fromBeginning: true, onBatch: async () => undefined }),
      );
      await rejectsAsUnavailable(events.append(batch(0, 1)));
      assert.equal(await events.ping(), false);
      assert.deepEqual(unhandled, []);
    } finally {
      await events.close();
    }
  });
});
