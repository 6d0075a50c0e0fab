// The event log on Kafka (kafkajs): the only file that imports kafkajs. One topic keyed by customerId.
import { randomUUID } from 'node:crypto';
import {
  type Admin,
  type Consumer,
  type EachBatchPayload,
  Kafka,
  type LogEntry,
  logLevel,
  Partitioners,
  type Producer,
  type RetryOptions,
} from 'kafkajs';
import type { Logger } from '../runtime/logger.ts';
import { DependencyError } from '../errors/index.ts';
import { Consumptions } from './consumptions.ts';
import {
  fromMessage,
  kafkaError,
  lazyClient,
  planOffsets,
  type ReadPlan,
  sleep,
  toMessage,
  withDeadline,
} from './kafka-support.ts';
import { byPosition, byTime, checkRanges, checkRecords } from './records.ts';
import {
  type ConsumeOptions,
  type Consumption,
  DEFAULT_PARTITIONS,
  type EventLog,
  type PartitionOffset,
  type StoredRecord,
} from './types.ts';

export interface KafkaEventLogOptions {
  /** KAFKA_BROKERS, split: `host:port` seeds. */
  brokers: readonly string[];
  topic: string;
  clientId: string;
  /** DEPENDENCY_TIMEOUT_MS: connection and request timeout; every call ends within a small multiple of it. */
  timeoutMs: number;
  log: Logger;
  /**
   * How long a consumer group waits for a silent member (default 30 s, kafkajs's). kafkajs heartbeats between
   * batches only, so one onBatch call must finish within it; a member that crashed without leaving holds up
   * its group's next rebalance for about as long.
   */
  sessionTimeoutMs?: number;
  /** KAFKA_PARTITIONS: partitions of the topic when the adapter creates it (default 4, as the file log). */
  partitions?: number | undefined;
  /** KAFKA_REPLICATION_FACTOR: replicas of the topic when the adapter creates it (default min(3, brokers)). */
  replicationFactor?: number | undefined;
  /**
   * KAFKA_RETENTION_MS: `retention.ms` of the topic when the adapter creates it (default -1, kept forever). The log
   * is the source of truth that training and backfills read, and Kafka counts time-based retention from the
   * record timestamp, which is the event time: with the broker's default (7 days) a replayed history older than
   * that is deleted at the next retention check.
   */
  retentionMs?: number | undefined;
  /** KAFKA_CREATE_TOPIC: create the topic when it is missing (default true); false refuses clearly instead. */
  createTopic?: boolean | undefined;
}

/**
 * Creates the Kafka event log. Fail-fast by design: short timeouts, two retries, one request in flight (which
 * keeps per-partition order across a retry), and a deadline on every call, so an unreachable broker gives a
 * DependencyError within about 4 × timeoutMs instead of an offline queue. Clients are (re)created lazily on
 * the next call after a failure, so the log recovers by itself.
 *
 * The topic is made ready before the first call that needs it ({@link ensureTopic}): created with the
 * configured partitions and replication when it is missing, so the first append never races the broker's own
 * auto-creation. The topic must keep producer timestamps (CreateTime, Kafka's default, and set on creation),
 * since the record timestamp is the event time readRange selects on. The producer is idempotent where the
 * cluster names a controller (every real broker; librdkafka's mock names none, and kafkajs initialises
 * idempotence through the controller): a retried batch is then not written twice within one producer session.
 * After a failure the producer is recreated, so a retry across sessions can still duplicate, and readers dedupe
 * by CloudEvent id + source.
 */
