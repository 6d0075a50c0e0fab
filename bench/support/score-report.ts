// The score benchmark's markdown: HTTP loads, the in-process path step by step, and cold starts.
import type { ColdStart } from './cold-start.ts';
import { type LoadResult, median, ms } from './load.ts';
import type { PacedResult } from './paced.ts';
import type { InProcessResult, StepTimes } from './score-inprocess.ts';
import type { WrkResult } from './wrk.ts';

export interface ScoreReport {
  machine: string;
  seconds: number;
  warmup: number;
  customers: number;
  historyDays: number;
  seeded: number;
  historyLengths: { min: number; median: number; max: number };
  inProcess: InProcessResult;
  sweep: { connections: number; requestsPerSecond: number }[];
  connections: number;
  http: {
    bare: LoadResult;
    max: LoadResult;
    bursts: LoadResult;
    paced: PacedResult;
    pacedBare: PacedResult;
    lower: PacedResult[];
  };
  /** The second generator's rows (bench/score.ts secondGenerator), or null without wrk. */
  byWrk: WrkResult[] | null;
  half: number;
  cold: { floor: ColdStart[]; tsx: ColdStart[]; packaged: ColdStart[]; bundleKiB: number };
}

const verdict = (ok: boolean) => (ok ? 'met' : 'missed');

