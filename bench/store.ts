// Benchmark: featurize updates/s through the Redis store adapter vs redis-benchmark running the same Lua script.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { customerFeatures } from '../shared/features/index.ts';
import { createLogger } from '../shared/runtime/logger.ts';
import { createRedisStore, type CustomerEventInput, type OnlineStore } from '../shared/store/index.ts';
import { customerKeys, historyMember } from '../shared/store/keys.ts';
import { APPLY_CUSTOMER_EVENT } from '../shared/store/lua.ts';
import { windowTreeSpec } from '../shared/store/redis-support.ts';
import { type RedisServer, redisCommand, startRedis } from '../test/support/redis.ts';

const { values: args } = parseArgs({
  options: {
    n: { type: 'string', default: '100000' },
    concurrency: { type: 'string', default: '256' },
    rounds: { type: 'string', default: '3' },
    prior: { type: 'string', default: '20' },
  },
});
const N = Number(args.n);
const CONCURRENCY = Number(args.concurrency);
const ROUNDS = Number(args.rounds);
const PRIOR = Number(args.prior);

/*
 * Workload, identical on both sides: one customer whose history holds PRIOR entries older than every measured event;
 * every measured event has the same time T, a distinct event key (so each is a first claim, never a duplicate), the
 * same record and two first-seen fields. The history is kept whole (maxEvents above N) so every update reads exactly
 * PRIOR prior entries and the same work is done per call from the first to the last.
 */
const T = 1_700_000_000_000;
const CUSTOMER = 'bench';
const RECORD = JSON.stringify({
  id: 'tx-000000',
  t: T,
  amount: 42.5,
  country: 'DE',
  deviceId: 'dev-1',
  merchantCategory: 'grocery',
  channel: 'pos',
  currency: 'EUR',
});
const FIELDS = ['country:DE', 'deviceId:dev-1'];
const VALUE = 42.5;
const base = {
  customerId: CUSTOMER,
  orderKey: 'tx-000000',
  value: VALUE,
  record: RECORD,
  windowsMs: customerFeatures.windowsMs,
  retentionMs: customerFeatures.retentionMs,
  maxEvents: N + PRIOR + 1000,
  allowedLatenessMs: 3_600_000,
  claimTtlMs: 3_600_000,
  idleTtlMs: 7_200_000,
  firstSeen: FIELDS,
} satisfies Omit<CustomerEventInput, 'eventKey' | 'eventTime'>;

function requireRedisBenchmark(): void {
  if (spawnSync('redis-benchmark', ['--version'], { stdio: 'ignore' }).error) {
    throw new Error(
      'redis-benchmark not found: apt-get install -y redis-tools (or redis-server, which ships it)',
    );
  }
}

/** Empties the server and writes the PRIOR older entries both runs start from. */
async function reset(server: RedisServer, store: OnlineStore): Promise<void> {
  await redisCommand(server.port, ['FLUSHALL']);
  for (let i = 0; i < PRIOR; i++) {
    await store.applyCustomerEvent({ ...base, eventKey: `prior-${i}`, eventTime: T - PRIOR + i });
  }
}

/** One side's result: throughput and CPU microseconds per update (client side only for the adapter). */
interface Side {
  rate: number;
  serverCpuUs: number;
  clientCpuUs?: number;
}

/** redis-server's CPU seconds so far (user + sys), from INFO cpu. */
async function serverCpu(server: RedisServer): Promise<number> {
  const info = String(await redisCommand(server.port, ['INFO', 'cpu']));
  const field = (name: string) => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)?.[1] ?? Number.NaN);
  return field('used_cpu_user') + field('used_cpu_sys');
}

/** Runs one side and measures its throughput (from `measure`) and the server's CPU per update. */
async function side(
  server: RedisServer,
  measure: () => Promise<{ rate: number; clientCpuUs?: number }>,
): Promise<Side> {
  const before = await serverCpu(server);
  const r = await measure();
  return { ...r, serverCpuUs: (((await serverCpu(server)) - before) * 1e6) / N };
}

/** Updates/s through the adapter: one connection, CONCURRENCY calls in flight (pipelined on the connection). */
async function viaAdapter(store: OnlineStore, round: number): Promise<{ rate: number; clientCpuUs: number }> {
  let next = 0;
  const worker = async () => {
    while (next < N) {
      const i = next++;
      const r = await store.applyCustomerEvent({ ...base, eventKey: `r${round}-e${i}`, eventTime: T });
      if (r.kind !== 'applied' || r.prior.windows.at(-1)?.count !== PRIOR)
        throw new Error(`unexpected result ${r.kind}`);
    }
  };
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const rate = N / (Number(process.hrtime.bigint() - start) / 1e9);
  const used = process.cpuUsage(cpu);
  return { rate, clientCpuUs: (used.user + used.system) / N };
}

