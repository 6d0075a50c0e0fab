// `npm run bench`: every benchmark in sequence, each in its own process; the combined markdown goes to out/bench.md.
// Run: npm run bench [-- name…] [-- --timeout 900]   (names: see BENCHMARKS; none = all)
import { spawn, spawnSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

/** Every benchmark, in the order they run: name, script (and its arguments, if any), what it measures. */
export const BENCHMARKS: readonly { name: string; script: string; args?: readonly string[]; what: string }[] =
  [
    { name: 'runtime', script: 'bench/runtime.ts', what: 'serve() echo vs the bare hono route' },
    { name: 'ingest-featurize', script: 'bench/ingest-featurize.ts', what: 'ingest and featurize over HTTP' },
    {
      name: 'ingest-costs',
      script: 'bench/ingest-costs.ts',
      what: "ingest's Redis round trips, fdatasyncs and K_SINK posts per event",
    },
    { name: 'score', script: 'bench/score.ts', what: 'POST /v1/score, in-process scoring, cold start' },
    { name: 'broker', script: 'bench/broker.ts', what: 'the local broker' },
    { name: 'store', script: 'bench/store.ts', what: 'the online store (applyCustomerEvent)' },
    { name: 'log', script: 'bench/log.ts', what: 'event-log appends' },
    { name: 'detect-drift', script: 'bench/detect-drift.ts', what: 'detect-drift per event' },
    { name: 'training', script: 'bench/training.ts', what: 'training and ONNX scoring throughput' },
    {
      name: 'ingest-kafka',
      script: 'bench/ingest-featurize.ts',
      args: [
        '--featurize',
        'off',
        '--kafka',
        'both',
        '--seconds',
        '4',
        '--warmup',
        '1',
        '--ingest-rounds',
        '3',
      ],
      what: 'ingest over HTTP with the event log on real Apache Kafka vs the file log',
    },
    {
      name: 'log-kafka',
      script: 'bench/log.ts',
      args: ['--kafka', 'apache', '--batches', '1,100', '--seconds', '2', '--rounds', '3'],
      what: 'event-log appends on real Apache Kafka vs the file log',
    },
    {
      name: 'redis-cluster',
      script: 'bench/redis-cluster.ts',
      what: 'featurize and score on a Redis Cluster vs a single redis-server',
    },
    {
      name: 'growth',
      script: 'bench/growth.ts',
      what: 'featurize and score at 10 k to 1 M customers and 10 to 1000 events of history; memory per customer',
    },
    {
      name: 'backfill',
      script: 'bench/backfill.ts',
      args: ['--events', '100000', '--customers', '4000'],
      what: 'backfill events/s vs live featurize over HTTP',
    },
  ];

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: { timeout: { type: 'string', default: '900' } },
});
const TIMEOUT_MS = Number(args.timeout) * 1000;
const unknown = positionals.filter((p) => !BENCHMARKS.some((b) => b.name === p));
if (unknown.length > 0) {
  process.stderr.write(
    `unknown benchmark(s) ${unknown.join(', ')}; known: ${BENCHMARKS.map((b) => b.name).join(', ')}\n`,
  );
  process.exit(2);
}
const selected = BENCHMARKS.filter((b) => positionals.length === 0 || positionals.includes(b.name));
const root = path.resolve(import.meta.dirname, '..');
const outFile = path.join(root, 'out', 'bench.md');

const loadavg = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

/** The machine this run is on, once at the top: CPU, cores, memory, kernel, Node, Redis, date and load. */
function machineLine(): string {
  const redis =
    spawnSync('redis-server', ['--version'])
      .stdout?.toString()
      .match(/v=(\S+)/)?.[1] ?? 'not found';
  return (
    `${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} cores, ` +
    `${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Linux ${os.release()}, Node ${process.version}, ` +
    `redis-server ${redis}; started ${new Date().toISOString().slice(0, 19).replace('T', ' ')} UTC ` +
    `with load average ${loadavg()} (1, 5, 15 min)`
  );
}

/** Runs one benchmark script; its stdout (the markdown) is captured and echoed, stderr (progress) passes through. */
function runOne(
  script: string,
  scriptArgs: readonly string[],
): Promise<{ code: number | null; out: string; seconds: number; timedOut: boolean }> {
  return new Promise((resolve) => {
    const started = performance.now();
    // Its own process group, so a timeout or Ctrl-C ends the benchmark's servers and peers along with it.
    const child = spawn(process.execPath, ['--import', 'tsx', script, ...scriptArgs], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'inherit'],
      detached: true,
    });
    const killGroup = (signal: NodeJS.Signals) => {
      if (child.pid !== undefined) {
        try {
          process.kill(-child.pid, signal);
        } catch {
          // already gone
        }
      }
    };
    const interrupt = () => {
      killGroup('SIGKILL');
      process.exit(130);
    };
    process.once('SIGINT', interrupt);
    process.once('SIGTERM', interrupt);
    let out = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      out += chunk;
      process.stdout.write(chunk);
    });
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup('SIGKILL');
    }, TIMEOUT_MS);
    child.once('exit', () => killGroup('SIGKILL')); // anything the benchmark left running
    child.once('close', (code) => {
      clearTimeout(timer);
      process.off('SIGINT', interrupt);
      process.off('SIGTERM', interrupt);
      resolve({ code, out, seconds: (performance.now() - started) / 1000, timedOut });
    });
  });
}

const sections: string[] = [
  '# Flywheel benchmarks\n',
  `Machine: ${machineLine()}.\n`,
  'Each benchmark below ran in its own process, one after the other, on loopback only; each table states its own ' +
    'method (tool, connections, duration, warm-up) and the load average when it started. Other work on the ' +
    'machine shows in the load average; the figures are from this one run.\n',
];
const summary: string[] = [
  '| benchmark | measures | result | wall s | load average at start |',
  '|---|---|---|---:|---|',
];
await mkdir(path.dirname(outFile), { recursive: true });
const save = () =>
  writeFile(outFile, `${[...sections, '## Summary\n', summary.join('\n'), ''].join('\n')}\n`);
process.stdout.write(`${sections.join('\n')}\n`);

let failures = 0;
for (const b of selected) {
  const load = loadavg();
  const command = ['npx tsx', b.script, ...(b.args ?? [])].join(' ');
  const header = `## ${b.name}: ${b.what}\n\n\`${command}\` — started with load average ${load}.\n`;
  process.stdout.write(`\n${header}\n`);
  process.stderr.write(`\n=== ${b.name} (${b.script}) ===\n`);
  const r = await runOne(b.script, b.args ?? []);
  const ok = r.code === 0 && !r.timedOut;
  if (!ok) failures++;
  const status = r.timedOut
    ? `timed out after ${args.timeout} s`
    : r.code === 0
      ? 'ok'
      : `failed (exit code ${r.code})`;
  sections.push(header, r.out.trim(), ok ? '' : `\n**${status}**; see the console for its errors.\n`);
  summary.push(`| ${b.name} | ${b.what} | ${status} | ${r.seconds.toFixed(0)} | ${load} |`);
  await save();
}
process.stdout.write(`\n## Summary\n\n${summary.join('\n')}\n\nWritten to ${path.relative(root, outFile)}\n`);
process.exit(failures === 0 ? 0 : 1);
