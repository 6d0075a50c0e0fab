// What one ingested event costs in round trips: Redis commands and socket reads, fdatasyncs, K_SINK posts, for single
// events and for batches, counted (not timed) on the ingest target with strace and Redis' own statistics.
// Run: npx tsx bench/ingest-costs.ts [--events 3000] [--batch 100] [--targets <path of pipeline-targets.ts>]
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { redisCommand, startRedis } from '../test/support/redis.ts';
import { startChild } from './support/child.ts';
import type { RequestParts } from './support/load.ts';
import {
  DAY_MS,
  type GeneratedTransaction,
  rawBatch,
  rawBinary,
  transactionStream,
} from './support/workload.ts';

const { values: args } = parseArgs({
  options: {
    events: { type: 'string', default: '3000' },
    batch: { type: 'string', default: '100' },
    connections: { type: 'string', default: '32' },
    'batch-connections': { type: 'string', default: '4' },
    /** The targets script (another checkout's, to count the code before a change). */
    targets: { type: 'string', default: 'bench/support/pipeline-targets.ts' },
  },
});
const EVENTS = Number(args.events);
const BATCH = Number(args.batch);

interface Counts {
  requests: number;
  events: number;
  redisCommands: number;
  redisReads: number;
  fdatasyncs: number;
  sinkPosts: number;
}

/** Redis' counters: commands by name (INFO commandstats) and socket reads processed (INFO stats). */
async function redisCounters(port: number): Promise<{ commands: number; reads: number }> {
  const commandstats = String(await redisCommand(port, ['INFO', 'commandstats']));
  let commands = 0;
  for (const m of commandstats.matchAll(/^cmdstat_(\w+):calls=(\d+)/gm)) {
    if (m[1] !== 'info') commands += Number(m[2]);
  }
  const stats = String(await redisCommand(port, ['INFO', 'stats']));
  return { commands, reads: Number(/total_reads_processed:(\d+)/.exec(stats)?.[1] ?? 0) };
}

/** Sends `requests` with `connections` in flight; every answer must be 2xx. */
async function send(url: string, requests: RequestParts[], connections: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < requests.length) {
      const r = requests[next++];
      if (!r) break;
      const res = await fetch(url, { method: 'POST', headers: r.headers ?? {}, body: r.body ?? '' });
      await res.arrayBuffer();
      if (res.status >= 300) throw new Error(`ingest answered ${res.status}`);
    }
  };
  await Promise.all(Array.from({ length: connections }, worker));
}

/** One phase: a fresh ingest target under strace, the requests sent, the counters' differences. */
async function phase(
  name: string,
  requests: RequestParts[],
  events: number,
  connections: number,
): Promise<Counts> {
  const dir = await mkdtemp(path.join(tmpdir(), 'ingest-costs-'));
  const redis = await startRedis();
  const peers = await startChild('bench/support/peers.ts');
  const trace = path.join(dir, 'strace.txt');
  const targets = await startChild(args.targets, {
    wrapper: ['strace', '-f', '-c', '-e', 'trace=fdatasync,fsync', '-o', trace],
    env: {
      BENCH_REDIS_URL: redis.url,
      BENCH_SINK_URL: `${peers.info.sink ?? ''}/`,
      BENCH_LOG_DIR: path.join(dir, 'log'),
    },
  });
  try {
    const sinkBefore = await sinkCount(peers.info.sink ?? '');
    const before = await redisCounters(redis.port);
    await send(targets.info['ingest-file'] ?? '', requests, connections);
    const after = await redisCounters(redis.port);
    const sinkPosts = (await sinkCount(peers.info.sink ?? '')) - sinkBefore;
    // strace writes its summary when the traced node exits: stop node itself, then strace ends.
    const node = execFileSync('pgrep', ['-P', String(targets.child.pid)], { encoding: 'utf8' }).trim();
    process.kill(Number(node.split('\n')[0]), 'SIGTERM');
    await targets.stop();
    const summary = await readFile(trace, 'utf8');
    const fdatasyncs = [
      ...summary.matchAll(/^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?f(?:data)?sync$/gm),
    ]
      .map((m) => Number(m[1]))
      .reduce((a, b) => a + b, 0);
    process.stderr.write(`${name}: done\n`);
    return {
      requests: requests.length,
      events,
      redisCommands: after.commands - before.commands,
      redisReads: after.reads - before.reads,
      fdatasyncs,
      sinkPosts,
    };
  } finally {
    await targets.stop();
    await peers.stop();
    await redis.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

async function sinkCount(url: string): Promise<number> {
  const res = await fetch(`${url}/stats`);
  return ((await res.json()) as { sink: number }).sink;
}

const stream = transactionStream({ seed: 21, customers: 2000, from: Date.now() - 100 * DAY_MS });
let seq = 0;
const singles = Array.from({ length: EVENTS }, () => rawBinary(stream.next(), `cost-${seq++}`));
const batches = Array.from({ length: Math.ceil(EVENTS / BATCH) }, () => {
  const txs: GeneratedTransaction[] = [];
  for (let i = 0; i < BATCH; i++) txs.push(stream.next());
  return rawBatch(txs, `costb-${seq++}`);
});
const rows: [string, Counts][] = [
  [
    `single events, ${args.connections} connections`,
    await phase('single', singles, EVENTS, Number(args.connections)),
  ],
  [
    `batches of ${BATCH}, ${args['batch-connections']} connections`,
    await phase('batch', batches, batches.length * BATCH, Number(args['batch-connections'])),
  ],
];

const per = (n: number, events: number) => (n / events).toFixed(n / events < 0.1 ? 3 : 2);
console.log(`### What ingest does per event (${args.targets})\n`);
console.log(
  `${EVENTS} transactions to the file log, sent with every request different and new; counted on the ingest target: ` +
    'Redis commands (INFO commandstats) and socket reads Redis processed (INFO stats total_reads_processed: ' +
    'one per round trip of a pipelined burst), fdatasync/fsync calls (strace -f -c), posts the K_SINK peer received.\n',
);
console.log(
  '| load | requests | events | Redis commands / event | Redis reads / event | fdatasync / event | K_SINK posts / event |',
);
console.log('|---|---:|---:|---:|---:|---:|---:|');
for (const [name, c] of rows) {
  console.log(
    `| ${name} | ${c.requests} | ${c.events} | ${per(c.redisCommands, c.events)} | ${per(c.redisReads, c.events)} | ` +
      `${per(c.fdatasyncs, c.events)} | ${per(c.sinkPosts, c.events)} |`,
  );
}
