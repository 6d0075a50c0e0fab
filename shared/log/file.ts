// The embedded event log: append-only segment files on local disk, partitioned by key like Kafka (README "Storage").
import { access, constants, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { DependencyError, FlywheelError } from '../errors/index.ts';
import type { Logger } from '../runtime/logger.ts';
import { Consumptions } from './consumptions.ts';
import { startFileConsumer } from './file-consumer.ts';
import { byPosition, byTime, checkRanges, checkRecords, partitionOf } from './records.ts';
import { PartitionReader, partitionEnd } from './segments.ts';
import { acquireTopicWriter, partitionDir } from './topic-writer.ts';
import { DEFAULT_PARTITIONS, type EventLog, type LogRecord, type OffsetRange } from './types.ts';

export interface FileEventLogOptions {
  /** FLYWHEEL_DATA_DIR: the log lives under `<dataDir>/log/<topic>/`. */
  dataDir: string;
  /** KAFKA_TOPIC: the same name the Kafka adapter would use, so both keep one topic each. */
  topic: string;
  log: Logger;
  /** Partitions by hash of key (Kafka's murmur2), 4 like the topic on Kafka. */
  partitions?: number;
  /** A segment is rolled once it would pass this size (default 64 MiB). */
  segmentBytes?: number;
  /** Most records per onBatch call (default 500). */
  batchSize?: number;
  /** How often consumers look for records appended by another process (default 200 ms). */
  pollMs?: number;
  /**
   * FILE_LOG_FSYNC: fdatasync each append before it resolves (default true), so an appended record survives a
   * machine crash; false leaves it to the page cache: it survives the process being killed, not the machine.
   */
  fsync?: boolean;
}

/** The directory holding a topic's file log. */
export function fileLogDir(dataDir: string, topic: string): string {
  return join(dataDir, 'log', encodeURIComponent(topic));
}

/**
 * Creates the file log. Layout: `partition-<n>/<base offset>.jsonl` segments (one JSON record per line; the
 * offset is the line number in the partition) and `groups/<group>.json` committed offsets. Every append is
 * written and fsynced (data) before it resolves, unless `fsync` is off. It is the single-process embedded default: any number of
 * event logs in one process may append (one queue per directory), other processes may read and consume, and a
 * second appending process is refused. A group is consumed by one consumer at a time (checked within a process,
 * not across processes). There is no retention: segments stay until removed by hand.
 */
export function createFileEventLog(opts: FileEventLogOptions): EventLog {
  const dir = fileLogDir(opts.dataDir, opts.topic);
  const partitions = opts.partitions ?? DEFAULT_PARTITIONS;
  const writer = acquireTopicWriter({ dir, segmentBytes: opts.segmentBytes ?? 64 * 1024 * 1024 });
  const consumers = new Consumptions();
  const all = Array.from({ length: partitions }, (_, p) => p);

  /** Runs file work, turning I/O failures into DependencyError (a full or unwritable disk may recover). */
  const io = async <T>(what: string, work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (err) {
      if (err instanceof FlywheelError) throw err;
      throw new DependencyError('file-log', `${what} failed: ${(err as Error).message}`, { cause: err });
    }
  };
  const readPartition = (partition: number, from: number, to?: number) =>
    new PartitionReader(partitionDir(dir, partition), partition).read(
      to === undefined ? { from } : { from, to },
    );

  return {
    kind: 'file',
    async append(records: readonly LogRecord[]) {
      checkRecords(records);
      if (records.length === 0) return;
      const byPartition = new Map<number, LogRecord[]>();
      for (const record of records) {
        const p = partitionOf(record.key, partitions);
        const list = byPartition.get(p) ?? [];
        list.push(record);
        byPartition.set(p, list);
      }
      await io('append', () => writer.append(byPartition, opts.fsync ?? true));
    },
    async readRange({ from, to }) {
      if (from >= to) return [];
      return io('readRange', async () => {
        const ends = await Promise.all(all.map((p) => partitionEnd(partitionDir(dir, p))));
        const parts = await Promise.all(all.map((p) => readPartition(p, 0, ends[p])));
        return parts
          .flat()
          .filter((r) => r.time >= from && r.time < to)
          .sort(byTime);
      });
    },
    async readOffsets(ranges: readonly OffsetRange[]) {
      const checked = checkRanges(ranges);
      return io('readOffsets', async () => {
        const parts = await Promise.all(
          checked
            .filter((r) => r.partition < partitions)
            .map(async (r) => {
              const end = await partitionEnd(partitionDir(dir, r.partition));
              const to = r.to === undefined ? end : Math.min(Number(r.to), end);
              return readPartition(r.partition, Number(r.from), to);
            }),
        );
        return parts.flat().sort(byPosition);
      });
    },
    async endOffsets() {
      return io('endOffsets', async () =>
        Promise.all(
          all.map(async (p) => ({ partition: p, offset: String(await partitionEnd(partitionDir(dir, p))) })),
        ),
      );
    },
    async consume({ groupId, fromBeginning, onBatch }) {
      const consumer = await io('consume', () =>
        startFileConsumer({
          dir,
          partitions,
          groupId,
          fromBeginning,
          onBatch,
          log: opts.log,
          batchSize: opts.batchSize ?? 500,
          pollMs: opts.pollMs ?? 200,
        }),
      );
      return consumers.track(consumer);
    },
    async ping() {
      try {
        await mkdir(dir, { recursive: true });
        await access(dir, constants.R_OK | constants.W_OK);
        return true;
      } catch {
        return false;
      }
    },
    async close() {
      await consumers.stopAll();
      await writer.release();
    },
  };
}
