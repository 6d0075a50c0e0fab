// Servers the tests start as child processes (a Kafka broker's JVM, kube-apiserver, etcd), never left running.
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './ports.ts';

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
  /** Its output once it has exited and its pipes are read to the end (or 5 s after it exited). */
  lastWords(): Promise<string>;
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
  const closed = new Promise<void>((resolve) => shell.once('close', () => resolve()));
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
    async lastWords() {
      await exited;
      await Promise.race([closed, sleep(5_000)]);
      return output;
    },
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

/**
 * Starts a server that listens on the port it is given, on a free port, and waits until `ready(url)` holds (for up
 * to `limitMs`). A server that exits first because its port was taken after it was found free is started again on
 * another (up to three times); any other exit fails at once with the server's output, not at the end of the wait.
 */
export async function startOnFreePort(opts: {
  start: (port: number) => Promise<WatchedProcess>;
  ready: (url: string) => Promise<boolean>;
  limitMs: number;
  /** Where ports come from (freePort); a test of this function gives taken ones. */
  port?: () => Promise<number>;
}): Promise<{ server: WatchedProcess; url: string }> {
  const nextPort = opts.port ?? freePort;
  for (let attempt = 1; ; attempt++) {
    const port = await nextPort();
    const server = await opts.start(port);
    const url = `http://127.0.0.1:${port}`;
    const until = Date.now() + opts.limitMs;
    // A probe is bounded: whatever else holds the port may take the connection and never answer.
    const probe = () => Promise.race([opts.ready(url).catch(() => false), sleep(2_000).then(() => false)]);
    while (server.alive() && !(await probe())) {
      if (Date.now() > until) {
        await server.kill();
        throw new Error(`${url} was not ready within ${opts.limitMs} ms:\n${server.output()}`);
      }
      await sleep(20);
    }
    if (server.alive()) return { server, url };
    const output = await server.lastWords();
    if (attempt >= 3 || !output.includes('EADDRINUSE'))
      throw new Error(`the server on port ${port} exited while starting:\n${output}`);
  }
}