export function createKafkaEventLog(opts: KafkaEventLogOptions): EventLog {
  const { topic, timeoutMs } = opts;
  const log = opts.log.child({ dependency: 'kafka', topic });
  const retry = { retries: 2, initialRetryTime: 100, maxRetryTime: timeoutMs };
  const deadlineMs = 4 * timeoutMs;
  /** A read makes progress at least this often or fails (the group join alone takes ~3 s on a broker). */
  const stallMs = Math.max(15_000, 10 * timeoutMs);
  const kafka = new Kafka({
    clientId: opts.clientId,
    brokers: [...opts.brokers],
    connectionTimeout: timeoutMs,
    requestTimeout: timeoutMs,
    retry,
    logLevel: log.isLevelEnabled('debug') ? logLevel.INFO : logLevel.WARN,
    logCreator: () => (entry: LogEntry) => {
      const { message, ...fields } = entry.log;
      const line = { kafkajs: entry.namespace, ...fields };
      // kafkajs warns at every idempotent producer whose retries are bounded; ours are, by design (fail fast).
      const expected = message.startsWith('Limiting retries for the idempotent producer');
      if (entry.level <= logLevel.WARN && !expected) log.warn(line, `kafkajs: ${message}`);
      else log.debug(line, `kafkajs: ${message}`);
    },
  });

  const admin = lazyClient<Admin>(() => kafka.admin({ retry }));
  /** Resolves once the topic exists; a failure is forgotten, so the next call tries again. */
  let ready: Promise<TopicState> | undefined;
  const topicReady = (): Promise<TopicState> => {
    const giveUpAt = Date.now() + deadlineMs;
    ready ??= withDeadline({
      what: 'topic',
      ms: deadlineMs,
      // A topic just created may not be served yet (UNKNOWN_TOPIC_OR_PARTITION, LEADER_NOT_AVAILABLE: kafkajs'
      // bounded retries can run out while a busy controller elects the leaders): that is tried again until the
      // deadline; any other failure ends the call at once.
      work: admin.get().then(async (a) => {
        for (let attempt = 0; ; attempt++) {
          try {
            return await ensureTopic(a, {
              topic,
              log,
              timeoutMs,
              partitions: opts.partitions ?? DEFAULT_PARTITIONS,
              replicationFactor: opts.replicationFactor,
              retentionMs: opts.retentionMs ?? -1,
              create: opts.createTopic ?? true,
            });
          } catch (err) {
            const wait = Math.min(100 * 2 ** attempt, 1_000);
            if (!topicNotServedYet(err) || Date.now() + wait >= giveUpAt) throw err;
            log.debug({ err, attempt }, 'event log: topic not served yet; trying again');
            await sleep(wait);
          }
        }
      }),
    }).catch((err) => {
      ready = undefined;
      throw err;
    });
    return ready;
  };
  /** Whether the next producer is idempotent: known once the topic is ready (see TopicState.controller). */
  let idempotent = false;
  const producer = lazyClient<Producer>(() =>
    kafka.producer({
      createPartitioner: Partitioners.DefaultPartitioner,
      maxInFlightRequests: 1,
      idempotent,
      retry,
    }),
  );
  const consumers = new Consumptions();

  const offsets = async () => {
    const work = topicReady().then(() => admin.get().then((a) => a.fetchTopicOffsets(topic)));
    return withDeadline({ what: 'offsets', ms: deadlineMs, work }).catch((err) => {
      void admin.drop();
      throw err;
    });
  };

  const reader = createRangeReader({
    kafka,
    topic,
    clientId: opts.clientId,
    retry,
    stallMs,
    deadlineMs,
    log,
    bounds: offsets,
  });

  return {
    kind: 'kafka',
    async append(records) {
      checkRecords(records);
      if (records.length === 0) return;
      const work = topicReady()
        .then((state) => {
          idempotent = state.controller;
          return producer.get();
        })
        .then((p) => p.send({ topic, acks: -1, timeout: timeoutMs, messages: records.map(toMessage) }));
      await withDeadline({ what: 'append', ms: deadlineMs, work }).catch((err) => {
        void producer.drop();
        throw err;
      });
    },
    async readRange({ from, to }) {
      if (from >= to) return [];
      const plan = new Map(
        (await offsets()).map((o) => [o.partition, { start: BigInt(o.low), end: BigInt(o.high) }]),
      );
      return (await reader.read(plan)).filter((r) => r.time >= from && r.time < to).sort(byTime);
    },
    async readOffsets(ranges) {
      const checked = checkRanges(ranges);
      const plan = planOffsets(checked, await offsets());
      return (await reader.read(plan)).sort(byPosition);
    },
    async endOffsets(): Promise<PartitionOffset[]> {
      return (await offsets())
        .map((o) => ({ partition: o.partition, offset: o.high }))
        .sort((a, b) => a.partition - b.partition);
    },
    async consume(options) {
      const sessionTimeout = opts.sessionTimeoutMs ?? 30_000;
      await topicReady().catch((err) => {
        void admin.drop();
        throw err;
      });
      const consumption = await startGroupConsumer({
        kafka,
        topic,
        log,
        retry,
        stallMs,
        sessionTimeout,
        options,
      });
      return consumers.track(consumption);
    },
    async ping() {
      const work = admin.get().then((a) => a.describeCluster());
      return withDeadline({ what: 'ping', ms: deadlineMs, work }).then(
        () => true,
        () => {
          void admin.drop();
          return false;
        },
      );
    },
    async close() {
      await consumers.stopAll();
      // The reader first: a read in flight uses the admin client (low offsets), which must not be reopened after.
      await reader.close();
      await Promise.all([producer.drop(), admin.drop()]);
    },
  };
}

