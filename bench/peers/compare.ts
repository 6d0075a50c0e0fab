// Side-by-side load for the peers' comparisons: every target gets the same generator, the same requests and the same
// connection counts; flat out to find each one's saturation throughput, then paced at one rate for all.
import { type LoadResult, medianBy, ms, type RequestParts, runLoad } from '../support/load.ts';
import { type PacedResult, runPacedApart } from '../support/paced.ts';
import { progress } from '../support/workload.ts';
import { runWrk, wrkAvailable } from '../support/wrk.ts';

/** A target and what it is sent: fixed JSON bodies posted in turn, or a fresh request each time. */
export type Target =
  | { name: string; url: string; bodies: readonly string[] }
  | { name: string; url: string; next: () => RequestParts };

export interface CompareOptions {
  seconds: number;
  rounds: number;
  /** Connection counts tried in the first round; later rounds use each target's best. */
  sweep?: readonly number[];
}

export interface Saturation {
  name: string;
  /** The connection count that gave the most throughput in the first round. */
  connections: number;
  /** Every round's run at that count (the first round's best of the sweep). */
  rounds: LoadResult[];
  /** The round with the median throughput. */
  median: LoadResult;
  /** Which generator drove it. */
  generator: 'wrk' | 'autocannon';
}

export interface Paced {
  name: string;
  rate: number;
  rounds: PacedResult[];
  median: PacedResult;
}

const DEFAULT_SWEEP = [4, 16, 64] as const;
const JSON_HEADERS = { 'content-type': 'application/json' };

function generatorOf(target: Target): 'wrk' | 'autocannon' {
  return 'bodies' in target && wrkAvailable() ? 'wrk' : 'autocannon';
}

/** One flat-out run: wrk for fixed bodies when it is installed, autocannon otherwise. */
async function flatOut(target: Target, connections: number, seconds: number): Promise<LoadResult> {
  const name = target.name;
  if ('next' in target) {
    return runLoad({ name, url: target.url, next: target.next, connections, durationSeconds: seconds });
  }
  if (generatorOf(target) === 'wrk') {
    return runWrk({ name, url: target.url, bodies: target.bodies, connections, durationSeconds: seconds });
  }
  return runLoad({
    name,
    url: target.url,
    headers: JSON_HEADERS,
    requests: target.bodies.map((body) => ({ body })),
    connections,
    durationSeconds: seconds,
  });
}

/** Targets in turn, reversed every other round, so that a slow drift of the machine does not favour one of them. */
function order<T>(items: readonly T[], round: number): T[] {
  return round % 2 === 0 ? [...items] : [...items].reverse();
}

/**
 * Each target's throughput at saturation: a short warm-up each, then in the first round every connection count of
 * the sweep, keeping the best; later rounds run at that count. The median round is the figure; all are reported.
 */
export async function saturate(
  targets: readonly Target[],
  opts: CompareOptions,
): Promise<Map<string, Saturation>> {
  const warmup = Math.min(2, opts.seconds);
  for (const t of targets) await flatOut(t, 16, warmup);
  const best = new Map<string, { connections: number; rounds: LoadResult[] }>();
  for (let round = 0; round < opts.rounds; round++) {
    for (const t of order(targets, round)) {
      const prior = best.get(t.name);
      if (prior) {
        prior.rounds.push(await flatOut(t, prior.connections, opts.seconds));
        continue;
      }
      let top: { connections: number; result: LoadResult } | null = null;
      for (const connections of opts.sweep ?? DEFAULT_SWEEP) {
        const result = await flatOut(t, connections, opts.seconds);
        progress(`${t.name}: ${Math.round(result.requestsPerSecond)} req/s with ${connections} connections`);
        if (!top || result.requestsPerSecond > top.result.requestsPerSecond) top = { connections, result };
      }
      if (!top) throw new Error('the connection sweep is empty');
      best.set(t.name, { connections: top.connections, rounds: [top.result] });
    }
  }
  const out = new Map<string, Saturation>();
  for (const t of targets) {
    const b = best.get(t.name);
    const mid = b && medianBy(b.rounds, (r) => r.requestsPerSecond);
    if (!b || !mid) throw new Error(`no rounds for ${t.name}`);
    out.set(t.name, { name: t.name, ...b, median: mid, generator: generatorOf(t) });
  }
  return out;
}

