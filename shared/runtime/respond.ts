// Turns handler outcomes into HTTP answers: 200 + binary reply, 202 + receipt, or problem+json (Knative data-plane contract).
import { FlywheelError, UnauthorizedError } from '../errors/index.ts';
import { type RawEvent, toStructured, writeBinary } from './cloudevents.ts';
import type { Dispatched } from './dispatch.ts';
import { PROBLEM_CONTENT_TYPE, type ProblemStatus, problemOf, statusOf } from './problem.ts';

export interface ReceiptEntry {
  index: number;
  id?: string;
  source?: string;
  type?: string;
  outcome: 'replied' | 'accepted' | 'duplicate' | 'rejected' | 'failed';
  status: number;
  detail?: string;
  field?: string;
  reply?: Record<string, unknown>;
}

const JSON_TYPE = { 'content-type': 'application/json' };

/** An HTTP answer, written by the server through hono's context. */
export interface Answer {
  status: 200 | 202 | ProblemStatus;
  headers: Record<string, string>;
  body: string;
}

const answer = (body: string, status: Answer['status'], headers: Record<string, string>): Answer => ({
  status,
  headers,
  body,
});

/**
 * Single events: 200 with the reply in binary mode, 202 with a receipt, or the error's status.
 * Batches: 503/429 when any event failed retriably (the sender retries the batch; duplicates are skipped),
 * 400 when every event was rejected, else 202 with one receipt per event (replies inline, structured).
 */
export function respond(mode: 'binary' | 'structured' | 'batch', results: Dispatched[]): Answer {
  if (mode !== 'batch') {
    const only = results[0];
    if (!only) return problemResponse(new Error('no event'), []);
    if (!only.ok) return problemResponse(only.error, []);
    if (only.outcome.kind === 'reply') {
      const { headers, body } = writeBinary(only.outcome.event);
      return answer(body, 200, headers);
    }
    return answer(JSON.stringify({ results: [receipt(only, 0)] }), 202, JSON_TYPE);
  }
  const receipts = results.map(receipt);
  const retriable = results.find((r) => !r.ok && statusOf(r.error) !== 400 && statusOf(r.error) !== 413);
  if (retriable && !retriable.ok) return problemResponse(retriable.error, receipts);
  if (results.length > 0 && results.every((r) => !r.ok)) {
    const first = results[0];
    return problemResponse(first && !first.ok ? first.error : new Error('empty batch'), receipts);
  }
  return answer(JSON.stringify({ results: receipts }), 202, JSON_TYPE);
}

function receipt(r: Dispatched, index: number): ReceiptEntry {
  const ids = r.event ? idsOf(r.event) : {};
  if (!r.ok) {
    const p = problemOf(r.error);
    const e: ReceiptEntry = {
      index,
      ...ids,
      outcome: p.status === 400 ? 'rejected' : 'failed',
      status: p.status,
    };
    e.detail = p.detail;
    if (p.field !== undefined) e.field = p.field;
    return e;
  }
  switch (r.outcome.kind) {
    case 'reply':
      return { index, ...ids, outcome: 'replied', status: 200, reply: toStructured(r.outcome.event) };
    case 'accepted':
      return {
        index,
        ...ids,
        outcome: 'accepted',
        status: 202,
        ...(r.outcome.detail ? { detail: r.outcome.detail } : {}),
      };
    case 'duplicate':
      return { index, ...ids, outcome: 'duplicate', status: 200 };
  }
}

function idsOf(e: RawEvent): { id: string; source: string; type: string } {
  return { id: e.id, source: e.source, type: e.type };
}

/**
 * The problem+json answer to `err`: with a batch's failed receipts under `errors`, and `extra` members when given.
 * A 429 says when to retry; a 401 carries its challenge (RFC 9110 §11.6.1: a 401 must name a scheme and realm).
 */
export function problemResponse(
  err: unknown,
  receipts: ReceiptEntry[] = [],
  extra: Record<string, unknown> = {},
): Answer {
  const p = problemOf(err);
  const body =
    receipts.length > 0
      ? { ...p, ...extra, errors: receipts.filter((r) => r.status >= 400) }
      : { ...p, ...extra };
  return answer(JSON.stringify(body), p.status, {
    'content-type': PROBLEM_CONTENT_TYPE,
    ...errorHeaders(err),
  });
}

/** The headers an error's answer carries whatever its body: Retry-After on 429, the challenge on 401. */
export function errorHeaders(err: unknown): Record<string, string> {
  if (!(err instanceof FlywheelError)) return {};
  if (err.status === 429) return { 'retry-after': '1' };
  if (err instanceof UnauthorizedError) return { 'www-authenticate': `Bearer realm="${err.realm}"` };
  return {};
}
