// The one writer of a file-log topic directory per process: serialises appends, guards against a second process.
import { mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ConflictError } from '../errors/index.ts';
import { PartitionWriter } from './segments.ts';
import type { LogRecord } from './types.ts';

interface Shared {
  refs: number;
  /** The tail of the append queue: appends run one at a time, in call order. */
  chain: Promise<unknown>;
  /** Open partition writers; undefined until the first append takes the process lock. */
  writers: Map<number, PartitionWriter> | undefined;
}

const shared = new Map<string, Shared>();
const listeners = new Map<string, Set<() => void>>();

/** A handle on the process-wide writer of one topic directory; several event logs in a process share it. */
export interface TopicWriter {
  /** Appends each partition's records in order, fsyncing before it resolves unless `sync` is false. */
  append(byPartition: ReadonlyMap<number, readonly LogRecord[]>, sync: boolean): Promise<void>;
  /** Drops this handle; the last one closes the files and releases the process lock. */
  release(): Promise<void>;
}

/**
 * Returns a writer for `dir`. Appends from every handle in this process go through one queue, so writers in
 * one process are safe; a second process appending to the same directory gets a ConflictError instead of
 * interleaving lines (the lock file holds the writer's pid; a dead pid's lock is taken over).
 */
export function acquireTopicWriter(opts: { dir: string; segmentBytes: number }): TopicWriter {
  const dir = resolve(opts.dir);
  const state = shared.get(dir) ?? { refs: 0, chain: Promise.resolve(), writers: undefined };
  shared.set(dir, state);
  state.refs++;
  let released = false;
  return {
    append(byPartition, sync) {
      const run = state.chain.then(async () => {
        state.writers ??= await lockAndOpen(dir);
        const writers = state.writers;
        try {
          // Partitions are separate files: write and fsync them side by side (all settle before any cleanup).
          const outcomes = await Promise.allSettled(
            [...byPartition].map(async ([partition, records]) => {
              let writer = writers.get(partition);
              if (!writer) {
                writer = await PartitionWriter.open({
                  dir: partitionDir(dir, partition),
                  segmentBytes: opts.segmentBytes,
                });
                writers.set(partition, writer);
              }
              await writer.append(records, sync);
            }),
          );
          const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
          if (failed) throw failed.reason;
        } catch (err) {
          // A failed write may leave a torn line: reopen (which cuts it off) before the next append.
          await closeAll(writers);
          writers.clear();
          throw err;
        }
        for (const listener of listeners.get(dir) ?? []) listener();
      });
      state.chain = run.catch(() => undefined);
      return run;
    },
    async release() {
      if (released) return;
      released = true;
      state.refs--;
      // Through the queue, so appends already accepted finish first; a handle taken meanwhile keeps it open.
      const run = state.chain.then(async () => {
        if (state.refs > 0) return;
        if (shared.get(dir) === state) shared.delete(dir);
        if (!state.writers) return;
        await closeAll(state.writers);
        state.writers = undefined;
        await unlink(join(dir, LOCK_FILE)).catch(() => undefined);
      });
      state.chain = run.catch(() => undefined);
      await run;
    },
  };
}

/** Calls `listener` after every append to `dir` made in this process; returns the unsubscribe function. */
export function onAppend(dir: string, listener: () => void): () => void {
  const key = resolve(dir);
  const set = listeners.get(key) ?? new Set();
  listeners.set(key, set);
  set.add(listener);
  return () => {
    set.delete(listener);
    if (set.size === 0) listeners.delete(key);
  };
}

/** Where partition `partition` of the topic at `dir` keeps its segments. */
export function partitionDir(dir: string, partition: number): string {
  return join(dir, `partition-${partition}`);
}

const LOCK_FILE = 'writer.lock';

async function lockAndOpen(dir: string): Promise<Map<number, PartitionWriter>> {
  const path = join(dir, LOCK_FILE);
  await mkdir(dir, { recursive: true });
  try {
    await writeFile(path, String(process.pid), { flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const holder = Number((await readFile(path, 'utf8')).trim());
    if (holder !== process.pid && isAlive(holder)) {
      throw new ConflictError(
        `event log ${dir} is written by process ${holder}; the file log has one writer process`,
      );
    }
    await writeFile(path, String(process.pid));
  }
  return new Map();
}

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function closeAll(writers: Map<number, PartitionWriter>): Promise<void> {
  await Promise.allSettled([...writers.values()].map((w) => w.close()));
}
