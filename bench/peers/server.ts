// The peers' servers: processes in process groups of their own (with every worker they fork), logging to a file,
// ready once an HTTP probe answers 200, and killed, group and all, when stopped or when this process exits.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

export interface PeerServer {
  name: string;
  /** Base URL, e.g. http://127.0.0.1:41234 (no trailing slash). */
  url: string;
  stop(): Promise<void>;
}

export interface PeerServerSpec {
  name: string;
  command: string;
  args: readonly string[];
  env?: Record<string, string>;
  /** The server's base URL (its port chosen by the caller). */
  url: string;
  /** Path answered with 200 once the server can take requests. */
  readyPath: string;
  /** Where the server's stdout and stderr go. */
  logFile: string;
  /** How long it may take to become ready (default 180 s: MLServer and Feast import a great deal). */
  readyTimeoutMs?: number;
}

const groups = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of groups) signalGroup(child, 'SIGKILL');
});

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // the group is already gone
  }
}

export const JSON_HEADERS = { 'content-type': 'application/json' };

/** One POST to a server: its status and body as text. */
export async function post(
  url: string,
  body: string,
  headers: Record<string, string> = JSON_HEADERS,
): Promise<{ status: number; text: string }> {
  const res = await fetch(url, { method: 'POST', headers, body });
  return { status: res.status, text: await res.text() };
}

/** The last `lines` lines of a log file, for error messages. */
export function logTail(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Starts a peer's server and waits until `readyPath` answers 200; throws with the log's tail if it does not. */
export async function startPeerServer(spec: PeerServerSpec): Promise<PeerServer> {
  const fd = openSync(spec.logFile, 'a');
  const child = spawn(spec.command, spec.args, {
    env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1', ...spec.env },
    stdio: ['ignore', fd, fd],
    detached: true,
  });
  closeSync(fd);
  groups.add(child);
  const exited = once(child, 'exit');
  let exitCode: number | string | null = null;
  child.once('exit', (code, signal) => {
    exitCode = code ?? signal;
    groups.delete(child);
  });
  const stop = async () => {
    if (!groups.has(child)) return;
    signalGroup(child, 'SIGTERM');
    const timer = setTimeout(() => signalGroup(child, 'SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
    // Workers the server forked may outlive it: the group goes too.
    signalGroup(child, 'SIGKILL');
  };
  const deadline = Date.now() + (spec.readyTimeoutMs ?? 180_000);
  for (;;) {
    if (exitCode !== null) {
      throw new Error(`${spec.name} exited (${exitCode}) before it was ready:\n${logTail(spec.logFile)}`);
    }
    try {
      const res = await fetch(`${spec.url}${spec.readyPath}`, { signal: AbortSignal.timeout(2_000) });
      await res.arrayBuffer();
      if (res.status === 200) return { name: spec.name, url: spec.url, stop };
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(
        `${spec.name} was not ready within ${spec.readyTimeoutMs ?? 180_000} ms:\n${logTail(spec.logFile)}`,
      );
    }
    await sleep(250);
  }
}
