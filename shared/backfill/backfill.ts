// Rebuilds a feature-set version's online state from the event log, through featurize's own update, resumably.
import {
  type AcceptedTransaction,
  AcceptedTransactionSchema,
  EventTypes,
  eventKey,
} from '../events/index.ts';
import { applyTransaction, FEATURIZE_CLAIM_TTL_MS, type FeatureSet } from '../features/index.ts';
import type { EventLog, PartitionOffset, StoredRecord, TimeWindow } from '../log/index.ts';
import type { Logger } from '../runtime/logger.ts';
import type { OnlineStore } from '../store/index.ts';
import {
  type BackfillCounts,
  type Checkpoint,
  readCheckpoint,
  writeCheckpoint,
  writeCompletion,
} from './records.ts';

/** Records read per partition per chunk: what a run holds in memory per partition at once. */
export const DEFAULT_CHUNK_SIZE = 500;
/** Customers of one chunk applied at once (each customer's events in log order); bounds the store's queue. */
const LANES = 32;

export interface BackfillOptions {
  eventLog: Pick<EventLog, 'endOffsets' | 'readOffsets'>;
  store: Pick<OnlineStore, 'applyCustomerEvent' | 'readRecord' | 'writeRecord'>;
  /** The version to fill: its keys are written, as featurize of that version writes them. */
  featureSet: FeatureSet;
  /** Event time, epoch ms, `from` inclusive, `to` exclusive. */
  range: TimeWindow;
  /** featurize's ALLOWED_LATENESS_MS: not a refusal here, but the history's trim horizon must be featurize's. */
  allowedLatenessMs: number;
  /** Records read per partition per chunk (default 500). */
  chunkSize?: number;
  /** Ignore a checkpoint of the same version and range (finished or not) and replay from the log's start. */
  restart?: boolean;
  /** Stops after the chunks in progress; their progress is checkpointed, and a rerun continues from there. */
  signal?: AbortSignal;
  /** Called after every chunk. */
  onProgress?: (progress: BackfillProgress) => void;
  log: Logger;
  now?: () => number;
}

/** Where a run stands: offsets scanned of the offsets this run has to scan, and the counts so far. */
export interface BackfillProgress {
  scanned: number;
  total: number;
  chunks: number;
  counts: BackfillCounts;
  /** True when this run continues an earlier one's checkpoint. */
  resumed: boolean;
}

export type BackfillOutcome =
  | { kind: 'completed'; checkpoint: Checkpoint; resumed: boolean }
  /** The same version and range completed earlier; nothing was read (use `restart` to replay anyway). */
  | { kind: 'already-complete'; checkpoint: Checkpoint }
  /** The signal stopped it; the checkpoint holds what was applied. */
  | { kind: 'stopped'; checkpoint: Checkpoint };

const ZERO: BackfillCounts = { read: 0, applied: 0, duplicates: 0, invalid: 0 };

/**
 * Replays every accepted transaction of the range from the event log into the store, through `applyTransaction`
 * (featurize's update) with late events applied rather than refused: live traffic may already have written newer
 * events of a customer. Each partition is read in chunks from its start up to the end it had when the backfill
 * began (the log has no time index; records outside the range are skipped); partitions run side by side, and
 * within a chunk each customer's events are applied in log order. An event already applied — by live featurize
 * or an earlier run — is a duplicate and changes nothing. After every chunk the partition offsets are saved under
 * a key of the version and range, so a rerun continues there; a completed run marks its checkpoint done and
 * records the version's completion. Store and log failures reject (DependencyError): the checkpoint keeps what
 * was done.
 */
