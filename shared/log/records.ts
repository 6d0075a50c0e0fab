// Helpers both event-log adapters share: record validation, Kafka-compatible key partitioning, result ordering.
import type { z } from 'zod';
import { parseInput } from '../runtime/field-path.ts';
import {
  type LogRecord,
  LogRecordSchema,
  type OffsetRange,
  OffsetRangeSchema,
  type StoredRecord,
} from './types.ts';

/** Checks every record before anything is written; throws InvalidInputError naming `records.i.field`. */
export function checkRecords(records: readonly LogRecord[]): void {
  check('records', records, LogRecordSchema);
}

/** Checks offset ranges; throws InvalidInputError naming `ranges.i.field`. */
export function checkRanges(ranges: readonly OffsetRange[]): OffsetRange[] {
  return check('ranges', ranges, OffsetRangeSchema);
}

/** Each item parsed by `schema`, fields named in the runtime's one dotted style (shared/runtime/field-path.ts). */
function check<T>(name: string, items: readonly T[], schema: z.ZodType<T>): T[] {
  return items.map((item, i) => parseInput(schema, item, { under: `${name}.${i}` }));
}

const SEED = 0x9747b28c;
const M = 0x5bd1e995;

/** Kafka's murmur2 (the Java client's Utils.murmur2, 32-bit) over the UTF-8 bytes of `key`. */
export function murmur2(key: string): number {
  const data = Buffer.from(key, 'utf8');
  const length = data.length;
  let h = SEED ^ length;
  const length4 = length >>> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4;
    let k = data.readInt32LE(i4);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M);
    h ^= k;
  }
  const tail = length & ~3;
  // The last 1-3 bytes, as the Java client's switch with fall-through mixes them.
  const rest = length & 3;
  if (rest === 3) h ^= (data[tail + 2] ?? 0) << 16;
  if (rest >= 2) h ^= (data[tail + 1] ?? 0) << 8;
  if (rest >= 1) {
    h ^= data[tail] ?? 0;
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/** The partition Kafka's default partitioner picks for a key, so the file log places records the same way. */
export function partitionOf(key: string, partitions: number): number {
  return (murmur2(key) & 0x7fffffff) % partitions;
}

/** Compares two decimal offset strings numerically (they can exceed 2^53 on Kafka). */
export function compareOffsets(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}

/** Orders by (time, partition, offset): the order readRange promises. */
export function byTime(a: StoredRecord, b: StoredRecord): number {
  return a.time - b.time || a.partition - b.partition || compareOffsets(a.offset, b.offset);
}

/** Orders by (partition, offset): the order readOffsets promises. */
export function byPosition(a: StoredRecord, b: StoredRecord): number {
  return a.partition - b.partition || compareOffsets(a.offset, b.offset);
}
