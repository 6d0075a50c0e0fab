// Runs benchmark targets and generators in processes of their own, so they do not share an event loop or a heap:
// servers that print `READY {json}` and stay up (startChild), and runs that print one result line and exit (runToResult).
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';

/** The repository root: scripts are named relative to it, wherever the benchmark was started from. */
const ROOT = path.resolve(import.meta.dirname, '..', '..');

export interface ChildTarget {
  /** What the child printed on its `READY {json}` line (its URLs, ports). */
  info: Record<string, string>;
  child: ChildProcess;
  stop(): Promise<void>;
}

export interface ChildOptions {
  args?: string[];
  env?: Record<string, string>;
  /** Flags for node itself, e.g. `['--cpu-prof', '--cpu-prof-dir', dir]` (not allowed in NODE_OPTIONS). */
  nodeArgs?: string[];
  /** How long the child may take to print READY (default 60 s). */
  readyTimeoutMs?: number;
  /** A command the child runs under, e.g. `['strace', '-f', '-c', '-o', file]`. */
  wrapper?: string[];
}

const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

/** A target's side of startChild: prints `READY {info}` and, on SIGTERM, runs `close` and exits. */
export function announceReady(
  info: Record<string, string>,
  close: () => Promise<unknown> = async () => {},
): void {
  process.once('SIGTERM', () => {
    void close().then(() => process.exit(0));
  });
  process.stdout.write(`READY ${JSON.stringify(info)}\n`);
}

/**
 * Starts `node [nodeArgs] --import tsx <script> args…` (script relative to the repository root); the script prints
 * `READY {json}` once it listens. The child is killed if this process exits first.
 */
export async function startChild(script: string, opts: ChildOptions = {}): Promise<ChildTarget> {
  const [command = process.execPath, ...prefix] = [...(opts.wrapper ?? []), process.execPath];
  const child = spawn(
    command,
    [
      ...prefix,
      ...(opts.nodeArgs ?? []),
      '--import',
      'tsx',
      path.resolve(ROOT, script),
      ...(opts.args ?? []),
    ],
    { cwd: ROOT, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  children.add(child);
  child.once('exit', () => children.delete(child));
  let out = '';
  child.stdout?.setEncoding('utf8');
  try {
    const info = await new Promise<Record<string, string>>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${script} printed no READY line within ${opts.readyTimeoutMs ?? 60_000} ms`)),
        opts.readyTimeoutMs ?? 60_000,
      );
      child.stdout?.on('data', (chunk: string) => {
        out += chunk;
        const m = /READY (\{.*\})/.exec(out);
        if (m?.[1]) {
          clearTimeout(timer);
          resolve(JSON.parse(m[1]) as Record<string, string>);
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`${script} exited with ${code} before it was ready`));
      });
    });
    return {
      info,
      child,
      async stop() {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = once(child, 'exit');
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      },
    };
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
}

/**
 * Runs `command args…` to completion (cwd: the repository root; `input` on its stdin; killed if this process exits
 * first) and returns the JSON of its `<tag> {json}` output line. Waits for 'close', not 'exit', so no output is lost.
 */
export async function runToResult(
  command: string,
  args: readonly string[],
  tag: string,
  input?: string,
): Promise<unknown> {
  const child = spawn(command, args, {
    cwd: ROOT,
    stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'inherit'],
  });
  children.add(child);
  child.stdin?.end(input);
  let out = '';
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (chunk: string) => {
    out += chunk;
  });
  const [code] = (await once(child, 'close')) as [number | null];
  const line = new RegExp(`^${tag} (\\{.*\\})$`, 'm').exec(out);
  if (code !== 0 || !line?.[1]) throw new Error(`${command} exited with ${code} and no ${tag} line:\n${out}`);
  return JSON.parse(line[1]) as unknown;
}