export async function runBackfill(opts: BackfillOptions): Promise<BackfillOutcome> {
  const now = opts.now ?? Date.now;
  const { featureSet, range } = opts;
  const chunkSize = BigInt(opts.chunkSize ?? DEFAULT_CHUNK_SIZE);
  const earlier = opts.restart ? null : await readCheckpoint(opts.store, featureSet.version, range);
  if (earlier?.done) return { kind: 'already-complete', checkpoint: earlier };
  const ends = earlier?.ends ?? (await opts.eventLog.endOffsets());
  const checkpoint: Checkpoint = earlier ?? {
    featureSet: { name: featureSet.name, version: featureSet.version },
    range: { from: range.from, to: range.to },
    ends,
    next: ends.map((e) => ({ partition: e.partition, offset: '0' })),
    counts: { ...ZERO },
    startedAt: now(),
    updatedAt: now(),
    done: false,
  };
  const resumed = earlier !== null;
  const nextOf = (partition: number) => BigInt(offsetOf(checkpoint.next, partition));
  const total = ends.reduce((sum, e) => sum + Number(BigInt(e.offset) - nextOf(e.partition)), 0);
  const progress: BackfillProgress = { scanned: 0, total, chunks: 0, counts: checkpoint.counts, resumed };
  const deps = {
    store: opts.store,
    featureSet,
    allowedLatenessMs: opts.allowedLatenessMs,
    claimTtlMs: FEATURIZE_CLAIM_TTL_MS,
  };

  // checkpoint writes go one at a time, each with every partition's progress at that moment
  let saving: Promise<void> = Promise.resolve();
  const save = () => {
    checkpoint.updatedAt = now();
    const snapshot: Checkpoint = structuredClone(checkpoint);
    saving = saving.then(() => writeCheckpoint(opts.store, snapshot));
    return saving;
  };

  let failed = false; // one partition failing stops the others after their chunk in progress
  const partition = async (end: PartitionOffset) => {
    const stop = BigInt(end.offset);
    for (let from = nextOf(end.partition); from < stop && !opts.signal?.aborted && !failed; ) {
      const to = from + chunkSize < stop ? from + chunkSize : stop;
      const records = await opts.eventLog.readOffsets([
        { partition: end.partition, from: String(from), to: String(to) },
      ]);
      await applyChunk(records, deps, range, checkpoint.counts, opts.log);
      setOffset(checkpoint.next, end.partition, String(to));
      progress.scanned += Number(to - from);
      progress.chunks++;
      await save();
      opts.onProgress?.(progress);
      from = to;
    }
  };
  const results = await Promise.allSettled(
    ends.map((end) =>
      partition(end).catch((err: unknown) => {
        failed = true;
        throw err;
      }),
    ),
  );
  await saving;
  const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (rejected) throw rejected.reason;
  if (opts.signal?.aborted && ends.some((e) => nextOf(e.partition) < BigInt(e.offset))) {
    return { kind: 'stopped', checkpoint };
  }
  const completedAt = now();
  // the completion first: a crash between the two leaves a checkpoint with nothing left, which completes again
  await writeCompletion(opts.store, {
    featureSet: checkpoint.featureSet,
    range: checkpoint.range,
    counts: checkpoint.counts,
    startedAt: checkpoint.startedAt,
    completedAt,
  });
  checkpoint.done = true;
  await save();
  return { kind: 'completed', checkpoint, resumed };
}

/** Applies the chunk's accepted transactions in the range: customers side by side, each one's events in order. */
async function applyChunk(
  records: readonly StoredRecord[],
  deps: Parameters<typeof applyTransaction>[0],
  range: TimeWindow,
  counts: BackfillCounts,
  log: Logger,
): Promise<void> {
  counts.read += records.length;
  const lanes = new Map<string, { key: string; tx: AcceptedTransaction }[]>();
  for (const r of records) {
    if (r.type !== EventTypes.transactionAccepted || r.time < range.from || r.time >= range.to) continue;
    const tx = parseTransaction(r);
    if (tx === undefined) {
      counts.invalid++;
      log.warn(
        { partition: r.partition, offset: r.offset, id: r.id },
        'backfill: unreadable transaction skipped',
      );
      continue;
    }
    const lane = lanes.get(tx.customerId) ?? [];
    lane.push({ key: eventKey(r), tx });
    lanes.set(tx.customerId, lane);
  }
  const queue = [...lanes.values()];
  const worker = async () => {
    for (let lane = queue.shift(); lane !== undefined; lane = queue.shift()) {
      for (const { key, tx } of lane) {
        const { result } = await applyTransaction(deps, { eventKey: key, tx, late: 'apply' });
        switch (result.kind) {
          case 'applied':
            counts.applied++;
            break;
          case 'duplicate':
            counts.duplicates++;
            break;
          case 'too-late':
            throw new Error(`the store refused event ${key} as too late although late events are applied`);
        }
      }
    }
  };
  const workers = await Promise.allSettled(Array.from({ length: Math.min(LANES, queue.length) }, worker));
  const failed = workers.find((w): w is PromiseRejectedResult => w.status === 'rejected');
  if (failed) throw failed.reason;
}

/** The transaction a log record carries (its structured CloudEvent's data), or undefined when it does not parse. */
function parseTransaction(record: StoredRecord): AcceptedTransaction | undefined {
  try {
    const parsed = AcceptedTransactionSchema.safeParse((JSON.parse(record.value) as { data?: unknown }).data);
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

function offsetOf(offsets: readonly PartitionOffset[], partition: number): string {
  return offsets.find((o) => o.partition === partition)?.offset ?? '0';
}

function setOffset(offsets: PartitionOffset[], partition: number, offset: string): void {
  const entry = offsets.find((o) => o.partition === partition);
  if (entry) entry.offset = offset;
  else offsets.push({ partition, offset });
}
