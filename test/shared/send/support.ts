// A real ingest for the sender's tests: served on a free loopback port over a private redis-server and the file log.
import { spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ingestFunction } from '../../../functions/ingest/function.ts';
import type { FlywheelEvent } from '../../../shared/events/index.ts';
import { createFileEventLog, type EventLog } from '../../../shared/log/index.ts';
import { createLogger, type RunningFunction, serve } from '../../../shared/runtime/index.ts';
import { createRedisStore, type OnlineStore } from '../../../shared/store/index.ts';
import { type RedisServer, startRedis } from '../../support/redis.ts';

export const ROOT = path.resolve(import.meta.dirname, '../../..');
const log = createLogger({ name: 'ingest', level: 'silent' });

export interface Ingest {
  url: string;
  eventLog: EventLog;
  /** What ingest published to its sink (the broker in the loop). */
  published: FlywheelEvent[];
  /** Every record in the event log. */
  records(): Promise<{ id: string; type: string; value: string }[]>;
  stop(): Promise<void>;
}

/** ingest over real HTTP, a real redis-server and a file log in a temp directory. */
export async function startIngest(): Promise<Ingest> {
  const redis: RedisServer = await startRedis();
  const store: OnlineStore = createRedisStore({ url: redis.url, timeoutMs: 1000, log });
  const eventLog = createFileEventLog({
    dataDir: await mkdtemp(path.join(tmpdir(), 'send-')),
    topic: 'events',
    log,
  });
  const published: FlywheelEvent[] = [];
  const def = ingestFunction({
    store,
    eventLog,
    sink: { publish: async (e) => void published.push(e) },
    config: { MAX_CLOCK_SKEW_MS: 60_000 },
  });
  const fn: RunningFunction = await serve(
    { ...def, close: async () => {} },
    { port: 0, host: '127.0.0.1', log, maxBodyBytes: 1024 * 1024, shutdownGraceMs: 500 },
  );
  return {
    url: `${fn.url}/`,
    eventLog,
    published,
    records: () => eventLog.readRange({ from: 0, to: Number.MAX_SAFE_INTEGER }),
    async stop() {
      await fn.close();
      await eventLog.close();
      await store.close();
      await redis.stop();
    },
  };
}

/** Runs `flywheel` (bin/flywheel.js) as a child process; its exit status and output. */
export function flywheel(
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'bin/flywheel.js'), ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
