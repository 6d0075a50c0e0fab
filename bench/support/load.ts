// Load generation for the benchmarks: autocannon against loopback, bounded in time, with real percentiles.
import os from 'node:os';
import autocannon from 'autocannon';

export interface LoadResult {
  name: string;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  non2xx: number;
}

export interface LoadSpec {
  name: string;
  url: string;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  /** Per-request bodies/headers, cycled (e.g. a different customer each time). */
  requests?: { headers?: Record<string, string>; body?: string; path?: string }[];
  connections?: number;
  durationSeconds?: number;
  /** Requests per second to hold (autocannon overallRate); unset = as fast as possible. */
  rate?: number;
}

/** Runs one autocannon load and returns throughput and latency percentiles (ms). */
export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const opts: autocannon.Options = {
    url: spec.url,
    method: spec.method ?? 'POST',
    connections: spec.connections ?? 32,
    duration: spec.durationSeconds ?? 8,
    ...(spec.headers ? { headers: spec.headers } : {}),
    ...(spec.body !== undefined ? { body: spec.body } : {}),
    ...(spec.rate ? { overallRate: spec.rate } : {}),
  };
  if (spec.requests) {
    opts.requests = spec.requests.map((r) => ({ method: spec.method ?? 'POST', ...r }));
  }
  const result = await autocannon(opts);
  return {
    name: spec.name,
    requestsPerSecond: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
  };
}

/** The machine line every benchmark table carries. */
export function machine(): string {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  return `${cpu}, ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}`;
}

/** A markdown table of load results, with each row's share of the first row's throughput. */
export function table(results: LoadResult[]): string {
  const base = results[0]?.requestsPerSecond ?? 1;
  const lines = [
    '| target | req/s | p50 ms | p99 ms | vs first | errors | non-2xx |',
    '|---|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of results) {
    lines.push(
      `| ${r.name} | ${Math.round(r.requestsPerSecond)} | ${r.p50Ms} | ${r.p99Ms} | ${((100 * r.requestsPerSecond) / base).toFixed(0)}% | ${r.errors} | ${r.non2xx} |`,
    );
  }
  return lines.join('\n');
}
