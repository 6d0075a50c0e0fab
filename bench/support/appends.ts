// Appending straight to an event log, with no function in front: the limit ingest's appends are measured against.
import type { EventLog, LogRecord } from '../../shared/log/types.ts';

export interface AppendResult {
  log: string;
  batch: number;
  appends: number;
  records: number;
  seconds: number;
  /** Per append call, ms. */
  p50: number;
  p90: number;
  p99: number;
}

/**
 * Appends batches of `batch` records taken in turn from `pool`, `concurrency` calls in flight, until `records`
 * records or `seconds` pass, after 3 warm-up appends (connections, topic, files).
 */
export async function measureAppends(o: {
  name: string;
  events: EventLog;
  batch: number;
  pool: readonly LogRecord[];
  concurrency: number;
  records: number;
  seconds: number;
}): Promise<AppendResult> {
  const make = (i: number) =>
    Array.from({ length: o.batch }, (_, j) => o.pool[(i * o.batch + j) % o.pool.length] as LogRecord);
  for (let i = 0; i < 3; i++) await o.events.append(make(i));
  const wanted = Math.ceil(o.records / o.batch);
  const latencies: number[] = [];
  let issued = 0;
  const start = process.hrtime.bigint();
  const deadline = Date.now() + o.seconds * 1000;
  const worker = async () => {
    while (issued < wanted && Date.now() < deadline) {
      const records = make(issued++);
      const t0 = process.hrtime.bigint();
      await o.events.append(records);
      latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
  };
  await Promise.all(Array.from({ length: o.concurrency }, worker));
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return {
    log: o.name,
    batch: o.batch,
    appends: latencies.length,
    records: latencies.length * o.batch,
    seconds,
    p50: at(0.5),
    p90: at(0.9),
    p99: at(0.99),
  };
}
