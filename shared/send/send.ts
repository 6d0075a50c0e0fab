// Posts rows to ingest as CloudEvents batches, retrying what ingest or the network says to retry, and tallies receipts.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Row } from './rows.ts';

const BATCH_TYPE = 'application/cloudevents-batch+json';

/** A row ingest refused (400): the receipt's field and detail. */
export interface Rejected {
  line: number;
  id: string;
  field: string;
  message: string;
}

export interface SendSummary {
  sent: number;
  accepted: number;
  duplicate: number;
  rejected: Rejected[];
  /** Batches answered 429, 5xx or not at all and sent again. */
  retries: number;
}

/** Raised when ingest could not be reached, or kept refusing, after the retries: nothing more is sent. */
export class IngestUnreachableError extends Error {
  constructor(
    message: string,
    readonly summary: SendSummary,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export interface RetryPolicy {
  /** Attempts per batch, the first included. */
  attempts: number;
  /** The first wait; each later one doubles, up to maxDelayMs; each is drawn from [d/2, d] (jitter). */
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 8, baseDelayMs: 250, maxDelayMs: 8_000 };

export interface SendOptions {
  url: string;
  rows: readonly Row[];
  /** Events per request. */
  batchSize: number;
  /** Most events per second, on average; unlimited when absent. */
  rate?: number | undefined;
  retry?: RetryPolicy;
  /** How long one request may take before it counts as failed and is retried. */
  requestTimeoutMs?: number;
  /** After each batch: rows answered so far. */
  onProgress?: (done: number) => void;
  /** Before each retry: why, and how long the wait is. */
  onRetry?: (why: string, delayMs: number) => void;
  random?: () => number;
}

/** The wait before retry number `attempt` (1-based): exponential, capped, with jitter. */
export function backoffMs(attempt: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const full = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.round(full / 2 + (random() * full) / 2);
}

/**
 * Sends the rows in order, one batch in flight, and reads ingest's receipts (one per event: accepted, duplicate, or
 * rejected with the field at fault). A batch answered 429 or 5xx, or not answered (connection refused or reset, a
 * timeout), is sent again whole after a backoff: ingest answers the events it already took as duplicates (its
 * idempotency key is source + id). Throws IngestUnreachableError when a batch has used up its attempts.
 */
export async function sendRows(opts: SendOptions): Promise<SendSummary> {
  const retry = opts.retry ?? DEFAULT_RETRY;
  const random = opts.random ?? Math.random;
  const summary: SendSummary = { sent: 0, accepted: 0, duplicate: 0, rejected: [], retries: 0 };
  const started = Date.now();
  for (let i = 0; i < opts.rows.length; i += opts.batchSize) {
    const batch = opts.rows.slice(i, i + opts.batchSize);
    const body = JSON.stringify(batch.map((r) => r.event));
    for (let attempt = 1; ; attempt++) {
      const outcome = await post(opts.url, body, opts.requestTimeoutMs ?? 30_000);
      if (outcome.kind === 'answered') {
        tally(summary, batch, outcome.receipts);
        break;
      }
      if (outcome.kind === 'fatal') throw new IngestUnreachableError(outcome.why, summary);
      if (attempt >= retry.attempts) {
        throw new IngestUnreachableError(
          `${outcome.why}, still after ${retry.attempts} attempts at ${opts.url}`,
          summary,
        );
      }
      const delay = Math.max(outcome.retryAfterMs ?? 0, backoffMs(attempt, retry, random));
      summary.retries++;
      opts.onRetry?.(outcome.why, delay);
      await sleep(delay);
    }
    summary.sent += batch.length;
    opts.onProgress?.(summary.sent);
    if (opts.rate !== undefined) {
      const due = started + (summary.sent / opts.rate) * 1000;
      if (due > Date.now()) await sleep(due - Date.now());
    }
  }
  return summary;
}

interface Receipt {
  index: number;
  outcome: string;
  status: number;
  field?: string;
  detail?: string;
}

type Outcome =
  | { kind: 'answered'; receipts: Receipt[] }
  | { kind: 'retry'; why: string; retryAfterMs?: number }
  | { kind: 'fatal'; why: string };

/** One request: receipts (202, or 400 when every event was refused), a reason to retry, or a reason to stop. */
async function post(url: string, body: string, timeoutMs: number): Promise<Outcome> {
  let res: Response;
  let text: string;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': BATCH_TYPE },
      body,
      signal: AbortSignal.timeout(timeoutMs),
    });
    text = await res.text();
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code;
    return { kind: 'retry', why: `no answer from ingest (${cause ?? (err as Error).message})` };
  }
  if (res.status === 429 || res.status >= 500) {
    const after = Number(res.headers.get('retry-after'));
    return {
      kind: 'retry',
      why: `ingest answered ${res.status}${detailOf(text)}`,
      ...(Number.isFinite(after) && after > 0 ? { retryAfterMs: after * 1000 } : {}),
    };
  }
  const parsed = parseJson(text);
  if (res.status === 202 && Array.isArray(parsed?.results))
    return { kind: 'answered', receipts: parsed.results as Receipt[] };
  if (res.status === 400 && Array.isArray(parsed?.errors))
    return { kind: 'answered', receipts: parsed.errors as Receipt[] };
  if (res.status === 413)
    return {
      kind: 'fatal',
      why: `ingest answered 413${detailOf(text)}: send fewer rows per request (--batch)`,
    };
  return { kind: 'fatal', why: `${url} answered ${res.status}${detailOf(text)}: is it ingest?` };
}

function tally(summary: SendSummary, batch: readonly Row[], receipts: readonly Receipt[]): void {
  const answered = new Set<number>();
  for (const r of receipts) {
    const row = batch[r.index];
    if (!row || answered.has(r.index)) continue;
    answered.add(r.index);
    if (r.outcome === 'accepted' || r.outcome === 'replied') summary.accepted++;
    else if (r.outcome === 'duplicate') summary.duplicate++;
    else
      summary.rejected.push({
        line: row.line,
        id: row.event.id,
        field: r.field ?? '',
        message: r.detail ?? r.outcome,
      });
  }
  batch.forEach((row, index) => {
    if (!answered.has(index))
      summary.rejected.push({
        line: row.line,
        id: row.event.id,
        field: '',
        message: 'no receipt in the answer',
      });
  });
}

function parseJson(text: string): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(text);
    return v !== null && typeof v === 'object' ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

const detailOf = (text: string): string => {
  const detail = parseJson(text)?.detail;
  return typeof detail === 'string' ? `: ${detail}` : '';
};
