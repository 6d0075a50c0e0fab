// Load generation for the benchmarks: autocannon against loopback, bounded in time, with real percentiles.
import os from 'node:os';
import autocannon from 'autocannon';

export interface LoadResult {
  name: string;
  /** Completed requests per second over the run (any status). */
  requestsPerSecond: number;
  /** Completed requests in all. */
  requests: number;
  /** Latency percentiles in ms, from every response's own time (µs resolution). */
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  /** autocannon's own p99 (whole ms; with a rate, corrected for coordinated omission); null where not measured. */
  correctedP99Ms: number | null;
  errors: number;
  non2xx: number;
  /** Responses by status code (autocannon runs only). */
  statuses?: Record<number, number>;
}

/** One request's variable parts. */
export interface RequestParts {
  headers?: Record<string, string>;
  body?: string;
  path?: string;
}

export interface LoadSpec {
  name: string;
  url: string;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  /** Per-request bodies/headers, cycled by each connection on its own. */
  requests?: RequestParts[];
  /** A fresh request every time, shared by all connections (unique ids, a stream of events); wins over `requests`. */
  next?: () => RequestParts;
  connections?: number;
  durationSeconds?: number;
  /** Stop after this many requests (autocannon `amount`; wins over the duration). */
  amount?: number;
  /** Requests per second to hold (autocannon overallRate: a per-second quota, sent as a burst); unset = flat out. */
  rate?: number;
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(sorted.length * q) - 1))] ?? Number.NaN;
}

/** The median item of a list by `key` (nearest rank, the lower middle of an even list; undefined when empty). */
export function medianBy<T>(items: readonly T[], key: (item: T) => number): T | undefined {
  const sorted = [...items].sort((a, b) => key(a) - key(b));
  return sorted[Math.max(0, Math.ceil(sorted.length / 2) - 1)];
}

/** Median of a list (NaN when empty). */
export function median(values: readonly number[]): number {
  return medianBy(values, (v) => v) ?? Number.NaN;
}

/** Runs one autocannon load and returns throughput and latency percentiles (ms). */
export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const method = spec.method ?? 'POST';
  const opts: autocannon.Options = {
    url: spec.url,
    method,
    connections: spec.connections ?? 32,
    duration: spec.durationSeconds ?? 8,
    ...(spec.headers ? { headers: spec.headers } : {}),
    ...(spec.body !== undefined ? { body: spec.body } : {}),
    ...(spec.rate ? { overallRate: spec.rate } : {}),
    ...(spec.amount ? { amount: spec.amount } : {}),
  };
  const next = spec.next;
  if (next) {
    opts.requests = [
      {
        method,
        setupRequest: (req) => {
          const parts = next();
          return {
            ...req,
            headers: { ...req.headers, ...parts.headers },
            ...(parts.body !== undefined ? { body: parts.body } : {}),
            ...(parts.path !== undefined ? { path: parts.path } : {}),
          };
        },
      },
    ];
  } else if (spec.requests) {
    opts.requests = spec.requests.map((r) => ({ method, ...r }));
  }
  let samples = new Float64Array(1 << 16);
  let count = 0;
  const statuses: Record<number, number> = {};
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(opts, (err: unknown, res) => (err ? reject(err) : resolve(res)));
    instance.on('response', (_client, status, _bytes, responseTime) => {
      statuses[status] = (statuses[status] ?? 0) + 1;
      if (count === samples.length) {
        const grown = new Float64Array(samples.length * 2);
        grown.set(samples);
        samples = grown;
      }
      samples[count++] = responseTime;
    });
  });
  const sorted = samples.subarray(0, count).sort();
  return {
    name: spec.name,
    requestsPerSecond: result.requests.total / result.duration,
    requests: result.requests.total,
    p50Ms: percentile(sorted, 0.5),
    p90Ms: percentile(sorted, 0.9),
    p99Ms: percentile(sorted, 0.99),
    correctedP99Ms: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    statuses,
  };
}

/** The machine line every benchmark table carries: CPU, cores, memory, Node, date and the load average now. */
export function machine(): string {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const load = os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
  return (
    `${cpu}, ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ` +
    `${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, load average ${load}`
  );
}

/** Milliseconds for a table cell: two decimals below 10 ms, one above. */
export function ms(x: number | null): string {
  if (x === null || !Number.isFinite(x)) return '–';
  return x < 10 ? x.toFixed(2) : x.toFixed(1);
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
      `| ${r.name} | ${Math.round(r.requestsPerSecond)} | ${ms(r.p50Ms)} | ${ms(r.p99Ms)} | ${((100 * r.requestsPerSecond) / base).toFixed(0)}% | ${r.errors} | ${r.non2xx} |`,
    );
  }
  return lines.join('\n');
}
