// The score benchmark's candidate rows: POST /v1/score by customerId and by candidate transaction, each found at its
// maximum rate and then paced at half of it, one form after the other against the same target.
import { type LoadResult, ms, type RequestParts, runLoad } from './load.ts';
import { type PacedResult, runPacedApart } from './paced.ts';
import { progress } from './workload.ts';
import { runWrk, type WrkResult, wrkAvailable } from './wrk.ts';

/** One request form: a name and the JSON bodies it posts in turn. */
export interface ScoreForm {
  name: string;
  bodies: readonly string[];
}

export interface FormResult {
  name: string;
  /** autocannon flat out with each connection count (3 s each). */
  sweep: { connections: number; requestsPerSecond: number }[];
  connections: number;
  max: LoadResult;
  half: number;
  paced: PacedResult;
  /** wrk paced at the same half rate; null without wrk. */
  wrk: WrkResult | null;
}

/**
 * Each form in turn: an autocannon warm-up, a sweep of connection counts, the best one flat out for `seconds` (the
 * maximum rate), then half of that rate from the paced open-loop generator in its own process and from wrk.
 */
export async function measureForms(o: {
  url: string;
  forms: readonly ScoreForm[];
  sweep: readonly number[];
  seconds: number;
  warmup: number;
}): Promise<FormResult[]> {
  const out: FormResult[] = [];
  for (const form of o.forms) {
    let k = 0;
    const next = (): RequestParts => ({
      headers: { 'content-type': 'application/json' },
      body: form.bodies[(k++ * 7919) % form.bodies.length] as string,
    });
    const load = (name: string, connections: number, seconds: number) =>
      runLoad({ name, url: o.url, next, connections, durationSeconds: seconds });
    progress(`${form.name}: finding the maximum rate`);
    await load('warm-up', o.sweep[0] ?? 16, o.warmup);
    const sweep: { connections: number; requestsPerSecond: number }[] = [];
    for (const c of o.sweep) {
      sweep.push({ connections: c, requestsPerSecond: (await load(form.name, c, 3)).requestsPerSecond });
    }
    const best = [...sweep].sort((a, b) => b.requestsPerSecond - a.requestsPerSecond)[0];
    const connections = best?.connections ?? 16;
    const max = await load(`${form.name}, flat out`, connections, o.seconds);
    const half = Math.max(1, Math.round(max.requestsPerSecond / 2));
    progress(`${form.name}: maximum ${Math.round(max.requestsPerSecond)} req/s; paced at ${half}`);
    const paced = await runPacedApart({
      name: `${form.name}, paced`,
      url: o.url,
      bodies: form.bodies,
      connections: 64,
      rate: half,
      durationSeconds: o.seconds,
    });
    const wrk = wrkAvailable()
      ? await runWrk({
          name: `${form.name}, wrk paced`,
          url: o.url,
          bodies: form.bodies,
          connections: 64,
          durationSeconds: o.seconds,
          rate: half,
        })
      : null;
    out.push({ name: form.name, sweep, connections, max, half, paced, wrk });
  }
  return out;
}

/** The rows side by side, with how they were measured. */
export function printForms(o: {
  machine: string;
  method: string;
  seconds: number;
  results: FormResult[];
}): void {
  console.log('### Score: a candidate transaction beside a customerId\n');
  console.log(`${o.machine}.\n`);
  console.log(`${o.method}\n`);
  console.log(
    '| form | max req/s (autocannon, connections) | half rate req/s | paced p50 ms | paced p99 ms | wrk paced req/s | ' +
      'wrk p50 ms | wrk p99 ms | errors | non-2xx |',
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of o.results) {
    const w = r.wrk;
    const errors = r.max.errors + r.paced.errors + (w?.errors ?? 0);
    const non2xx = r.max.non2xx + r.paced.non2xx + (w?.non2xx ?? 0);
    console.log(
      `| ${r.name} | ${Math.round(r.max.requestsPerSecond)} (${r.connections}) | ${r.half} | ` +
        `${ms(r.paced.p50Ms)} | ${ms(r.paced.p99Ms)} | ${w ? Math.round(w.requestsPerSecond) : '–'} | ` +
        `${w ? ms(w.p50Ms) : '–'} | ${w ? ms(w.p99Ms) : '–'} | ${errors} | ${non2xx} |`,
    );
  }
  const sweeps = o.results
    .map(
      (r) =>
        `${r.name}: ${r.sweep.map((s) => `${s.connections} → ${Math.round(s.requestsPerSecond)}`).join(', ')}`,
    )
    .join('; ');
  const lags = o.results.map((r) => ms(r.paced.issueLagP99Ms)).join(', ');
  console.log(
    `\nSweep (connections → req/s, 3 s each): ${sweeps}. The paced generator issued its requests within ${lags} ms ` +
      'of their schedule (p99, in row order).',
  );
}