/** How long the range reader keeps its group after a read before it leaves (the next read joins again). */
const READER_IDLE_MS = 10_000;
/** How often a read waiting for records asks whether retention has deleted the rest of its range meanwhile. */
const READER_RECHECK_MS = 1_000;

/**
 * Reads `start <= offset < end` of each partition for readRange and readOffsets through one long-lived consumer.
 * It joins a private group once and never commits; every partition stays paused between reads, and a read seeks
 * its partitions to their start, resumes them and pauses each again once its end is reached. A group join waits
 * the broker's `group.initial.rebalance.delay.ms` (3 s by default), which a consumer per read would pay on every
 * read — a backfill reads hundreds of chunks. Reads take turns. The consumer leaves after {@link READER_IDLE_MS}
 * without reads, on close(), and after any failure; the next read joins again.
 */
export function createRangeReader(a: {
  kafka: Kafka;
  topic: string;
  clientId: string;
  retry: RetryOptions;
  stallMs: number;
  deadlineMs: number;
  log: Logger;
  /** The partitions' low and high offsets now (ListOffsets). */
  bounds: () => Promise<readonly { partition: number; low: string; high: string }[]>;
}): { read(plan: ReadPlan): Promise<StoredRecord[]>; close(): Promise<void> } {
  const { kafka, topic } = a;
  /** One membership of the reader's group: the consumer, the read its batches go to, whether it has ended. */
  interface Session {
    consumer: Consumer;
    reading: { onBatch(batch: EachBatchPayload['batch']): void; fail(err: unknown): void } | undefined;
    closed: boolean;
  }
  let session: Promise<Session> | undefined;
  let turn: Promise<unknown> = Promise.resolve();
  let idle: NodeJS.Timeout | undefined;

  const leave = async (s: Session) => {
    s.closed = true;
    await withDeadline({
      what: 'read: leaving the group',
      ms: a.deadlineMs,
      work: s.consumer.disconnect(),
    }).catch((err) => a.log.debug({ err }, 'event log: reader did not leave its group cleanly'));
  };
  const leaveCurrent = async () => {
    const s = await session?.catch(() => undefined);
    session = undefined;
    if (s) await leave(s);
  };

  /**
   * Pauses, resumes or seeks on a session's consumer. kafkajs stops a consumer that crashed before it tells
   * (CRASH comes after its disconnect), and a stopped consumer throws on each of these: the session has then
   * ended, the read it serves fails, and the next read joins again. False when it had ended.
   */
  const steer = (s: Session, action: (consumer: Consumer) => void): boolean => {
    if (s.closed) return false;
    try {
      action(s.consumer);
      return true;
    } catch (err) {
      a.log.debug({ err }, "event log: the reader's consumer has stopped");
      void leave(s);
      s.reading?.fail(err);
      return false;
    }
  };

  const open = async (partitions: readonly number[]): Promise<Session> => {
    const consumer = kafka.consumer({
      groupId: `${a.clientId}.read.${randomUUID()}`,
      maxWaitTimeInMs: 100,
      retry: { ...a.retry, restartOnFailure: async () => false },
    });
    const s: Session = { consumer, reading: undefined, closed: false };
    consumer.on(consumer.events.CRASH, (event) => {
      s.reading?.fail(event.payload.error);
      void leave(s);
    });
    try {
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      const running = consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch, isStale }) => {
          if (isStale()) return; // fetched before the read's seek
          if (s.reading) s.reading.onBatch(batch);
          else consumer.pause([{ topic, partitions: [batch.partition] }]);
        },
      });
      // run() makes the group before its first await: paused now, no partition is fetched before a read asks
      consumer.pause([{ topic, partitions: [...partitions] }]);
      await running;
      return s;
    } catch (err) {
      await leave(s);
      throw err;
    }
  };

  /** The open session, joining the group when there is none (or the last one has ended). */
  const current = async (partitions: readonly number[]): Promise<Session> => {
    const existing = await session?.catch(() => undefined);
    if (existing && !existing.closed) return existing;
    const opening = open(partitions);
    session = opening;
    return opening;
  };

  const readNow = (pending: ReadPlan, partitions: readonly number[]) =>
    new Promise<StoredRecord[]>((resolve, reject) => {
      clearTimeout(idle);
      const found = new Map<string, StoredRecord>();
      let done = false;
      let stall: NodeJS.Timeout | undefined;
      let used: Session | undefined;
      // Retention may delete a range between planning and fetching: the consumer then resets to the new start,
      // past the range, and no batch of it ever comes. A partition whose low offset has reached the end is done.
      let checking = false;
      const recheck = setInterval(() => {
        if (checking || done) return;
        checking = true;
        a.bounds()
          .then((bounds) => {
            for (const b of bounds) {
              const range = pending.get(b.partition);
              if (!range || BigInt(b.low) < range.end) continue;
              pending.delete(b.partition);
              if (used) steer(used, (c) => c.pause([{ topic, partitions: [b.partition] }]));
            }
            if (pending.size === 0) finish();
          })
          .catch(() => undefined) // the stall timer decides
          .finally(() => {
            checking = false;
          });
      }, READER_RECHECK_MS);
      const finish = (err?: unknown) => {
        if (done) return;
        done = true;
        clearTimeout(stall);
        clearInterval(recheck);
        if (used) {
          used.reading = undefined;
          steer(used, (c) => c.pause([{ topic, partitions: [...pending.keys()] }]));
        }
        if (err) {
          void leaveCurrent().then(() => reject(kafkaError('read', err)));
          return;
        }
        idle = setTimeout(() => void leaveCurrent(), READER_IDLE_MS);
        idle.unref();
        resolve([...found.values()]);
      };
      const progress = () => {
        clearTimeout(stall);
        stall = setTimeout(() => finish(new Error(`no progress for ${a.stallMs} ms`)), a.stallMs);
      };
      progress();
      /**
       * Seeks the read's partitions to their starts and resumes them; on a session that turns out to have ended
       * (its consumer stopped by kafkajs), once more on a new one.
       */
      const begin = (again: boolean): Promise<void> =>
        current(partitions)
          .then((s) => {
            if (done) return;
            const started = steer(s, (c) => {
              for (const [partition, range] of pending)
                c.seek({ topic, partition, offset: String(range.start) });
              c.resume([{ topic, partitions: [...pending.keys()] }]);
            });
            if (!started) {
              if (again) return begin(false);
              return finish(new Error("the reader's consumer stopped as the read began"));
            }
            used = s;
            s.reading = {
              fail: finish,
              onBatch(batch) {
                const range = pending.get(batch.partition);
                if (!range) {
                  steer(s, (c) => c.pause([{ topic, partitions: [batch.partition] }]));
                  return;
                }
                progress();
                for (const message of batch.messages) {
                  const offset = BigInt(message.offset);
                  if (offset < range.start || offset >= range.end) continue;
                  const record = fromMessage({ ...message, partition: batch.partition });
                  if (record) found.set(`${record.partition}:${record.offset}`, record);
                }
                if (BigInt(batch.lastOffset()) + 1n >= range.end) {
                  pending.delete(batch.partition);
                  steer(s, (c) => c.pause([{ topic, partitions: [batch.partition] }]));
                  if (pending.size === 0) finish();
                }
              },
            };
          })
          .catch(finish);
      void begin(true);
    });

  return {
    read(plan) {
      const pending: ReadPlan = new Map([...plan].filter(([, r]) => r.start < r.end));
      if (pending.size === 0) return Promise.resolve([]);
      const mine = turn.then(() => readNow(pending, [...plan.keys()]));
      turn = mine.catch(() => undefined);
      return mine;
    },
    async close() {
      clearTimeout(idle);
      await turn;
      await leaveCurrent();
    },
  };
}