/** Prints the three tables and the targets' verdicts. */
export function printScoreReport(r: ScoreReport): void {
  const { bare, max, bursts, paced, pacedBare, lower } = r.http;
  console.log('### Score: POST /v1/score by customerId\n');
  console.log(
    `${r.machine}. A private redis-server (persistence off) on loopback; the targets (bare route and score, one ` +
      'child process), autocannon in the parent and the paced generators in processes of their own all share the same ' +
      'cores.\n',
  );
  console.log(
    `Method: ${r.customers} customers with ${r.historyDays} days of generated history (${r.seeded} events written ` +
      `through featurize; history per customer min ${r.historyLengths.min}, median ${r.historyLengths.median}, ` +
      `max ${r.historyLengths.max}); champions shaped like the trainer's defaults (risk MLP 16-8 with log1p ` +
      'inputs, 4-means segments) registered in the registry on the same Redis. Each request scores one customer ' +
      '(a different one each time): store read, feature vector from the history, both ONNX models. Maximum rate: ' +
      `autocannon after a ${r.warmup} s warm-up, ${r.sweep.map((s) => `${s.connections} connections ${Math.round(s.requestsPerSecond)} req/s`).join(', ')} ` +
      `(3 s each); the best, ${r.connections}, for ${r.seconds} s on each target. Half rate = ${r.half} req/s for ` +
      `${r.seconds} s, two ways: autocannon's overallRate (a per-second quota per connection, sent as a burst at ` +
      "the start of each second, so its latency is that of a burst; autocannon's own corrected p99 is in whole ms), " +
      'and a paced open loop in a process of its own (arrivals spread evenly at 1 ms granularity, up to 64 keep-alive connections, latency ' +
      'from the moment a request is issued, so time spent waiting for a free connection counts). p50/p99 are per ' +
      'request at µs resolution.\n',
  );
  console.log('| target | load | req/s | p50 ms | p99 ms | autocannon p99 ms | errors | non-2xx |');
  console.log('|---|---|---:|---:|---:|---:|---:|---:|');
  const row = (name: string, how: string, l: LoadResult) =>
    console.log(
      `| ${name} | ${how} | ${Math.round(l.requestsPerSecond)} | ${ms(l.p50Ms)} | ${ms(l.p99Ms)} | ` +
        `${l.correctedP99Ms ?? '–'} | ${l.errors} | ${l.non2xx} |`,
    );
  row('bare hono route', `flat out, ${r.connections} connections`, bare);
  row('score', `flat out, ${r.connections} connections`, max);
  row('score', `half rate, autocannon overallRate ${r.half}/s`, bursts);
  row('score', `half rate, paced ${r.half}/s`, paced);
  row('bare hono route', `paced ${r.half}/s`, pacedBare);
  for (const l of lower) row('score', `paced ${Math.round(l.requestsPerSecond)}/s`, l);
  const lags = [paced, pacedBare, ...lower].map((p) => ms(p.issueLagP99Ms)).join(', ');
  console.log(
    `\nThe paced generator issued its requests within ${lags} ms of their schedule (p99, in the order of the ` +
      'paced rows); its latencies start at the moment of issue.',
  );

  if (r.byWrk) {
    console.log(
      "\nThe same targets from Debian's wrk (one C thread; flat out with the same connections, paced with 64 " +
        'connections, each waiting an exponential think time between its response and its next request, set by a ' +
        '2 s calibration run so that the rate holds; latency from the moment wrk writes a request, µs resolution). ' +
        'The feature-vector rows post the vectors of the same customers, so they skip only the store read and the ' +
        'vector; their paced rate is half of their own maximum.\n',
    );
    console.log('| target | load | req/s | p50 ms | p99 ms | think ms | errors | non-2xx |');
    console.log('|---|---|---:|---:|---:|---:|---:|---:|');
    for (const w of r.byWrk)
      console.log(
        `| ${w.name} | ${w.thinkMs === null ? 'wrk' : 'wrk, paced'} | ${Math.round(w.requestsPerSecond)} | ` +
          `${ms(w.p50Ms)} | ${ms(w.p99Ms)} | ${ms(w.thinkMs)} | ${w.errors} | ${w.non2xx} |`,
      );
  } else console.log("\n(wrk is not installed: `apt-get install wrk` adds the second generator's rows.)");

  const ip = r.inProcess;
  console.log(
    `\nIn-process, no HTTP (same store, models and customers; one call at a time after 500 warm-up calls, ` +
      `up to ${ip.sequential.calls} calls or ${r.seconds} s per row; onnxruntime runs on the calling thread):\n`,
  );
  console.log('| path | calls | p50 µs | p99 µs | mean µs | calls/s |');
  console.log('|---|---:|---:|---:|---:|---:|');
  const step = (name: string, t: StepTimes) =>
    console.log(
      `| ${name} | ${t.calls} | ${t.p50Us.toFixed(0)} | ${t.p99Us.toFixed(0)} | ${t.meanUs.toFixed(0)} | ` +
        `${Math.round(t.callsPerSecond)} |`,
    );
  step('store read + feature vector + both ONNX runs', ip.sequential);
  step('store read alone (readCustomers, 1 customer)', ip.steps.read);
  step('feature vector alone (latestVector)', ip.steps.vector);
  step('both ONNX runs alone (scoreRows, 1 row)', ip.steps.onnx);
  console.log(
    `| whole path, ${ip.concurrent.concurrency} calls in flight | | | | | ${Math.round(ip.concurrent.callsPerSecond)} |`,
  );

  const cold = (name: string, list: ColdStart[]) => {
    const ready = list.map((c) => c.readyMs);
    console.log(
      `| ${name} | ${list.length} | ${median(list.map((c) => c.listeningMs)).toFixed(0)} | ` +
        `${median(ready).toFixed(0)} | ${Math.min(...ready).toFixed(0)}–${Math.max(...ready).toFixed(0)} | ` +
        `${median(list.map((c) => c.rssMiB)).toFixed(0)} |`,
    );
  };
  console.log(
    '\nCold start: a new score process each round (REDIS_URL at the same redis-server, champions registered), ' +
      'from spawn to the first HTTP answer and to `/health/readiness` 200 (both champions fetched from the ' +
      'registry and loaded), polled every 2 ms; RSS from /proc/<pid>/status (VmRSS) once ready. One discarded ' +
      `round first (warm file cache). Packaged: the bundle \`npm run package\` makes (knative/package.ts, built ` +
      `into out/bench-package; ${r.cold.bundleKiB.toFixed(0)} KiB) run with plain node, as a Knative pod runs it.\n`,
  );
  console.log(
    '| form | rounds | listening ms (median) | ready ms (median) | ready ms (min–max) | RSS MiB (median) |',
  );
  console.log('|---|---:|---:|---:|---:|---:|');
  cold('reference: a bare node:http server (node -e)', r.cold.floor);
  cold('node --import tsx functions/score/main.ts', r.cold.tsx);
  cold('packaged: node functions/score/index.js', r.cold.packaged);

  const pacedOk = paced.p99Ms < 2 && paced.errors === 0 && paced.non2xx === 0;
  const wrkPaced = r.byWrk?.[1];
  const coldMs = median(r.cold.packaged.map((c) => c.readyMs));
  console.log(
    `\nTargets: p99 under 2 ms at half the maximum rate: paced ${ms(paced.p99Ms)} ms (${verdict(pacedOk)}), ` +
      `autocannon overallRate ${ms(bursts.p99Ms)} ms (${verdict(bursts.p99Ms < 2)})` +
      (wrkPaced ? `, wrk paced ${ms(wrkPaced.p99Ms)} ms (${verdict(wrkPaced.p99Ms < 2)})` : '') +
      '. Cold start under 300 ms: ' +
      `packaged ${coldMs.toFixed(0)} ms (${verdict(coldMs < 300)}), under tsx ` +
      `${median(r.cold.tsx.map((c) => c.readyMs)).toFixed(0)} ms (${verdict(median(r.cold.tsx.map((c) => c.readyMs)) < 300)}). ` +
      `score keeps ${((100 * max.requestsPerSecond) / bare.requestsPerSecond).toFixed(0)}% of the bare route's ` +
      'maximum requests/s.',
  );
}
