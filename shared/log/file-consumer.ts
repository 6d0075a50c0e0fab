// The file log's group consumer: tails every partition, hands batches over, commits after each one resolves.
import { resolve } from 'node:path';
import { ConflictError } from '../errors/index.ts';
import type { Logger } from '../runtime/logger.ts';
import { loadCommitted, saveCommitted } from './groups.ts';
import { PartitionReader, partitionEnd } from './segments.ts';
import { onAppend, partitionDir } from './topic-writer.ts';
import type { ConsumeOptions, Consumption } from './types.ts';

/** Groups consuming in this process, by topic directory: the file log runs one consumer per group. */
const active = new Set<string>();

export interface FileConsumerOptions extends ConsumeOptions {
  dir: string;
  partitions: number;
  log: Logger;
  /** Most records handed to one onBatch call. */
  batchSize: number;
  /** How often to look for records appended by another process (appends in this process wake it at once). */
  pollMs: number;
}

/**
 * Starts a group consumer over the topic at `dir`. A group with committed progress resumes there; otherwise it
 * starts at offset 0 (`fromBeginning`) or at the current end. A failed onBatch is retried with backoff, and
 * I/O errors are logged and retried, so the loop never ends by itself; `stop()` ends it.
 */
export async function startFileConsumer(opts: FileConsumerOptions): Promise<Consumption> {
  const key = `${resolve(opts.dir)}\0${opts.groupId}`;
  if (active.has(key)) {
    throw new ConflictError(`group ${opts.groupId} already consumes ${opts.dir} in this process`);
  }
  const groupsDir = resolve(opts.dir, 'groups');
  const committed = await loadCommitted(groupsDir, opts.groupId);
  const positions = new Map<number, number>();
  for (let p = 0; p < opts.partitions; p++) {
    positions.set(
      p,
      committed.get(p) ?? (opts.fromBeginning ? 0 : await partitionEnd(partitionDir(opts.dir, p))),
    );
  }
  active.add(key);
  const readers = Array.from(
    { length: opts.partitions },
    (_, p) => new PartitionReader(partitionDir(opts.dir, p), p),
  );
  let stopping = false;
  let appended = false;
  const sleepers = new Set<{ untilAppend: boolean; finish: () => void }>();
  /** Waits `ms`; stopping ends every wait, an append in this process ends the `untilAppend` ones. */
  const sleep = (ms: number, untilAppend: boolean) =>
    new Promise<void>((done) => {
      if (stopping || (untilAppend && appended)) return done();
      const sleeper = {
        untilAppend,
        finish: () => {
          clearTimeout(timer);
          sleepers.delete(sleeper);
          done();
        },
      };
      const timer = setTimeout(sleeper.finish, ms);
      sleepers.add(sleeper);
    });
  const unsubscribe = onAppend(opts.dir, () => {
    appended = true;
    for (const sleeper of sleepers) if (sleeper.untilAppend) sleeper.finish();
  });
  const log = opts.log.child({ groupId: opts.groupId });

  /** Delivers one batch until it succeeds (then commits) or the consumer stops; true when committed. */
  const deliver = async (partition: number, records: Parameters<ConsumeOptions['onBatch']>[0]) => {
    for (let attempt = 0; !stopping; attempt++) {
      try {
        await opts.onBatch(records);
        const last = records.at(-1);
        const next = last ? Number(last.offset) + 1 : (positions.get(partition) ?? 0);
        committed.set(partition, next);
        await saveCommitted(groupsDir, opts.groupId, committed);
        positions.set(partition, next);
        return true;
      } catch (err) {
        log.warn({ err, partition, attempt }, 'event log: batch failed; delivering it again');
        await sleep(Math.min(100 * 2 ** attempt, 5_000), false);
      }
    }
    return false;
  };

  const loop = async () => {
    let failures = 0;
    while (!stopping) {
      let delivered = false;
      appended = false;
      try {
        for (const [partition, reader] of readers.entries()) {
          if (stopping) break;
          const records = await reader.read({ from: positions.get(partition) ?? 0, limit: opts.batchSize });
          if (records.length > 0 && (await deliver(partition, records))) delivered = true;
        }
        failures = 0;
      } catch (err) {
        failures++;
        log.warn({ err }, 'event log: reading the file log failed; retrying');
        await sleep(Math.min(100 * 2 ** failures, 5_000), false);
        continue;
      }
      if (!delivered) await sleep(opts.pollMs, true);
    }
  };
  const running = loop();

  return {
    async stop() {
      stopping = true;
      for (const sleeper of sleepers) sleeper.finish();
      await running;
      unsubscribe();
      active.delete(key);
    },
  };
}