/** Broker answers that a topic being created is not served yet (kafkajs' KafkaJSProtocolError types). */
const TOPIC_NOT_SERVED_YET = new Set([
  'UNKNOWN_TOPIC_OR_PARTITION',
  'LEADER_NOT_AVAILABLE',
  'NOT_CONTROLLER',
]);

/** True for a kafkajs error, or the error it wraps after its own retries, that says the topic is not served yet. */
function topicNotServedYet(err: unknown): boolean {
  const e = err as { type?: unknown; originalError?: { type?: unknown } } | null;
  const type = e?.type ?? e?.originalError?.type;
  return typeof type === 'string' && TOPIC_NOT_SERVED_YET.has(type);
}

/** What {@link ensureTopic} learnt: whether the cluster names a controller (needed for idempotence). */
interface TopicState {
  controller: boolean;
}

/**
 * Makes sure the topic exists. Missing: created with `partitions`, `replicationFactor` (default min(3,
 * brokers)), `retentionMs` and CreateTime timestamps, waiting until every partition has a leader; or, with `create` false, a
 * DependencyError that says how to create it (retriable: an operator may create it meanwhile). Present with
 * another partition count: used as it is, with a warning, since the count decides which partition (and so which
 * featurize replica) a customer's records go to. A cluster that names no controller (librdkafka's mock) cannot
 * take CreateTopics from kafkajs; its topics are left to the broker's auto-creation.
 */
