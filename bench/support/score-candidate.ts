// The score benchmark's candidate rows: POST /v1/score by customerId and by candidate transaction, each at its maximum
// rate and paced at half of it, the two forms alternating round by round so that both see the same machine.
import { scoreCandidate } from '../../functions/score/candidate.ts';
import type { ModelSet } from '../../functions/score/models.ts';
import { champions, scoreRows } from '../../functions/score/scorer.ts';
import { defaultConfig } from '../../shared/config/index.ts';
import type { Transaction } from '../../shared/events/index.ts';
import { customerFeatures, latestVector } from '../../shared/features/index.ts';
import type { OnlineStore } from '../../shared/store/index.ts';
import { type LoadResult, median, ms, percentile, type RequestParts, runLoad } from './load.ts';
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
  /** One flat-out run per round at the best connection count; the maximum is their median. */
  max: LoadResult[];
  half: number;
  /** Per round, half the maximum from the paced open-loop generator and from wrk (none without wrk). */
  paced: PacedResult[];
  wrk: WrkResult[];
}

/**
 * Each form's best connection count (an autocannon sweep), then `rounds` rounds of: each form flat out for `seconds`;
 * then `rounds` rounds of each form paced at half its median maximum, by the paced generator and by wrk. The forms
 * alternate within every round, so a neighbour's load on the shared cores falls on both alike.
 */
export async function measureForms(o: {
  url: string;
  forms: readonly ScoreForm[];
  sweep: readonly number[];
  seconds: number;
  warmup: number;
  rounds: number;
}): Promise<FormResult[]> {
  const load = (form: ScoreForm, connections: number, seconds: number) => {
    let k = 0;
    const next = (): RequestParts => ({
      headers: { 'content-type': 'application/json' },
      body: form.bodies[(k++ * 7919) % form.bodies.length] as string,
    });
    return runLoad({ name: form.name, url: o.url, next, connections, durationSeconds: seconds });
  };
  const results: FormResult[] = [];
  for (const form of o.forms) {
    progress(`${form.name}: warm-up and connection sweep`);
    await load(form, o.sweep[0] ?? 16, o.warmup);
    const sweep: { connections: number; requestsPerSecond: number }[] = [];
    for (const c of o.sweep)
      sweep.push({ connections: c, requestsPerSecond: (await load(form, c, 3)).requestsPerSecond });
    const best = [...sweep].sort((a, b) => b.requestsPerSecond - a.requestsPerSecond)[0];
    results.push({
      name: form.name,
      sweep,
      connections: best?.connections ?? 16,
      max: [],
      half: 0,
      paced: [],
      wrk: [],
    });
  }
  for (let round = 0; round < o.rounds; round++) {
    progress(`maximum rates, round ${round + 1} of ${o.rounds}`);
    for (const [i, form] of o.forms.entries()) {
      const r = results[i] as FormResult;
      r.max.push(await load(form, r.connections, o.seconds));
    }
  }
  for (const r of results)
    r.half = Math.max(1, Math.round(median(r.max.map((m) => m.requestsPerSecond)) / 2));
  progress(`half rates: ${results.map((r) => `${r.name} ${r.half}/s`).join(', ')}`);
  for (let round = 0; round < o.rounds; round++) {
    progress(`paced at half, round ${round + 1} of ${o.rounds}`);
    for (const [i, form] of o.forms.entries()) {
      const r = results[i] as FormResult;
      const spec = {
        url: o.url,
        bodies: form.bodies,
        connections: 64,
        rate: r.half,
        durationSeconds: o.seconds,
      };
      r.paced.push(await runPacedApart({ name: `${form.name}, paced`, ...spec }));
      if (wrkAvailable()) r.wrk.push(await runWrk({ name: `${form.name}, wrk paced`, ...spec }));
    }
  }
  return results;
}

/** Per-call times of the same work without HTTP, one call at a time, µs. */
export interface InProcessForm {
  name: string;
  calls: number;
  p50Us: number;
  p99Us: number;
  meanUs: number;
}

/**
 * The request path of each form without HTTP, sequential: by customerId (readCustomers, latestVector, both ONNX
 * runs) and by candidate transaction (normalise, previewCustomerEvent, the vector, both ONNX runs), in alternating
 * blocks of 1 000 calls after 500 warm-up calls each, `calls` per form in all.
 */
