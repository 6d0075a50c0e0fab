// Open-loop load at a steady rate: arrivals spread evenly over each second, latency counted from the moment of issue.
import net from 'node:net';
import path from 'node:path';
import { runToResult } from './child.ts';
import type { LoadResult, RequestParts } from './load.ts';
import { percentile } from './load.ts';

export interface PacedSpec {
  name: string;
  url: string;
  /** Requests per second, spread evenly over each second (not sent as a burst). */
  rate: number;
  durationSeconds: number;
  /** Keep-alive connections at most; a request waits for a free one, and that wait counts in its latency. */
  connections: number;
  next: () => RequestParts;
}

export interface PacedResult extends LoadResult {
  /** How late the generator issued requests against their schedule, p99 in ms (its own lag, not the server's). */
  issueLagP99Ms: number;
}

interface Conn {
  socket: net.Socket;
  buf: Buffer;
  /** Issue time of the request in flight on it, or null when idle. */
  issued: number | null;
}

/** Bytes of a complete response at the head of `buf` (Content-Length framing), with its status; null: not yet. */
function complete(buf: Buffer): { bytes: number; status: number } | null {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const head = buf.toString('latin1', 0, end);
  const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
  if (!length?.[1]) throw new Error('paced load needs responses framed by Content-Length');
  const bytes = end + 4 + Number(length[1]);
  return buf.length < bytes ? null : { bytes, status: Number(head.slice(9, 12)) };
}

/**
 * Issues `rate` requests per second for `durationSeconds` (a 1 ms timer issues whatever is due) whether or not
 * earlier ones were answered: an open loop, like independent clients, so a slow response cannot hold the next
 * arrivals back. Plain keep-alive sockets, one request in flight on each; a request that finds every connection busy
 * waits, and the wait counts in its latency (no coordinated omission). Bounded: stragglers get 5 s after the last.
 */
export async function runPaced(spec: PacedSpec): Promise<PacedResult> {
  const target = new URL(spec.url);
  const port = Number(target.port);
  const total = Math.round(spec.rate * spec.durationSeconds);
  const latencies = new Float64Array(total);
  const lags = new Float64Array(total);
  const idle: Conn[] = [];
  const waiting: number[] = [];
  const conns = new Set<Conn>();
  let issuedCount = 0;
  let done = 0;
  let errors = 0;
  let non2xx = 0;
  let lastEnd = 0;
  let stopped = false;
  let allDone: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => {
    allDone = resolve;
  });

  const settle = (issued: number, status: number | null) => {
    lastEnd = performance.now();
    if (status === null) errors++;
    else if (status < 200 || status >= 300) non2xx++;
    latencies[done++] = lastEnd - issued;
    if (done === total) allDone();
  };
  const send = (conn: Conn, issued: number) => {
    const parts = spec.next();
    const body = Buffer.from(parts.body ?? '');
    const headers = Object.entries(parts.headers ?? {})
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('');
    conn.issued = issued;
    const head =
      `POST ${parts.path ?? target.pathname} HTTP/1.1\r\nhost: ${target.host}\r\n${headers}` +
      `content-length: ${body.length}\r\n\r\n`;
    conn.socket.write(Buffer.concat([Buffer.from(head, 'latin1'), body]));
  };
  const release = (conn: Conn) => {
    const next = waiting.shift();
    if (next === undefined) idle.push(conn);
    else send(conn, next);
  };
  const open = (): Conn => {
    const conn: Conn = { socket: net.connect(port, target.hostname), buf: Buffer.alloc(0), issued: null };
    conn.socket.setNoDelay(true);
    conns.add(conn);
    conn.socket.on('data', (d: Buffer) => {
      conn.buf = conn.buf.length === 0 ? d : Buffer.concat([conn.buf, d]);
      const r = complete(conn.buf);
      if (!r || conn.issued === null) return;
      conn.buf = conn.buf.subarray(r.bytes);
      const issued = conn.issued;
      conn.issued = null;
      settle(issued, r.status);
      release(conn);
    });
    const drop = () => {
      if (stopped || !conns.delete(conn)) return;
      const i = idle.indexOf(conn);
      if (i >= 0) idle.splice(i, 1);
      if (conn.issued !== null) settle(conn.issued, null);
      const next = waiting.shift();
      if (next !== undefined) send(open(), next);
    };
    conn.socket.on('error', drop);
    conn.socket.on('close', drop);
    return conn;
  };
  const issue = (scheduled: number) => {
    const now = performance.now();
    lags[issuedCount++] = now - scheduled;
    const conn = idle.pop() ?? (conns.size < spec.connections ? open() : null);
    if (conn) send(conn, now);
    else waiting.push(now);
  };

  const interval = 1000 / spec.rate;
  const start = performance.now();
  let scheduled = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    while (scheduled < total && start + scheduled * interval <= now) issue(start + interval * scheduled++);
    if (scheduled >= total) clearInterval(timer);
  }, 1);
  let giveUp: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    giveUp = setTimeout(resolve, spec.durationSeconds * 1000 + 5_000);
  });
  await Promise.race([finished, timeout]);
  clearTimeout(giveUp);
  clearInterval(timer);
  stopped = true;
  for (const conn of conns) conn.socket.destroy();
  const measured = latencies.subarray(0, done).sort();
  const elapsedSeconds = ((done === total ? lastEnd : performance.now()) - start) / 1000;
  return {
    name: spec.name,
    requestsPerSecond: done / elapsedSeconds,
    requests: done,
    p50Ms: percentile(measured, 0.5),
    p90Ms: percentile(measured, 0.9),
    p99Ms: percentile(measured, 0.99),
    correctedP99Ms: null,
    errors: errors + (total - done),
    non2xx,
    issueLagP99Ms: percentile(lags.subarray(0, issuedCount).sort(), 0.99),
  };
}

/** A paced run described by data, so it can cross a process boundary: JSON bodies POSTed in turn. */
export interface PacedApartSpec extends Omit<PacedSpec, 'next'> {
  bodies: readonly string[];
}

/**
 * runPaced in a process of its own (bench/support/paced-child.ts), so the generator's event loop and heap are not
 * the benchmark's: a collection in the process that seeded the data would otherwise count as server latency.
 */
export async function runPacedApart(spec: PacedApartSpec): Promise<PacedResult> {
  const script = path.join(import.meta.dirname, 'paced-child.ts');
  const result = await runToResult(
    process.execPath,
    ['--import', 'tsx', script],
    'PACED',
    JSON.stringify(spec),
  );
  return result as PacedResult;
}
