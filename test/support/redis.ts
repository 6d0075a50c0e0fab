// Test support: a private redis-server per test file (no persistence, or an AOF), a RESP client, a round-trip counter.
import { spawn, spawnSync } from 'node:child_process';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './ports.ts';

/** A private redis-server on loopback; kill/freeze exist for fault tests. */
export interface RedisServer {
  url: string;
  port: number;
  /** Stops the server (SIGTERM) and waits for it to exit. */
  stop(): Promise<void>;
  /** Kills the server (SIGKILL): clients see the connection drop; its data is lost unless it has an AOF. */
  kill(): Promise<void>;
  /**
   * Starts the server again on the same port (after kill(), or killing it first) and waits until it answers PING.
   * Without `appendonly` it comes back empty; with it, it reloads its AOF from the same directory.
   */
  restart(): Promise<void>;
  /** Suspends the server (SIGSTOP): connections stay open, nothing is answered, data is kept. */
  freeze(): void;
  /** Resumes a frozen server (SIGCONT). */
  thaw(): void;
}

const BINARY = 'redis-server';
const running = new Set<Instance>();
process.on('exit', () => {
  for (const instance of running) instance.signal('SIGKILL');
});

/**
 * Runs redis-server under a small shell that kills it when this process goes away in any way (crash, SIGKILL,
 * a test-runner timeout): a watchdog blocks reading our pipe and gets EOF when we die. It prints the server's pid
 * first and exits with the server.
 */
const WATCHDOG = `
exec 3<&0
"$0" "$@" </dev/null 3<&- 1>&2 &
pid=$!
echo "$pid"
( read -r _ <&3; kill -9 "$pid" 2>/dev/null ) &
watchdog=$!
wait "$pid"
code=$?
kill "$watchdog" 2>/dev/null
exit "$code"
`;

/** One redis-server process: its pid, a signal sender, and a promise of its exit. */
export interface Instance {
  signal(sig: NodeJS.Signals): void;
  exited: Promise<void>;
  alive(): boolean;
}

/** Persistence as production runs it: an append-only file in `dir`, fsynced `always` or `everysec`. */
export interface AppendOnly {
  dir: string;
  fsync: 'always' | 'everysec';
}

/**
 * Starts a private redis-server on a free port; throws with the install command when the binary is missing. With
 * `appendonly`, every write goes to an AOF in its directory, so a killed server restarts with its keys (and their
 * absolute expiry times), losing at most what `fsync` allows.
 */
export async function startRedis(opts: { appendonly?: AppendOnly } = {}): Promise<RedisServer> {
  const probe = spawnSync(BINARY, ['--version'], { stdio: 'ignore' });
  if (probe.error)
    throw new Error('redis-server not found: apt-get install -y redis-server', { cause: probe.error });
  const port = await freePort();
  const persistence = opts.appendonly
    ? ['--dir', opts.appendonly.dir, '--appendonly', 'yes', '--appendfsync', opts.appendonly.fsync]
    : ['--appendonly', 'no'];
  let instance = await spawnServer(port, persistence);

  const exit = async (sig: NodeJS.Signals) => {
    const current = instance;
    if (!current.alive()) return;
    if (sig === 'SIGTERM') current.signal('SIGCONT'); // a frozen server cannot handle SIGTERM
    current.signal(sig);
    await current.exited;
  };
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop: () => exit('SIGTERM'),
    kill: () => exit('SIGKILL'),
    restart: async () => {
      await exit('SIGKILL');
      instance = await spawnServer(port, persistence);
    },
    freeze: () => instance.signal('SIGSTOP'),
    thaw: () => instance.signal('SIGCONT'),
  };
}

/**
 * Starts one redis-server on `port` with `args` under the watchdog and waits until it answers PING; the returned
 * instance is killed when this process exits. Cluster support starts its nodes with it.
 */
