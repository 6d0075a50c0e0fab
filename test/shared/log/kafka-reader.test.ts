// The Kafka range reader when kafkajs has stopped its consumer by itself: a crashed consumer is stopped (and its
// group gone) before kafkajs tells, and pausing, seeking or resuming a stopped consumer throws.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Consumer, Kafka, logLevel } from 'kafkajs';
import { createKafkaEventLog, createRangeReader } from '../../../shared/log/kafka.ts';
import type { EventLog } from '../../../shared/log/types.ts';
import { createLogger } from '../../../shared/runtime/logger.ts';
import { type KafkaBroker, startKafka } from '../../support/kafka.ts';
import { expectedStored, position, transactionRecord } from './support.ts';

const log = createLogger({ name: 'kafka-reader', level: 'silent' });
const TOPIC = 'kafka-reader';

describe('Kafka range reader', () => {
  let broker: KafkaBroker;
  let events: EventLog;
  let kafka: Kafka;

  before(async () => {
    broker = await startKafka();
    events = createKafkaEventLog({
      brokers: [broker.brokers],
      topic: TOPIC,
      clientId: 'kafka-reader',
      timeoutMs: 2_000,
      log,
    });
    kafka = new Kafka({ clientId: 'kafka-reader', brokers: [broker.brokers], logLevel: logLevel.NOTHING });
  });
  after(async () => {
    await events.close();
    await broker.stop();
  });

  it('joins again when the consumer it kept has been stopped, and reads the whole range', async () => {
    const records = Array.from({ length: 20 }, (_, i) =>
      transactionRecord({ customerId: `c${i % 5}`, n: i, time: Date.UTC(2026, 0, 1, 0, i) }),
    );
    await events.append(records);
    const expected = expectedStored([records]).map(position).sort();

    const admin = kafka.admin();
    await admin.connect();
    const bounds = async () =>
      (await admin.fetchTopicOffsets(TOPIC)).map((p) => ({
        partition: p.partition,
        low: p.low,
        high: p.high,
      }));
    const plan = new Map(
      (await bounds()).map((b) => [b.partition, { start: BigInt(b.low), end: BigInt(b.high) }]),
    );

    // The reader's consumers, kept to stop one as kafkajs does after a crash.
    const consumers: Consumer[] = [];
    const watched = Object.create(kafka) as Kafka;
    watched.consumer = (config) => {
      const consumer = kafka.consumer(config);
      consumers.push(consumer);
      return consumer;
    };
    const retry = { retries: 2, initialRetryTime: 100, maxRetryTime: 2_000 };
    const reader = createRangeReader({
      kafka: watched,
      topic: TOPIC,
      clientId: 'kafka-reader',
      retry,
      stallMs: 30_000,
      deadlineMs: 8_000,
      log,
      bounds,
    });
    try {
      assert.deepEqual((await reader.read(plan)).map(position).sort(), expected);
      assert.equal(consumers.length, 1);
      await consumers[0]?.stop();
      assert.deepEqual((await reader.read(plan)).map(position).sort(), expected);
      assert.equal(consumers.length, 2, 'the second read joined with a new consumer');
    } finally {
      await reader.close();
      await admin.disconnect();
    }
  });
});
