// Argument checks shared by both store implementations, so that both refuse the same inputs the same way.
import { InvalidEventError } from '../errors/index.ts';
import { customerClaimKey, customerKeys, defaultIdleTtlMs, eventHash, historyMember } from './keys.ts';
import type { CompareAndSetInput, CustomerEventInput } from './types.ts';

/** An applyCustomerEvent call resolved to keys, member and numbers both implementations execute the same way. */
export interface ApplyPlan {
  history: string;
  firstSeenKey: string;
  claim: string;
  member: string;
  eventTime: number;
  retentionMs: number;
  maxEvents: number;
  allowedLatenessMs: number;
  claimTtlMs: number;
  idleTtlMs: number;
  /** Requested first-seen fields, duplicates removed, in request order. */
  fields: string[];
}

/** Throws InvalidEventError unless `value` is a positive integer (Redis PX accepts nothing else). */
export function checkTtl(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new InvalidEventError(name, `${name} must be a positive integer of milliseconds, got ${value}`);
  }
}

function checkNonNegative(name: string, value: number): void {
  if (!Number.isFinite(value) || value < 0) {
    throw new InvalidEventError(name, `${name} must be a finite number >= 0, got ${value}`);
  }
}

/** Validates an applyCustomerEvent input and derives its keys, member and idle TTL. */
export function planApply(input: CustomerEventInput): ApplyPlan {
  if (!Number.isFinite(input.eventTime)) {
    throw new InvalidEventError('eventTime', `eventTime must be finite, got ${input.eventTime}`);
  }
  checkNonNegative('retentionMs', input.retentionMs);
  checkNonNegative('allowedLatenessMs', input.allowedLatenessMs);
  if (!Number.isSafeInteger(input.maxEvents) || input.maxEvents < 1) {
    throw new InvalidEventError('maxEvents', `maxEvents must be an integer >= 1, got ${input.maxEvents}`);
  }
  checkTtl('claimTtlMs', input.claimTtlMs);
  const idleTtlMs = input.idleTtlMs ?? Math.ceil(defaultIdleTtlMs(input));
  checkTtl('idleTtlMs', idleTtlMs);
  const keys = customerKeys(input.customerId);
  const hash = eventHash(input.eventKey);
  return {
    history: keys.history,
    firstSeenKey: keys.firstSeen,
    claim: customerClaimKey(input.customerId, hash),
    member: historyMember(hash, input.record),
    eventTime: input.eventTime,
    retentionMs: input.retentionMs,
    maxEvents: input.maxEvents,
    allowedLatenessMs: input.allowedLatenessMs,
    claimTtlMs: input.claimTtlMs,
    idleTtlMs,
    fields: [...new Set(input.firstSeen)],
  };
}

/** Throws InvalidEventError when a history key comes without its entry, or a channel without its notice. */
export function checkCompareAndSet(input: CompareAndSetInput): void {
  if ((input.historyKey === undefined) !== (input.historyEntry === undefined)) {
    throw new InvalidEventError('historyEntry', 'historyKey and historyEntry go together');
  }
  if ((input.channel === undefined) !== (input.notice === undefined)) {
    throw new InvalidEventError('notice', 'channel and notice go together');
  }
}

/** Throws InvalidEventError unless every increment is a finite number. */
export function checkIncrements(increments: Record<string, number>): void {
  for (const [field, by] of Object.entries(increments)) {
    if (!Number.isFinite(by))
      throw new InvalidEventError(field, `increment of ${field} must be finite, got ${by}`);
  }
}

/** Throws InvalidEventError for NaN scores (±Infinity is allowed, as in Redis). */
export function checkScore(name: string, score: number): void {
  if (Number.isNaN(score)) throw new InvalidEventError(name, `${name} must be a number, got NaN`);
}

/** Throws InvalidEventError unless every value is a safe integer (list indexes, limits). */
export function checkIntegers(values: Record<string, number>): void {
  for (const [name, v] of Object.entries(values)) {
    if (!Number.isSafeInteger(v)) throw new InvalidEventError(name, `${name} must be an integer, got ${v}`);
  }
}
