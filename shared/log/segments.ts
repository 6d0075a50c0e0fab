// One partition of the file log on disk: append-only JSON-line segments, torn-tail recovery, offset-addressed reads.
import { mkdir, open, readdir, truncate } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { type LogRecord, LogRecordSchema, type StoredRecord } from './types.ts';

// A segment is named by the offset of its first line (like Kafka's 00000000000000000000.log), so a reader
// finds an offset's segment from the directory listing alone; offsets are line numbers within the partition.
const SEGMENT = /^(\d{20})\.jsonl$/;
const CHUNK_BYTES = 1 << 20;
const NEWLINE = 0x0a;

/** The file name of the segment whose first record has offset `base`. */
export function segmentName(base: number): string {
  return `${String(base).padStart(20, '0')}.jsonl`;
}

/** Base offsets of a partition's segments, ascending; empty when the partition has never been written. */
export async function listSegments(dir: string): Promise<number[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const bases: number[] = [];
  for (const name of names) {
    const match = SEGMENT.exec(name);
    if (match?.[1] !== undefined) bases.push(Number(match[1]));
  }
  return bases.sort((a, b) => a - b);
}

/** Counts the complete (newline-terminated) lines of a file and the bytes they take. */
async function completeLines(path: string): Promise<{ lines: number; bytes: number; size: number }> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
    let lines = 0;
    let bytes = 0;
    let size = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, CHUNK_BYTES, size);
      if (bytesRead === 0) return { lines, bytes, size };
      for (
        let i = buffer.indexOf(NEWLINE, 0);
        i !== -1 && i < bytesRead;
        i = buffer.indexOf(NEWLINE, i + 1)
      ) {
        lines++;
        bytes = size + i + 1;
      }
      size += bytesRead;
    }
  } finally {
    await handle.close();
  }
}

/** The offset the next record of the partition will get, counting complete lines only. */
export async function partitionEnd(dir: string): Promise<number> {
  const last = (await listSegments(dir)).at(-1);
  if (last === undefined) return 0;
  return last + (await completeLines(join(dir, segmentName(last)))).lines;
}

/** Makes a new directory entry durable (POSIX: fsync the directory after creating or renaming a file). */
export async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Writes the whole buffer (a regular file may still take a write in parts). */
async function writeAll(handle: FileHandle, buffer: Buffer): Promise<void> {
  let done = 0;
  while (done < buffer.length) {
    const { bytesWritten } = await handle.write(buffer, done, buffer.length - done);
    done += bytesWritten;
  }
}

/** The single writer of one partition directory. Not safe for concurrent calls: the topic writer serialises them. */
export class PartitionWriter {
  private constructor(
    private readonly dir: string,
    private readonly segmentBytes: number,
    private handle: FileHandle,
    private size: number,
    private next: number,
  ) {}

