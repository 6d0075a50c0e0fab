// The event log's one interface (README "Storage"): what ingest appends, the trainer reads by range and a replay consumes.
import { z } from 'zod';

/** Partitions of the topic: the Kafka mock and the file log both use 4, so a key lands on the same partition in both. */
export const DEFAULT_PARTITIONS = 4;

/** One event as the log keeps it; crosses the process boundary (Kafka, disk), so zod is its source of truth. */
export const LogRecordSchema = z.object({
  /** customerId: the partition key, so a customer's records stay in append order. */
  key: z.string().min(1),
  /** CloudEvent `id`. */
  id: z.string().min(1),
  /** CloudEvent `source`. */
  source: z.string().min(1),
  /** CloudEvent `type` (dev.flywheel.transaction.accepted, dev.flywheel.label.accepted). */
  type: z.string().min(1),
  /** Event time, epoch ms; on Kafka it is the record's timestamp (CreateTime) too. */
  time: z.number().int().nonnegative(),
  /** The structured-mode CloudEvent JSON. */
  value: z.string(),
});
export type LogRecord = z.infer<typeof LogRecordSchema>;

/** An offset as a decimal string: Kafka offsets are 64-bit, so they never travel as JS numbers. */
export const OffsetSchema = z.string().regex(/^\d+$/, 'a non-negative decimal integer');

/** A record read back from the log, with where it sits. */
export const StoredRecordSchema = LogRecordSchema.extend({
  partition: z.number().int().nonnegative(),
  offset: OffsetSchema,
});
export type StoredRecord = z.infer<typeof StoredRecordSchema>;

/** A position in one partition: the offset of the next record (a checkpoint). */
export const PartitionOffsetSchema = z.object({
  partition: z.number().int().nonnegative(),
  offset: OffsetSchema,
});
export type PartitionOffset = z.infer<typeof PartitionOffsetSchema>;

/** Offsets `from <= offset < to` of one partition; `to` left out means "to the current end". */
export const OffsetRangeSchema = z.object({
  partition: z.number().int().nonnegative(),
  from: OffsetSchema,
  to: OffsetSchema.optional(),
});
export type OffsetRange = z.infer<typeof OffsetRangeSchema>;

/** Event-time window, epoch ms: `from` inclusive, `to` exclusive. */
export interface TimeWindow {
  from: number;
  to: number;
}

/** What `consume` calls with each batch; the batch's progress is committed only after it resolves. */
export type BatchHandler = (records: StoredRecord[]) => Promise<void>;

export interface ConsumeOptions {
  /** Consumer group: progress is committed per group, so a restart resumes where the group left off. */
  groupId: string;
  /** Where a group with no committed progress starts: the oldest record (true) or the current end (false). */
  fromBeginning: boolean;
  /**
   * Gets records of one partition, in offset order. When it rejects, nothing of that batch is committed and
   * the same records are delivered again after a short backoff (at-least-once).
   */
  onBatch: BatchHandler;
}

/** A running group consumer. */
export interface Consumption {
  /** Stops after the batch in progress (whose progress is then committed) and leaves the group. */
  stop(): Promise<void>;
}

/**
 * The event log: one topic keyed by customerId. Two implementations pass one contract suite: Kafka
 * (`kafka.ts`) and the embedded file log (`file.ts`). Every failure to reach the log is a DependencyError
 * (retriable, 503); invalid records are an InvalidInputError.
 */
export interface EventLog {
  readonly kind: 'kafka' | 'file';
  /**
   * Appends records, keeping their order per key. One call is one produce request on Kafka (acks=all) or one
   * write + fsync per partition on disk; resolves when durable. Not atomic across partitions: after a
   * DependencyError part of the batch may be stored, so a retry can duplicate records and readers dedupe by
   * CloudEvent id + source (the project's idempotency key).
   */
  append(records: readonly LogRecord[]): Promise<void>;
  /**
   * Every record with `from <= time < to`, sorted by (time, partition, offset): per key the append order is
   * kept among records of equal time. Reads to the end the log has when the call starts, then returns.
   */
  readRange(window: TimeWindow): Promise<StoredRecord[]>;
  /** Records by offset range per partition (a replay from a checkpoint), sorted by (partition, offset). */
  readOffsets(ranges: readonly OffsetRange[]): Promise<StoredRecord[]>;
  /** The current end of every partition: the offset the next record will get (a checkpoint for readOffsets). */
  endOffsets(): Promise<PartitionOffset[]>;
  /** Consumes as a group with committed progress; see ConsumeOptions. Resolves once the consumer is running. */
  consume(opts: ConsumeOptions): Promise<Consumption>;
  /** True when the log answers now (readiness); never throws. */
  ping(): Promise<boolean>;
  /** Stops every consumer started here and releases connections and files. */
  close(): Promise<void>;
}
