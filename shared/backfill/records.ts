// The backfill's durable records in the online store: per-range checkpoints and the version's completion.
import { z } from 'zod';
import { DependencyError } from '../errors/index.ts';
import { PartitionOffsetSchema, type TimeWindow } from '../log/index.ts';
import type { OnlineStore } from '../store/index.ts';

/** What a run counted; a resumed run adds to the counts its checkpoint carries. */
export const BackfillCountsSchema = z.object({
  /** Records read from the log (every type and time). */
  read: z.number().int().nonnegative(),
  /** Accepted transactions in the range that the store applied now. */
  applied: z.number().int().nonnegative(),
  /** Accepted transactions in the range already applied before (by live featurize or an earlier run). */
  duplicates: z.number().int().nonnegative(),
  /** Accepted transactions in the range whose data does not parse: skipped, counted, logged. */
  invalid: z.number().int().nonnegative(),
});
export type BackfillCounts = z.infer<typeof BackfillCountsSchema>;

export const RangeSchema = z.object({ from: z.number().int(), to: z.number().int() });

/** One backfill's progress: where each partition stands and where it stops (the log's end when it began). */
export const CheckpointSchema = z.object({
  featureSet: z.object({ name: z.string(), version: z.string() }),
  range: RangeSchema,
  /** The offset each partition is read up to (exclusive): the end the log had when the backfill began. */
  ends: z.array(PartitionOffsetSchema),
  /** The next offset to read in each partition: everything before it is applied. */
  next: z.array(PartitionOffsetSchema),
  counts: BackfillCountsSchema,
  startedAt: z.number().int(),
  updatedAt: z.number().int(),
  done: z.boolean(),
});
export type Checkpoint = z.infer<typeof CheckpointSchema>;

/** A completed backfill of a feature-set version: what score shows, so an operator knows when to switch. */
export const CompletionSchema = z.object({
  featureSet: z.object({ name: z.string(), version: z.string() }),
  range: RangeSchema,
  counts: BackfillCountsSchema,
  startedAt: z.number().int(),
  completedAt: z.number().int(),
});
export type Completion = z.infer<typeof CompletionSchema>;

/** The key of one backfill's checkpoint: by version and range, so a rerun of the same command finds it. */
export function checkpointKey(version: string, range: TimeWindow): string {
  return `backfill:${version}:checkpoint:${range.from}-${range.to}`;
}

/** The key of a version's last completed backfill. */
export function completionKey(version: string): string {
  return `backfill:${version}:complete`;
}

/** Reads a JSON record written by this module; a value that does not parse is a DependencyError naming the key. */
async function readJson<T>(
  store: Pick<OnlineStore, 'readRecord'>,
  key: string,
  schema: z.ZodType<T>,
): Promise<T | null> {
  const text = await store.readRecord(key);
  if (text === null) return null;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new DependencyError('store', `${key} does not hold JSON`, { cause: err });
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw new DependencyError('store', `${key} is not a backfill record: ${z.prettifyError(parsed.error)}`);
  }
  return parsed.data;
}

export function readCheckpoint(
  store: Pick<OnlineStore, 'readRecord'>,
  version: string,
  range: TimeWindow,
): Promise<Checkpoint | null> {
  return readJson(store, checkpointKey(version, range), CheckpointSchema);
}

export async function writeCheckpoint(
  store: Pick<OnlineStore, 'writeRecord'>,
  checkpoint: Checkpoint,
): Promise<void> {
  await store.writeRecord(
    checkpointKey(checkpoint.featureSet.version, checkpoint.range),
    JSON.stringify(checkpoint),
  );
}

/** The last completed backfill of `version`, or null when none has completed. */
export function readCompletion(
  store: Pick<OnlineStore, 'readRecord'>,
  version: string,
): Promise<Completion | null> {
  return readJson(store, completionKey(version), CompletionSchema);
}

export async function writeCompletion(
  store: Pick<OnlineStore, 'writeRecord'>,
  completion: Completion,
): Promise<void> {
  await store.writeRecord(completionKey(completion.featureSet.version), JSON.stringify(completion));
}