export async function spawnServer(port: number, persistence: readonly string[]): Promise<Instance> {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', ...persistence];
  const shell = spawn('sh', ['-c', WATCHDOG, BINARY, ...args, '--loglevel', 'warning'], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  shell.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  shell.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  let done = false;
  const exited = new Promise<void>((resolve) =>
    shell.once('exit', () => {
      done = true;
      running.delete(instance);
      shell.stdin.end();
      resolve();
    }),
  );
  const pid = () => Number(/^(\d+)\n/.exec(stdout)?.[1] ?? Number.NaN);
  const instance: Instance = {
    signal: (sig) => {
      if (!done && Number.isInteger(pid())) process.kill(pid(), sig);
    },
    exited,
    alive: () => !done,
  };
  running.add(instance);
  for (let attempt = 0; attempt < 100; attempt++) {
    if (done) throw new Error(`redis-server exited: ${stderr}`);
    try {
      if (Number.isInteger(pid()) && (await redisCommand(port, ['PING'])) === 'PONG') return instance;
    } catch {
      // not listening yet
    }
    await sleep(50);
  }
  instance.signal('SIGKILL');
  throw new Error(`redis-server on port ${port} did not answer PING within 5 s: ${stderr}`);
}

/** A RESP reply, decoded. */
export type Reply = string | number | null | Error | Reply[];

/** Sends one command on a fresh connection and returns its reply (for INFO, DEBUG, CLIENT… in tests). */
export async function redisCommand(port: number, args: readonly string[]): Promise<Reply> {
  const socket = net.connect({ port, host: '127.0.0.1' });
  socket.setTimeout(5000);
  try {
    return await new Promise<Reply>((resolve, reject) => {
      let buf = Buffer.alloc(0);
      socket.once('error', reject);
      socket.once('timeout', () => reject(new Error('redis command timed out')));
      socket.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        const parsed = parseReply(buf, 0);
        if (parsed) resolve(parsed.value);
      });
      socket.write(encodeCommand(args));
    });
  } finally {
    socket.destroy();
  }
}

function encodeCommand(args: readonly string[]): string {
  return `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
}

function parseReply(buf: Buffer, at: number): { value: Reply; end: number } | undefined {
  const eol = buf.indexOf('\r\n', at);
  if (eol < 0) return undefined;
  const line = buf.toString('utf8', at + 1, eol);
  const kind = String.fromCharCode(buf[at] ?? 0);
  if (kind === '+') return { value: line, end: eol + 2 };
  if (kind === '-') return { value: new Error(line), end: eol + 2 };
  if (kind === ':') return { value: Number(line), end: eol + 2 };
  const n = Number(line);
  if (kind === '$') {
    if (n < 0) return { value: null, end: eol + 2 };
    if (buf.length < eol + 2 + n + 2) return undefined;
    return { value: buf.toString('utf8', eol + 2, eol + 2 + n), end: eol + 2 + n + 2 };
  }
  if (kind === '*') {
    if (n < 0) return { value: null, end: eol + 2 };
    const items: Reply[] = [];
    let pos = eol + 2;
    for (let i = 0; i < n; i++) {
      const item = parseReply(buf, pos);
      if (!item) return undefined;
      items.push(item.value);
      pos = item.end;
    }
    return { value: items, end: pos };
  }
  throw new Error(`unexpected RESP type ${kind}`);
}

/** The `calls` counter of each command in INFO commandstats, e.g. { evalsha: 3, zrange: 2 }. */
export async function commandCalls(port: number): Promise<Record<string, number>> {
  const info = await redisCommand(port, ['INFO', 'commandstats']);
  if (typeof info !== 'string') throw new Error('INFO commandstats did not answer text');
  const out: Record<string, number> = {};
  for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) out[m[1] ?? ''] = Number(m[2]);
  return out;
}

/**
 * A TCP proxy in front of Redis that counts round trips: it holds the server's replies until the client has been
 * quiet for `quietMs`, then releases them. A client that needs a reply before sending more makes one round trip
 * per release, so `roundTrips` counts exactly the waits a call made.
 */
export async function startRoundTripProxy(opts: { target: number; quietMs?: number }): Promise<{
  url: string;
  roundTrips(): number;
  reset(): void;
  close(): Promise<void>;
}> {
  const quietMs = opts.quietMs ?? 30;
  let trips = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect({ port: opts.target, host: '127.0.0.1' });
    sockets.add(client).add(upstream);
    const held: Buffer[] = [];
    let timer: NodeJS.Timeout | undefined;
    let sent = false;
    const release = () => {
      timer = undefined;
      if (sent) trips++;
      sent = false;
      for (const chunk of held.splice(0)) client.write(chunk);
    };
    client.on('data', (d: Buffer) => {
      sent = true;
      upstream.write(d);
      if (timer) clearTimeout(timer);
      timer = setTimeout(release, quietMs);
    });
    upstream.on('data', (d: Buffer) => {
      held.push(d);
      if (!timer) timer = setTimeout(release, quietMs);
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('proxy has no port');
  return {
    url: `redis://127.0.0.1:${address.port}`,
    roundTrips: () => trips,
    reset: () => {
      trips = 0;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The TTL left, in ms, on every key matching `pattern` (e.g. `fw:lock:ingest:*`), straight from Redis. */
export async function ttlsOf(port: number, pattern: string): Promise<number[]> {
  const keys = await redisCommand(port, ['KEYS', pattern]);
  if (!Array.isArray(keys)) throw new Error(`KEYS ${pattern} answered ${String(keys)}`);
  return Promise.all(keys.map(async (k) => Number(await redisCommand(port, ['PTTL', String(k)]))));
}
