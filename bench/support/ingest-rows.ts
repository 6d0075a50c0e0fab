// One measured row of an HTTP benchmark: a warm-up, an autocannon load, and (ingest) what reached K_SINK.
import { type LoadResult, medianBy, type RequestParts, runLoad } from './load.ts';
import { progress } from './workload.ts';

export interface Row {
  name: string;
  load: LoadResult;
  eventsPerRequest: number;
  /** Events that reached K_SINK per second (ingest), or null where nothing is published. */
  publishedPerSecond: number | null;
}

export interface RowSpec {
  name: string;
  url: string;
  next: () => RequestParts;
  eventsPerRequest: number;
  connections: number;
  /** Count what the K_SINK peer received (ingest rows). */
  counts: boolean;
}

/**
 * A row measurer: warms the target up for `warmupSeconds`, then loads it for `seconds`; for ingest rows (`counts`)
 * it also counts the events the K_SINK peer at `sinkUrl` received from the start of the load until ingest went quiet.
 */
export function rowMeasurer(opts: { sinkUrl?: string; warmupSeconds: number; seconds: number }) {
  /** Events the sink peer has received so far (what ingest published to K_SINK). */
  async function published(): Promise<number> {
    if (opts.sinkUrl === undefined) throw new Error('an ingest row needs the K_SINK peer (sinkUrl)');
    const res = await fetch(`${opts.sinkUrl}/stats`);
    return ((await res.json()) as { sink: number }).sink;
  }

  /** Waits until the sink count has not moved for 300 ms (bounded: 30 s), so no earlier work runs on. */
  async function quiesce(): Promise<{ count: number; at: number }> {
    let last = await published();
    let lastChange = performance.now();
    for (const until = Date.now() + 30_000; Date.now() < until; ) {
      await new Promise((r) => setTimeout(r, 50));
      const count = await published();
      if (count !== last) {
        last = count;
        lastChange = performance.now();
      } else if (performance.now() - lastChange >= 300) {
        return { count, at: lastChange };
      }
    }
    throw new Error('ingest kept publishing for 30 s after the load stopped');
  }

  return async function measure(spec: RowSpec): Promise<Row> {
    const load = { url: spec.url, next: spec.next, connections: spec.connections };
    await runLoad({ ...load, name: 'warm-up', durationSeconds: opts.warmupSeconds });
    const before = spec.counts ? (await quiesce()).count : 0;
    const started = performance.now();
    const result = await runLoad({ ...load, name: spec.name, durationSeconds: opts.seconds });
    const after = spec.counts ? await quiesce() : null;
    progress(`${spec.name}: ${Math.round(result.requestsPerSecond * spec.eventsPerRequest)} events/s`);
    return {
      name: spec.name,
      load: result,
      eventsPerRequest: spec.eventsPerRequest,
      publishedPerSecond: after ? ((after.count - before) * 1000) / (after.at - started) : null,
    };
  };
}

/** The round with the median requests/s. */
export function medianRow(rounds: readonly Row[]): Row {
  const row = medianBy(rounds, (r) => r.load.requestsPerSecond);
  if (!row) throw new Error('no rounds');
  return row;
}
