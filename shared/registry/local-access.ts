// How a client finds the local loop's registry API: the tokens file the loop writes, the pointer to the latest run.
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import type { Config } from '../config/index.ts';

/** promote's port offset from FLYWHEEL_PORT_BASE in the local loop (local/loop.ts PORT_OFFSETS; a test keeps them equal). */
export const LOOP_PROMOTE_OFFSET = 6;

/** The pointer `npm start` leaves to its latest run, relative to the directory it was started in. */
export const DEFAULT_POINTER = path.join('.flywheel', 'current.json');

/** `<data-dir>/tokens.json`: the loop's promote URL and the tokens its promote function accepts (mode 0600). */
export const LoopAccessSchema = z.object({
  url: z.url(),
  promoteToken: z.string().min(1),
  readToken: z.string().min(1),
  pid: z.number().int().positive(),
  startedAt: z.number().int().nonnegative(),
});
export type LoopAccess = z.infer<typeof LoopAccessSchema>;

const PointerSchema = z.object({ url: z.url(), tokensFile: z.string().min(1) });

/** The local loop's promote URL for a port base. */
export const localPromoteUrl = (config: Pick<Config, 'FLYWHEEL_PORT_BASE'>): string =>
  `http://127.0.0.1:${config.FLYWHEEL_PORT_BASE + LOOP_PROMOTE_OFFSET}`;

/** 192 random bits as hex: never starts with '-', which `--token <value>` would take for an option. */
const randomToken = (): string => randomBytes(24).toString('hex');

/** Writes `data` as JSON readable by its owner only, replacing the file in one rename. */
async function writePrivate(file: string, data: unknown): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(data, null, 2)}\n`, { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, file);
}

/**
 * The tokens the local loop's promote accepts: PROMOTE_TOKEN and REGISTRY_READ_TOKEN when set, random ones otherwise,
 * written with the URL to `<dataDir>/tokens.json` (mode 0600) so `flywheel models` and `flywheel status` find them.
 */
export async function loopAccess(input: {
  config: Pick<Config, 'PROMOTE_TOKEN' | 'REGISTRY_READ_TOKEN' | 'FLYWHEEL_DATA_DIR'>;
  url: string;
}): Promise<LoopAccess & { tokensFile: string }> {
  const access: LoopAccess = {
    url: input.url,
    promoteToken: input.config.PROMOTE_TOKEN ?? randomToken(),
    readToken: input.config.REGISTRY_READ_TOKEN ?? randomToken(),
    pid: process.pid,
    startedAt: Date.now(),
  };
  const tokensFile = path.resolve(input.config.FLYWHEEL_DATA_DIR, 'tokens.json');
  await writePrivate(tokensFile, access);
  return { ...access, tokensFile };
}

/**
 * Points `.flywheel/current.json` (or `file`) at a running loop's URL and tokens file, so a client started in the
 * same directory finds the loop without knowing its data dir. `npm start` calls it once the loop is up.
 */
export async function writeLoopPointer(
  access: { url: string; tokensFile: string },
  file: string = DEFAULT_POINTER,
): Promise<void> {
  await writePrivate(file, { url: access.url, tokensFile: path.resolve(access.tokensFile) });
}

async function readJson<S extends z.ZodType>(file: string, schema: S): Promise<z.infer<S> | undefined> {
  try {
    const parsed = schema.safeParse(JSON.parse(await readFile(file, 'utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** The pointer's URL, if a loop left one in `cwd`. */
export async function pointedUrl(cwd: string = process.cwd()): Promise<string | undefined> {
  return (await readJson(path.join(cwd, DEFAULT_POINTER), PointerSchema))?.url;
}

/**
 * The tokens file of the local loop serving `url`: the pointer's, `<FLYWHEEL_DATA_DIR>/tokens.json`, or the newest
 * `.flywheel/run-*\/tokens.json` — the first whose URL is `url`, so a stale file of another run is never used.
 */
export async function findLoopAccess(input: {
  url: string;
  dataDir?: string;
  cwd?: string;
}): Promise<(LoopAccess & { file: string }) | undefined> {
  const cwd = input.cwd ?? process.cwd();
  const same = (a: string) => a.replace(/\/+$/, '') === input.url.replace(/\/+$/, '');
  const candidates: string[] = [];
  const pointer = await readJson(path.join(cwd, DEFAULT_POINTER), PointerSchema);
  if (pointer) candidates.push(pointer.tokensFile);
  if (input.dataDir) candidates.push(path.resolve(cwd, input.dataDir, 'tokens.json'));
  const runs = path.join(cwd, '.flywheel');
  const entries = await readdir(runs).catch(() => [] as string[]);
  const dated: { file: string; mtime: number }[] = [];
  for (const entry of entries.filter((e) => e.startsWith('run-'))) {
    const file = path.join(runs, entry, 'tokens.json');
    const s = await stat(file).catch(() => undefined);
    if (s) dated.push({ file, mtime: s.mtimeMs });
  }
  candidates.push(...dated.sort((a, b) => b.mtime - a.mtime).map((d) => d.file));
  for (const file of candidates) {
    const access = await readJson(file, LoopAccessSchema);
    if (access && same(access.url)) return { ...access, file };
  }
  return undefined;
}