export async function measureInProcessForms(o: {
  store: OnlineStore;
  models: ModelSet;
  customers: readonly string[];
  transactions: readonly Transaction[];
  calls: number;
}): Promise<InProcessForm[]> {
  const set = customerFeatures;
  const config = defaultConfig();
  const deps = {
    store: o.store,
    featureSet: set,
    allowedLatenessMs: config.ALLOWED_LATENESS_MS,
    maxClockSkewMs: config.MAX_CLOCK_SKEW_MS,
    now: Date.now,
  };
  let k = 0;
  const byCustomer = async () => {
    const id = o.customers[(k++ * 7919) % o.customers.length] as string;
    const champs = await champions(o.models);
    const state = (await o.store.readCustomers([id], set)).get(id);
    if (!state) throw new Error(`customer ${id} has no history`);
    return scoreRows(champs, [latestVector(set, state)]);
  };
  const byTransaction = async () => {
    const tx = o.transactions[(k++ * 7919) % o.transactions.length] as Transaction;
    return scoreCandidate(deps, await champions(o.models), tx);
  };
  const forms = [
    { name: 'by customerId', step: byCustomer, samples: [] as number[] },
    { name: 'by candidate transaction', step: byTransaction, samples: [] as number[] },
  ];
  for (const f of forms) for (let i = 0; i < 500; i++) await f.step();
  while ((forms[0]?.samples.length ?? 0) < o.calls) {
    for (const f of forms) {
      for (let i = 0; i < 1000; i++) {
        const t0 = performance.now();
        await f.step();
        f.samples.push(performance.now() - t0);
      }
    }
  }
  return forms.map((f) => {
    const sorted = f.samples.sort((a, b) => a - b);
    return {
      name: f.name,
      calls: sorted.length,
      p50Us: percentile(sorted, 0.5) * 1000,
      p99Us: percentile(sorted, 0.99) * 1000,
      meanUs: (sorted.reduce((a, b) => a + b, 0) / sorted.length) * 1000,
    };
  });
}

const range = (xs: readonly number[], f: (x: number) => string) =>
  `${f(Math.min(...xs))}–${f(Math.max(...xs))}`;

/** The rows side by side (medians over the rounds, with their range), with how they were measured. */
export function printForms(o: {
  machine: string;
  method: string;
  results: FormResult[];
  inProcess: InProcessForm[];
}): void {
  console.log('### Score: a candidate transaction beside a customerId\n');
  console.log(`${o.machine}.\n`);
  console.log(`${o.method}\n`);
  console.log(
    '| form | max req/s (median; rounds) | half rate req/s | paced p50 ms | paced p99 ms (median; rounds) | ' +
      'wrk req/s | wrk p50 ms | wrk p99 ms (median; rounds) | errors | non-2xx |',
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of o.results) {
    const maxes = r.max.map((m) => m.requestsPerSecond);
    const all = [...r.max, ...r.paced, ...r.wrk];
    const wrkCell = (f: (w: WrkResult) => number, fmt: (x: number) => string) =>
      r.wrk.length > 0 ? fmt(median(r.wrk.map(f))) : '–';
    console.log(
      `| ${r.name} | ${Math.round(median(maxes))} (${range(maxes, (x) => String(Math.round(x)))}; ` +
        `${r.connections} connections) | ${r.half} | ${ms(median(r.paced.map((p) => p.p50Ms)))} | ` +
        `${ms(median(r.paced.map((p) => p.p99Ms)))} (${range(
          r.paced.map((p) => p.p99Ms),
          ms,
        )}) | ${wrkCell(
          (w) => w.requestsPerSecond,
          (x) => String(Math.round(x)),
        )} | ` +
        `${wrkCell((w) => w.p50Ms, ms)} | ${wrkCell((w) => w.p99Ms, ms)}` +
        `${
          r.wrk.length > 0
            ? ` (${range(
                r.wrk.map((w) => w.p99Ms),
                ms,
              )})`
            : ''
        } | ` +
        `${all.reduce((a, l) => a + l.errors, 0)} | ${all.reduce((a, l) => a + l.non2xx, 0)} |`,
    );
  }
  const sweeps = o.results
    .map(
      (r) =>
        `${r.name}: ${r.sweep.map((s) => `${s.connections} → ${Math.round(s.requestsPerSecond)}`).join(', ')}`,
    )
    .join('; ');
  const lags = o.results.map((r) => ms(Math.max(...r.paced.map((p) => p.issueLagP99Ms)))).join(', ');
  console.log(
    `\nSweep (connections → req/s, 3 s each): ${sweeps}. The paced generator issued its requests within ${lags} ms ` +
      'of their schedule (worst p99 over the rounds, in row order).\n',
  );
  console.log('In-process, no HTTP (same store, models and bodies; one call at a time):\n');
  console.log('| path | calls | p50 µs | p99 µs | mean µs |');
  console.log('|---|---:|---:|---:|---:|');
  for (const f of o.inProcess)
    console.log(
      `| ${f.name} | ${f.calls} | ${f.p50Us.toFixed(0)} | ${f.p99Us.toFixed(0)} | ${f.meanUs.toFixed(0)} |`,
    );
}
