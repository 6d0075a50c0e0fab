// Debian's wrk (C, one thread, epoll) as a second load generator: it costs the shared cores far less than a Node
// generator does. Flat out, or paced: each connection waits an exponential think time between its requests.
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { runToResult } from './child.ts';
import type { LoadResult } from './load.ts';

export interface WrkSpec {
  name: string;
  url: string;
  /** JSON bodies (one line each), POSTed in turn from a random starting point. */
  bodies: readonly string[];
  connections: number;
  durationSeconds: number;
  /** Requests per second to hold (> 0); unset = flat out. */
  rate?: number;
}

export interface WrkResult extends LoadResult {
  /** Paced runs: the mean think time each connection waited between its requests (ms). */
  thinkMs: number | null;
}

/** Whether `wrk` is on the PATH (`apt-get install wrk`); the benchmarks skip its rows without it. */
export function wrkAvailable(): boolean {
  return spawnSync('wrk', ['--version'], { stdio: 'ignore' }).error === undefined;
}

// wrk calls request() for every request, delay() (paced only: wrk sees whether the script defines it) before each,
// and done() at the end, which prints one line this module parses.
const script = (paced: boolean) => `
local bodies, think, i = {}, 0, 0
function init(args)
  for line in io.lines(args[1]) do bodies[#bodies + 1] = line end
  think = tonumber(args[2])
  i = math.random(0, #bodies - 1)
end
function request()
  i = i % #bodies + 1
  return wrk.format("POST", nil, { ["content-type"] = "application/json" }, bodies[i])
end
${
  paced
    ? `function delay()
  return math.floor(-math.log(1 - math.random()) * think + 0.5)
end`
    : ''
}
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRK {"requests":%d,"durationUs":%d,"p50Us":%d,"p90Us":%d,"p99Us":%d,"errors":%d,"non2xx":%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, e.status))
end
`;

const Line = z.object({
  requests: z.number(),
  durationUs: z.number(),
  p50Us: z.number(),
  p90Us: z.number(),
  p99Us: z.number(),
  errors: z.number(),
  non2xx: z.number(),
});

/** A run's figures from the JSON its script's done() prints (`non2xx`: wrk counts statuses above 399 only). */
function toResult(name: string, line: unknown, thinkMs: number | null): WrkResult {
  const r = Line.parse(line);
  return {
    name,
    requestsPerSecond: r.requests / (r.durationUs / 1e6),
    requests: r.requests,
    p50Ms: r.p50Us / 1000,
    p90Ms: r.p90Us / 1000,
    p99Ms: r.p99Us / 1000,
    correctedP99Ms: null,
    errors: r.errors,
    non2xx: r.non2xx,
    thinkMs,
  };
}

async function wrk(dir: string, spec: WrkSpec, seconds: number, thinkMs: number | null): Promise<WrkResult> {
  const args = ['-t1', `-c${spec.connections}`, `-d${seconds}s`, '-s', path.join(dir, 'bench.lua')];
  args.push(spec.url, '--', path.join(dir, 'bodies.txt'), String(thinkMs ?? 0));
  return toResult(spec.name, await runToResult('wrk', args, 'WRK'), thinkMs);
}

/**
 * One wrk run. Paced (`rate` set), each of the connections waits an exponential think time between a response and
 * its next request, so arrivals are close to Poisson while few requests are in flight; a short calibration run first
 * measures the response time, and the think time is set so that connections / (think + response) = rate.
 */
export async function runWrk(spec: WrkSpec): Promise<WrkResult> {
  if (spec.bodies.some((b) => b.includes('\n'))) throw new Error('wrk bodies must be single lines');
  const { rate } = spec;
  if (rate !== undefined && !(rate > 0)) throw new Error(`rate must be above 0, got ${rate}`);
  const dir = await mkdtemp(path.join(tmpdir(), 'bench-wrk-'));
  try {
    await writeFile(path.join(dir, 'bench.lua'), script(rate !== undefined));
    await writeFile(path.join(dir, 'bodies.txt'), `${spec.bodies.join('\n')}\n`);
    if (rate === undefined) return await wrk(dir, spec, spec.durationSeconds, null);
    const cycleMs = (spec.connections / rate) * 1000;
    const trial = await wrk(dir, spec, 2, cycleMs);
    const responseMs = Math.max(0, (spec.connections / trial.requestsPerSecond) * 1000 - cycleMs);
    if (responseMs >= cycleMs) {
      throw new Error(
        `${spec.name}: ${spec.connections} connections cannot hold ${rate} req/s with ${responseMs.toFixed(2)} ms ` +
          'responses; use more connections',
      );
    }
    return await wrk(dir, spec, spec.durationSeconds, cycleMs - responseMs);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