async function ensureTopic(
  admin: Admin,
  a: {
    topic: string;
    log: Logger;
    timeoutMs: number;
    partitions: number;
    replicationFactor: number | undefined;
    retentionMs: number;
    create: boolean;
  },
): Promise<TopicState> {
  const { topic, log } = a;
  const cluster = await admin.describeCluster();
  // librdkafka's mock answers controller 0 but has no broker 0: a controller counts only when it is a broker.
  const controller = cluster.brokers.some((b) => b.nodeId === cluster.controller);
  if ((await admin.listTopics()).includes(topic)) {
    const [found] = (await admin.fetchTopicMetadata({ topics: [topic] })).topics;
    const partitions = found?.partitions.length ?? 0;
    if (partitions !== a.partitions) {
      log.warn(
        { partitions, configured: a.partitions },
        `event log: topic ${topic} has ${partitions} partitions, not the configured ${a.partitions}; using it as it is`,
      );
    }
    return { controller };
  }
  if (!a.create) {
    throw new DependencyError(
      'kafka',
      `topic ${topic} does not exist and KAFKA_CREATE_TOPIC is false: create it with ${a.partitions} partitions ` +
        `(kafka-topics.sh --create --topic ${topic} --partitions ${a.partitions})`,
    );
  }
  if (!controller) {
    log.info({ topic }, 'event log: the cluster names no controller; the topic is left to auto-creation');
    return { controller };
  }
  const replicationFactor = a.replicationFactor ?? Math.min(3, cluster.brokers.length);
  const created = await admin.createTopics({
    topics: [
      {
        topic,
        numPartitions: a.partitions,
        replicationFactor,
        configEntries: [
          { name: 'message.timestamp.type', value: 'CreateTime' },
          { name: 'retention.ms', value: String(a.retentionMs) },
        ],
      },
    ],
    waitForLeaders: true,
    timeout: a.timeoutMs,
  });
  log.info(
    { topic, partitions: a.partitions, replicationFactor, created },
    created ? `event log: created topic ${topic}` : `event log: topic ${topic} was created meanwhile`,
  );
  return { controller };
}