/**
 * Each target paced at `rate` requests per second by the open-loop generator (bench/support/paced.ts, in a process
 * of its own): latency counts from each request's scheduled issue, so a server that falls behind shows it.
 */
export async function pace(
  targets: readonly (Target & { bodies: readonly string[] })[],
  rate: number,
  opts: CompareOptions,
): Promise<Map<string, Paced>> {
  const rounds = new Map<string, PacedResult[]>(targets.map((t) => [t.name, []]));
  for (let round = 0; round < opts.rounds; round++) {
    for (const t of order(targets, round)) {
      const result = await runPacedApart({
        name: t.name,
        url: t.url,
        rate,
        durationSeconds: opts.seconds,
        connections: 64,
        bodies: t.bodies,
      });
      progress(`${t.name} paced at ${Math.round(rate)} req/s: p99 ${ms(result.p99Ms)} ms`);
      rounds.get(t.name)?.push(result);
    }
  }
  const out = new Map<string, Paced>();
  for (const [name, results] of rounds) {
    const mid = medianBy(results, (r) => r.p99Ms);
    if (!mid) throw new Error(`no paced rounds for ${name}`);
    out.set(name, { name, rate, rounds: results, median: mid });
  }
  return out;
}

/** Whole requests per second, with a thin space between thousands. */
export function perSecond(x: number): string {
  return Math.round(x)
    .toString()
    .replace(/\B(?=(\d{3})+(?!\d))/g, '\u2009');
}

/** "a–b" over rounds. */
function spread(values: readonly number[], format: (x: number) => string): string {
  if (values.length < 2) return format(values[0] ?? Number.NaN);
  return `${format(Math.min(...values))}–${format(Math.max(...values))}`;
}

/** The saturation table: median round, the rounds' range, latency at saturation, failures. */
export function saturationTable(rows: readonly Saturation[], unit = 'req/s', perRequest = 1): string {
  const lines = [
    `| server | generator | connections | ${unit} (median round) | rounds | p50 ms | p99 ms | errors | non-2xx |`,
    '|---|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const s of rows) {
    const m = s.median;
    const failures = (f: (r: LoadResult) => number) => s.rounds.reduce((n, r) => n + f(r), 0);
    lines.push(
      `| ${s.name} | ${s.generator} | ${s.connections} | ${perSecond(m.requestsPerSecond * perRequest)} | ` +
        `${spread(
          s.rounds.map((r) => r.requestsPerSecond * perRequest),
          perSecond,
        )} | ${ms(m.p50Ms)} | ${ms(m.p99Ms)} | ${failures((r) => r.errors)} | ${failures((r) => r.non2xx)} |`,
    );
  }
  return lines.join('\n');
}

/** The paced table: each server at the same rate, median round by p99, the rounds' p99 range. */
export function pacedTable(rows: readonly Paced[]): string {
  const lines = [
    '| server | paced at req/s | held req/s | p50 ms | p90 ms | p99 ms (median round) | rounds’ p99 | generator lag p99 ms | errors | non-2xx |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const p of rows) {
    const m = p.median;
    lines.push(
      `| ${p.name} | ${perSecond(p.rate)} | ${perSecond(m.requestsPerSecond)} | ${ms(m.p50Ms)} | ${ms(m.p90Ms)} | ` +
        `${ms(m.p99Ms)} | ${spread(
          p.rounds.map((r) => r.p99Ms),
          ms,
        )} | ${ms(m.issueLagP99Ms)} | ${p.rounds.reduce((n, r) => n + r.errors, 0)} | ` +
        `${p.rounds.reduce((n, r) => n + r.non2xx, 0)} |`,
    );
  }
  return lines.join('\n');
}

/** Flywheel's figure over the peer's, as the summary writes it. */
export function ratio(flywheel: number, peer: number): string {
  const r = flywheel / peer;
  return Number.isFinite(r) ? `${r.toFixed(2)}×` : '–';
}