  /** Opens the partition for appending; a torn last line (a crash mid-write) is cut off first. */
  static async open(opts: { dir: string; segmentBytes: number }): Promise<PartitionWriter> {
    await mkdir(opts.dir, { recursive: true });
    const last = (await listSegments(opts.dir)).at(-1) ?? 0;
    const path = join(opts.dir, segmentName(last));
    const handle = await open(path, 'a');
    try {
      const { lines, bytes, size } = await completeLines(path);
      if (bytes < size) await truncate(path, bytes);
      if (size === 0) await syncDirectory(opts.dir);
      return new PartitionWriter(opts.dir, opts.segmentBytes, handle, bytes, last + lines);
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  /**
   * Appends records in order and, with `sync` (the default), fsyncs every segment written before it resolves;
   * rolls to a new segment past `segmentBytes`.
   */
  async append(records: readonly LogRecord[], sync = true): Promise<void> {
    let pending: Buffer[] = [];
    for (const record of records) {
      const line = Buffer.from(`${JSON.stringify(lineOf(record))}\n`, 'utf8');
      if (this.size > 0 && this.size + line.length > this.segmentBytes) {
        await this.flush(pending, sync);
        pending = [];
        await this.roll();
      }
      pending.push(line);
      this.size += line.length;
      this.next++;
    }
    await this.flush(pending, sync);
  }

  /** Closes the active segment. */
  async close(): Promise<void> {
    await this.handle.close();
  }

  private async flush(lines: Buffer[], sync: boolean): Promise<void> {
    if (lines.length === 0) return;
    await writeAll(this.handle, Buffer.concat(lines));
    if (sync) await this.handle.datasync();
  }

  private async roll(): Promise<void> {
    await this.handle.close();
    this.handle = await open(join(this.dir, segmentName(this.next)), 'a');
    this.size = 0;
    await syncDirectory(this.dir);
  }
}

/** What a line holds: the record without its position (the offset is the line number). */
function lineOf(record: LogRecord): LogRecord {
  const { key, id, source, type, time, value } = record;
  return { key, id, source, type, time, value };
}

/**
 * Reads one partition by offset, complete lines only, so it is safe next to a writer in this or another
 * process. Remembers where the last read stopped, so a tailing consumer does not rescan the segment.
 */
export class PartitionReader {
  private cursor: { base: number; position: number; offset: number } | undefined;

  constructor(
    private readonly dir: string,
    private readonly partition: number,
  ) {}

  /** Records with `from <= offset < to`, at most `limit` of them, up to the end the files have now. */
  async read(opts: { from: number; to?: number; limit?: number }): Promise<StoredRecord[]> {
    const to = opts.to ?? Number.POSITIVE_INFINITY;
    const limit = opts.limit ?? Number.POSITIVE_INFINITY;
    const out: StoredRecord[] = [];
    const segments = await listSegments(this.dir);
    const resume =
      this.cursor?.offset === opts.from && segments.includes(this.cursor.base) ? this.cursor : undefined;
    let index = resume ? segments.indexOf(resume.base) : findSegment(segments, opts.from);
    if (index < 0 || opts.from >= to || limit <= 0) return out;
    let position = resume?.position ?? 0;
    let offset = resume?.offset ?? segments[index] ?? 0;
    while (index < segments.length && out.length < limit && offset < to) {
      const base = segments[index] ?? 0;
      const path = join(this.dir, segmentName(base));
      const stop = await scanSegment({
        path,
        position,
        offset,
        from: opts.from,
        to,
        limit,
        out,
        partition: this.partition,
      });
      this.cursor = { base, position: stop.position, offset: stop.offset };
      if (!stop.atEnd) break;
      const nextBase = segments[index + 1];
      if (nextBase === undefined) break;
      index++;
      position = 0;
      offset = nextBase;
    }
    return out;
  }
}

/** Index of the segment holding `offset` (the last one whose base is not above it), -1 when none. */
function findSegment(segments: readonly number[], offset: number): number {
  let found = -1;
  segments.forEach((base, i) => {
    if (base <= offset) found = i;
  });
  return found;
}

/** Reads lines of one segment from a byte position; returns where it stopped and whether it hit the file's end. */
async function scanSegment(s: {
  path: string;
  position: number;
  offset: number;
  from: number;
  to: number;
  limit: number;
  out: StoredRecord[];
  partition: number;
}): Promise<{ position: number; offset: number; atEnd: boolean }> {
  const handle = await open(s.path, 'r');
  let { position, offset } = s;
  try {
    let carry = Buffer.alloc(0);
    let readAt = position;
    for (;;) {
      const chunk = Buffer.allocUnsafe(CHUNK_BYTES);
      const { bytesRead } = await handle.read(chunk, 0, CHUNK_BYTES, readAt);
      if (bytesRead === 0) return { position, offset, atEnd: true };
      readAt += bytesRead;
      const data = carry.length
        ? Buffer.concat([carry, chunk.subarray(0, bytesRead)])
        : chunk.subarray(0, bytesRead);
      let start = 0;
      for (let nl = data.indexOf(NEWLINE); nl !== -1; nl = data.indexOf(NEWLINE, start)) {
        if (offset >= s.to || s.out.length >= s.limit) return { position, offset, atEnd: false };
        if (offset >= s.from)
          s.out.push(
            parseLine({
              text: data.toString('utf8', start, nl),
              offset,
              path: s.path,
              partition: s.partition,
            }),
          );
        position += nl + 1 - start;
        start = nl + 1;
        offset++;
      }
      carry = Buffer.from(data.subarray(start));
    }
  } finally {
    await handle.close();
  }
}

function parseLine(line: { text: string; offset: number; path: string; partition: number }): StoredRecord {
  try {
    const record = LogRecordSchema.parse(JSON.parse(line.text));
    return { ...record, partition: line.partition, offset: String(line.offset) };
  } catch (err) {
    throw new Error(`corrupt record at offset ${line.offset} of ${line.path}`, { cause: err });
  }
}