/**
 * A group consumer that keeps going: kafkajs restarts it after retriable crashes, and this supervisor after the
 * others (a refused connection is one), with backoff, until stop(). Resolves once the group is joined.
 */
async function startGroupConsumer(a: {
  kafka: Kafka;
  topic: string;
  log: Logger;
  retry: RetryOptions;
  stallMs: number;
  sessionTimeout: number;
  options: ConsumeOptions;
}): Promise<Consumption> {
  const { kafka, topic, options } = a;
  const log = a.log.child({ groupId: options.groupId });
  let stopped = false;
  let current: Consumer | undefined;
  let restartTimer: NodeJS.Timeout | undefined;
  let restarts = 0;
  const failures = new Map<number, number>();

  const eachBatch = async (p: EachBatchPayload) => {
    const { batch } = p;
    if (!p.isRunning() || p.isStale() || batch.messages.length === 0) return;
    const records: StoredRecord[] = [];
    for (const message of batch.messages) {
      const record = fromMessage({ ...message, partition: batch.partition });
      if (record) records.push(record);
    }
    if (records.length > 0) {
      try {
        await options.onBatch(records);
        failures.delete(batch.partition);
      } catch (err) {
        const attempt = failures.get(batch.partition) ?? 0;
        failures.set(batch.partition, attempt + 1);
        log.warn(
          { err, partition: batch.partition, attempt },
          'event log: batch failed; delivering it again',
        );
        await sleep(Math.min(100 * 2 ** attempt, 5_000));
        await p.heartbeat();
        return; // Not resolved: kafkajs fetches from the last resolved offset, so the same records come again.
      }
    }
    const last = batch.lastOffset();
    p.resolveOffset(last);
    const next = String(BigInt(last) + 1n);
    await p.commitOffsetsIfNecessary({
      topics: [{ topic, partitions: [{ partition: batch.partition, offset: next }] }],
    });
  };

  const start = async (): Promise<void> => {
    const consumer = kafka.consumer({
      groupId: options.groupId,
      maxWaitTimeInMs: 500,
      sessionTimeout: a.sessionTimeout,
      heartbeatInterval: Math.max(100, Math.floor(a.sessionTimeout / 10)),
      retry: { ...a.retry, restartOnFailure: async () => true },
    });
    current = consumer;
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      log.warn({ err: payload.error, restart: payload.restart }, 'event log: consumer crashed');
      if (!payload.restart) restartLater(consumer);
    });
    consumer.on(consumer.events.GROUP_JOIN, () => {
      restarts = 0;
    });
    // The first fetch fixes the start positions ("latest" is resolved then), so records appended after
    // consume() resolves are never skipped by a group that starts at the end.
    const firstFetch = new Promise<void>((resolve) => {
      const off = consumer.on(consumer.events.FETCH, () => {
        off();
        resolve();
      });
    });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: options.fromBeginning });
    await consumer.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch });
    await firstFetch;
    if (stopped) await consumer.disconnect();
  };

  const restartLater = (old: Consumer) => {
    if (stopped || old !== current) return;
    current = undefined;
    const delay = Math.min(250 * 2 ** restarts++, 5_000);
    restartTimer = setTimeout(async () => {
      await old.disconnect().catch(() => undefined);
      if (stopped) return;
      await start().catch((err: unknown) => {
        log.warn({ err }, 'event log: consumer restart failed');
        if (current) restartLater(current);
      });
    }, delay);
  };

  const stop = async () => {
    stopped = true;
    clearTimeout(restartTimer);
    const consumer = current;
    current = undefined;
    if (consumer) {
      await withDeadline({ what: 'consume: stopping', ms: a.stallMs, work: consumer.disconnect() }).catch(
        (err) => log.warn({ err }, 'event log: consumer did not leave its group cleanly'),
      );
    }
  };

  try {
    await withDeadline({ what: 'consume', ms: a.stallMs + a.sessionTimeout, work: start() });
  } catch (err) {
    await stop();
    throw kafkaError('consume', err);
  }
  return { stop };
}