/** Updates/s from redis-benchmark: one connection, EVALSHA of the same script pipelined CONCURRENCY deep. */
async function viaRedisBenchmark(server: RedisServer, sha: string): Promise<{ rate: number }> {
  const rand = '__rand_int____rand_int__'; // two 12-digit random numbers: distinct claims and members
  const { history: hist, firstSeen: seen, windowTree: tree } = customerKeys(CUSTOMER);
  // a random order key makes each member distinct, as the event hash does on the adapter's side
  const member = historyMember('__rand_int__', 'bench'.padEnd(16, '0'), T, VALUE);
  const command = [
    ...['EVALSHA', sha, '5', hist, seen, `fw:{${CUSTOMER}}:claim:${rand}`, `fw:{${CUSTOMER}}:latest`, tree],
    ...[String(T), member, RECORD, String(base.retentionMs), String(base.maxEvents)],
    ...[String(base.allowedLatenessMs), String(base.claimTtlMs), String(base.idleTtlMs)],
    ...[windowTreeSpec(base.retentionMs), base.windowsMs.join(' '), ...FIELDS],
  ];
  const opts = [
    '-p',
    String(server.port),
    '-c',
    '1',
    '-P',
    String(CONCURRENCY),
    '-n',
    String(N),
    '-r',
    '2000000000',
  ];
  const out = await run('redis-benchmark', [...opts, '--csv', ...command]);
  // --csv: "<command>","rps","avg_latency_ms",… (6 latency columns); the command itself holds quotes.
  const rps = Number(/"([\d.]+)"(?:,"[\d.]+"){6}\s*$/.exec(out)?.[1]);
  const count = Number(await redisCommand(server.port, ['ZCARD', hist]));
  if (!(rps > 0) || count < N * 0.99)
    throw new Error(`redis-benchmark did not apply the events: ${out} (${count})`);
  return { rate: rps };
}

function run(cmd: string, argv: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} exited ${code}`))));
  });
}

requireRedisBenchmark();
const server = await startRedis();
const store = createRedisStore({
  url: server.url,
  timeoutMs: 10_000,
  log: createLogger({ name: 'bench', level: 'warn' }),
});
const sha = String(await redisCommand(server.port, ['SCRIPT', 'LOAD', APPLY_CUSTOMER_EVENT]));
if (sha !== createHash('sha1').update(APPLY_CUSTOMER_EVENT).digest('hex'))
  throw new Error('script sha differs');

const rows: { round: number; adapter: Side; native: Side }[] = [];
try {
  await reset(server, store);
  await viaAdapter(store, -1); // warm-up: JIT, connection, script cache
  for (let round = 1; round <= ROUNDS; round++) {
    await reset(server, store);
    const adapter = await side(server, () => viaAdapter(store, round));
    await reset(server, store);
    const native = await side(server, () => viaRedisBenchmark(server, sha));
    rows.push({ round, adapter, native });
  }
} finally {
  await store.close();
  await server.stop();
}

const version =
  spawnSync('redis-server', ['--version'])
    .stdout.toString()
    .match(/v=(\S+)/)?.[1] ?? '?';
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const ratios = rows.map((r) => r.adapter.rate / r.native.rate).sort((a, b) => a - b);
const median = ratios[Math.floor(ratios.length / 2)] ?? 0;
const load = os.loadavg()[0]?.toFixed(1) ?? '?';
console.log('### Online store: featurize updates per second (applyCustomerEvent)\n');
console.log(
  `${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} cores (1-min load ${load} at the end), Node ${process.version}, ` +
    `redis-server ${version}, ${new Date().toISOString().slice(0, 10)}. One private redis-server (persistence off) on loopback.\n`,
);
console.log(
  `Method: ${N.toLocaleString('en-US')} updates per side per round, each a first claim of a distinct event for one ` +
    `customer whose history holds ${PRIOR} earlier entries (returned as prior), with 2 first-seen fields. Adapter: ` +
    `createRedisStore, one connection, ${CONCURRENCY} calls in flight (pipelined on the one connection), every result checked. ` +
    `redis-benchmark: the same script by EVALSHA with the same keys and arguments, -c 1 -P ${CONCURRENCY}. ` +
    'The server is flushed and re-seeded before each side. CPU: µs per update, redis-server from INFO cpu, ' +
    'the adapter process from process.cpuUsage().\n',
);
console.log(
  '| round | adapter updates/s | redis-benchmark updates/s | ratio | adapter CPU µs | server CPU µs (adapter / redis-benchmark) |',
);
console.log('|---:|---:|---:|---:|---:|---:|');
for (const r of rows) {
  const ratio = `${((100 * r.adapter.rate) / r.native.rate).toFixed(0)}%`;
  const cpu = `${r.adapter.serverCpuUs.toFixed(1)} / ${r.native.serverCpuUs.toFixed(1)}`;
  console.log(
    `| ${r.round} | ${fmt(r.adapter.rate)} | ${fmt(r.native.rate)} | ${ratio} | ${r.adapter.clientCpuUs?.toFixed(1)} | ${cpu} |`,
  );
}
console.log(`\nMedian ratio: ${(100 * median).toFixed(0)}% (target ≥ 50%).`);
