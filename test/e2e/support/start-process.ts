// `npm start` (local/start.ts) as a child process in its own process group: its output, a wait for a line, a stop.
import { type ChildProcess, spawn } from 'node:child_process';

export interface Started {
  child: ChildProcess;
  /** Everything it printed so far (stdout and stderr). */
  output(): string;
  /** Resolves once the output matches `pattern`; rejects if the process exits first or `limitMs` passes. */
  waitFor(pattern: RegExp, limitMs: number): Promise<void>;
  /** SIGTERM to its process group; resolves with its exit status (null when a signal ended it) once its output closed. */
  stop(): Promise<number | null>;
}

/** Spawns `command args` detached (its own process group, so a stop reaches npm's children too). */
export function startProcess(
  command: string,
  args: readonly string[],
  opts: { cwd: string; env: NodeJS.ProcessEnv },
): Started {
  const child = spawn(command, args, { cwd: opts.cwd, env: opts.env, detached: true });
  let out = '';
  const onData = (c: Buffer) => {
    out += c.toString();
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  // 'close': every process holding its output is gone (npm's children too), and all of it has been read
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return {
    child,
    output: () => out,
    async waitFor(pattern, limitMs) {
      const end = Date.now() + limitMs;
      let gone = false;
      void exited.then(() => {
        gone = true;
      });
      while (!pattern.test(out)) {
        if (gone) throw new Error(`exited before printing ${pattern}:\n${out}`);
        if (Date.now() > end) throw new Error(`no ${pattern} within ${limitMs} ms:\n${out}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async stop() {
      if (child.exitCode === null && child.pid !== undefined) {
        try {
          process.kill(-child.pid, 'SIGTERM');
        } catch {
          // already gone
        }
      }
      return exited;
    },
  };
}
