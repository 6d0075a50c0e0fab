// Servers the tests start as child processes (a Kafka broker's JVM, kube-apiserver, etcd), never left running.
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Runs a server under a small shell that kills it when this process goes away in any way (crash, SIGKILL, a
 * test-runner timeout): a watchdog blocks reading our pipe and gets EOF when we die. It prints the server's pid
 * first, sends the server's output to stderr, and exits with the server. A watchdog kill also removes the
 * server's temporary directory (WATCHED_DIR), which its owner's stop() removes otherwise.
 */
const WATCHDOG = `
exec 3<&0
"$0" "$@" </dev/null 3<&- 1>&2 &
pid=$!
echo "$pid"
( read -r _ <&3; kill -9 "$pid" 2>/dev/null; sleep 1; rm -rf "$WATCHED_DIR" ) &
watchdog=$!
wait "$pid"
code=$?
kill "$watchdog" 2>/dev/null
exit "$code"
`;

const running = new Set<WatchedProcess>();
process.on('exit', () => {
  for (const server of running) server.signal('SIGKILL');
});

export interface WatchedProcess {
  pid: number;
  signal(sig: NodeJS.Signals): void;
  alive(): boolean;
  /** The server's recent output (stderr and stdout, the last 20 kB), for error messages. */
  output(): string;
  /** SIGTERM (a controlled shutdown), SIGKILL after 10 s; resolves once the server is gone. */
  stop(): Promise<void>;
  /** SIGKILL; resolves once the server is gone. */
  kill(): Promise<void>;
}

export async function spawnWatched(
  dir: string,
  [command = 'true', ...args]: string[],
): Promise<WatchedProcess> {
  const shell = spawn('sh', ['-c', WATCHDOG, command, ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, WATCHED_DIR: dir },
  });
  let stdout = '';
  let output = '';
  shell.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  shell.stderr.on('data', (d: Buffer) => {
    output = (output + d.toString()).slice(-20_000);
  });
  let done = false;
  let server: WatchedProcess | undefined;
  const exited = new Promise<void>((resolve) =>
    shell.once('exit', () => {
      done = true;
      if (server) running.delete(server);
      shell.stdin.end();
      resolve();
    }),
  );
  for (let i = 0; i < 100 && !/^\d+\n/.test(stdout) && !done; i++) await sleep(20);
  const pid = Number(/^(\d+)\n/.exec(stdout)?.[1] ?? Number.NaN);
  if (!Number.isInteger(pid)) {
    shell.kill('SIGKILL');
    throw new Error(`the watchdog shell of ${command} printed no pid:\n${output}`);
  }
  const signal = (sig: NodeJS.Signals) => {
    if (!done) process.kill(pid, sig);
  };
  server = {
    pid,
    signal,
    alive: () => !done,
    output: () => output,
    async stop() {
      if (done) return;
      signal('SIGCONT'); // a stopped process cannot handle SIGTERM
      signal('SIGTERM');
      const killer = setTimeout(() => signal('SIGKILL'), 10_000);
      await exited;
      clearTimeout(killer);
    },
    async kill() {
      signal('SIGKILL');
      await exited;
    },
  };
  if (!done) running.add(server);
  return server;
}
