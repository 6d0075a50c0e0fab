// Committed progress of the file log's consumer groups: one small JSON file per group, replaced atomically.
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { syncDirectory } from './segments.ts';

/** Per partition, the offset of the next record the group has not processed (Kafka's committed offset). */
const CommittedSchema = z.record(z.string().regex(/^\d+$/), z.number().int().nonnegative());

/** Where a group's progress lives; the id is URI-encoded so any group name is a safe file name. */
function groupFile(dir: string, groupId: string): string {
  return join(dir, `${encodeURIComponent(groupId)}.json`);
}

/** Reads a group's committed offsets; an unknown group has none. */
export async function loadCommitted(dir: string, groupId: string): Promise<Map<number, number>> {
  let text: string;
  try {
    text = await readFile(groupFile(dir, groupId), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw err;
  }
  const parsed = CommittedSchema.parse(JSON.parse(text));
  return new Map(Object.entries(parsed).map(([partition, offset]) => [Number(partition), offset]));
}

/**
 * Commits a group's offsets: writes a temporary file, fsyncs it and renames it over the old one, so a crash
 * leaves either the old or the new progress, never a torn file.
 */
export async function saveCommitted(
  dir: string,
  groupId: string,
  offsets: ReadonlyMap<number, number>,
): Promise<void> {
  await mkdir(dir, { recursive: true });
  const path = groupFile(dir, groupId);
  const temporary = `${path}.${process.pid}.tmp`;
  const handle = await open(temporary, 'w');
  try {
    await handle.writeFile(JSON.stringify(Object.fromEntries(offsets)));
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temporary, path);
  await syncDirectory(dir);
}
