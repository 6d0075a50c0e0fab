// The event log's entry point: picks Kafka when KAFKA_BROKERS is set, the embedded file log otherwise.
import type { Logger } from '../runtime/logger.ts';
import { createFileEventLog, fileLogDir } from './file.ts';
import { createKafkaEventLog } from './kafka.ts';
import type { EventLog } from './types.ts';

export { createFileEventLog, type FileEventLogOptions, fileLogDir } from './file.ts';
export { createKafkaEventLog, type KafkaEventLogOptions } from './kafka.ts';
export { partitionOf } from './records.ts';
export * from './types.ts';

export interface EventLogOptions {
  /** KAFKA_BROKERS: comma-separated `host:port` list; empty or left out selects the embedded file log. */
  brokers?: string | undefined;
  /** KAFKA_TOPIC (on disk: `<dataDir>/log/<topic>/`). */
  topic: string;
  /** KAFKA_CLIENT_ID. */
  clientId: string;
  /** KAFKA_PARTITIONS, KAFKA_REPLICATION_FACTOR, KAFKA_RETENTION_MS, KAFKA_CREATE_TOPIC: the topic the Kafka log creates when missing. */
  kafkaTopic?: {
    partitions: number;
    replicationFactor?: number | undefined;
    retentionMs: number;
    create: boolean;
  };
  /** FLYWHEEL_DATA_DIR. */
  dataDir: string;
  /** FILE_LOG_FSYNC: the file log fsyncs each append (default true). */
  fsync?: boolean;
  /** DEPENDENCY_TIMEOUT_MS. */
  timeoutMs: number;
  log: Logger;
}

/** Creates the event log from configuration and says at start-up which one is in use. */
export function createEventLog(opts: EventLogOptions): EventLog {
  const brokers = (opts.brokers ?? '')
    .split(',')
    .map((b) => b.trim())
    .filter((b) => b !== '');
  if (brokers.length > 0) {
    opts.log.info(
      { brokers, topic: opts.topic },
      `event log: Kafka at ${brokers.join(',')}, topic ${opts.topic}`,
    );
    return createKafkaEventLog({
      brokers,
      topic: opts.topic,
      clientId: opts.clientId,
      timeoutMs: opts.timeoutMs,
      log: opts.log,
      partitions: opts.kafkaTopic?.partitions,
      replicationFactor: opts.kafkaTopic?.replicationFactor,
      retentionMs: opts.kafkaTopic?.retentionMs,
      createTopic: opts.kafkaTopic?.create,
    });
  }
  const dir = fileLogDir(opts.dataDir, opts.topic);
  opts.log.info({ dir }, `event log: embedded file log at ${dir} (set KAFKA_BROKERS for Kafka)`);
  return createFileEventLog({
    dataDir: opts.dataDir,
    topic: opts.topic,
    log: opts.log,
    fsync: opts.fsync ?? true,
  });
}

/** The event log the configuration names (KAFKA_BROKERS, KAFKA_TOPIC, FLYWHEEL_DATA_DIR…). */
export function eventLogFromConfig(
  config: {
    KAFKA_BROKERS?: string | undefined;
    KAFKA_TOPIC: string;
    KAFKA_CLIENT_ID: string;
    KAFKA_PARTITIONS: number;
    KAFKA_REPLICATION_FACTOR?: number | undefined;
    KAFKA_RETENTION_MS: number;
    KAFKA_CREATE_TOPIC: boolean;
    FLYWHEEL_DATA_DIR: string;
    FILE_LOG_FSYNC?: boolean;
    DEPENDENCY_TIMEOUT_MS: number;
  },
  log: Logger,
  opts: { clientSuffix?: string; timeoutMs?: number } = {},
): EventLog {
  return createEventLog({
    brokers: config.KAFKA_BROKERS,
    topic: config.KAFKA_TOPIC,
    clientId: `${config.KAFKA_CLIENT_ID}${opts.clientSuffix ?? ''}`,
    kafkaTopic: {
      partitions: config.KAFKA_PARTITIONS,
      replicationFactor: config.KAFKA_REPLICATION_FACTOR,
      retentionMs: config.KAFKA_RETENTION_MS,
      create: config.KAFKA_CREATE_TOPIC,
    },
    dataDir: config.FLYWHEEL_DATA_DIR,
    fsync: config.FILE_LOG_FSYNC ?? true,
    timeoutMs: opts.timeoutMs ?? config.DEPENDENCY_TIMEOUT_MS,
    log,
  });
}
