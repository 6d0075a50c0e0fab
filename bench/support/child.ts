// Runs a benchmark target in its own process, so the load generator and the server do not share an event loop.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';

export interface ChildTarget {
  /** What the child printed on its `READY {json}` line (its URLs, ports). */
  info: Record<string, string>;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** Starts `node --import tsx <script> args…`; the script prints `READY {json}` once it listens. */
export async function startChild(
  script: string,
  args: string[] = [],
  env: Record<string, string> = {},
): Promise<ChildTarget> {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout?.setEncoding('utf8');
  const info = await new Promise<Record<string, string>>((resolve, reject) => {
    child.stdout?.on('data', (chunk: string) => {
      out += chunk;
      const m = /READY (\{.*\})/.exec(out);
      if (m?.[1]) resolve(JSON.parse(m[1]) as Record<string, string>);
    });
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code} before it was ready`)));
  });
  return {
    info,
    child,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}
