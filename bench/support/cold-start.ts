// Cold start of a function process: spawn → first HTTP answer → readiness 200, and its resident memory once ready.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import { freePort } from '../../test/support/ports.ts';

export interface ColdStart {
  /** ms from spawn to the first HTTP answer of any status (the server listens). */
  listeningMs: number;
  /** ms from spawn to `/health/readiness` answering 200. */
  readyMs: number;
  /** VmRSS right after ready, MiB. */
  rssMiB: number;
}

/** GET status of a loopback URL; null when nothing answers (not listening yet). */
function status(url: string): Promise<number | null> {
  return new Promise((resolve) => {
    const req = http.get(url, { agent: false, timeout: 1_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? null));
    });
    req.on('error', () => resolve(null));
    req.on('timeout', () => req.destroy());
  });
}

async function rssMiB(pid: number): Promise<number> {
  const text = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/^VmRSS:\s+(\d+) kB/m.exec(text)?.[1] ?? Number.NaN);
  return kb / 1024;
}

/**
 * Starts `node <args>` with PORT set to a free port and `env`, polls `/health/readiness` every 2 ms until it answers
 * 200 (at most `timeoutMs`), reads the process's RSS, then stops it with SIGTERM (SIGKILL after 5 s).
 */
export async function coldStart(opts: {
  args: string[];
  env: Record<string, string>;
  timeoutMs?: number;
}): Promise<ColdStart> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/health/readiness`;
  const t0 = performance.now();
  const child = spawn(process.execPath, opts.args, {
    env: { ...process.env, ...opts.env, PORT: String(port) },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    if (stderr.length < 4_000) stderr += d.toString();
  });
  const exited = once(child, 'exit');
  try {
    let listeningMs = Number.NaN;
    const deadline = t0 + (opts.timeoutMs ?? 20_000);
    for (;;) {
      if (child.exitCode !== null) throw new Error(`the process exited with ${child.exitCode}: ${stderr}`);
      if (performance.now() > deadline)
        throw new Error(`not ready within ${opts.timeoutMs ?? 20_000} ms: ${stderr}`);
      const code = await status(url);
      const at = performance.now() - t0;
      if (code !== null && Number.isNaN(listeningMs)) listeningMs = at;
      if (code === 200) {
        const pid = child.pid;
        if (pid === undefined) throw new Error('the process has no pid');
        return { listeningMs, readyMs: at, rssMiB: await rssMiB(pid) };
      }
      await new Promise((r) => setTimeout(r, 2));
    }
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
  }
}
