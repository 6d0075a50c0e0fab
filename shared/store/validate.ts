// Argument checks shared by both store implementations, so that both refuse the same inputs the same way.
import { InvalidInputError } from '../errors/index.ts';
import { hasControlCharacter } from '../events/schemas.ts';
import {
  checkFeatureSetVersion,
  customerClaimKey,
  customerKeys,
  defaultIdleTtlMs,
  eventHash,
  historyMember,
} from './keys.ts';
import type { CustomerEventInput, SummaryQuery } from './types.ts';

/** An applyCustomerEvent call resolved to keys, member and numbers both implementations execute the same way. */
export interface ApplyPlan {
  history: string;
  firstSeenKey: string;
  claim: string;
  latest: string;
  windowTree: string;
  member: string;
  record: string;
  eventTime: number;
  retentionMs: number;
  maxEvents: number;
  allowedLatenessMs: number;
  /** True when an event behind the allowed lateness is applied anyway (CustomerEventInput.late = 'apply'). */
  applyLate: boolean;
  claimTtlMs: number;
  idleTtlMs: number;
  windowsMs: readonly number[];
  /** Requested first-seen fields, duplicates removed, in request order. */
  fields: string[];
}

/** Throws InvalidInputError unless `value` is a positive integer (Redis PX accepts nothing else). */
export function checkTtl(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new InvalidInputError(name, `${name} must be a positive integer of milliseconds, got ${value}`);
  }
}

function checkNonNegative(name: string, value: number): void {
  if (!Number.isFinite(value) || value < 0) {
    throw new InvalidInputError(name, `${name} must be a finite number >= 0, got ${value}`);
  }
}

/** Validates an applyCustomerEvent input and derives its keys, member and idle TTL. */
export function planApply(input: CustomerEventInput): ApplyPlan {
  if (!Number.isFinite(input.eventTime)) {
    throw new InvalidInputError('eventTime', `eventTime must be finite, got ${input.eventTime}`);
  }
  checkNonNegative('allowedLatenessMs', input.allowedLatenessMs);
  if (!Number.isSafeInteger(input.maxEvents) || input.maxEvents < 1) {
    throw new InvalidInputError('maxEvents', `maxEvents must be an integer >= 1, got ${input.maxEvents}`);
  }
  checkTtl('claimTtlMs', input.claimTtlMs);
  checkSummaryQuery(input);
  if (!Number.isFinite(input.value)) {
    throw new InvalidInputError('value', `value must be finite, got ${input.value}`);
  }
  if (hasControlCharacter(input.orderKey)) {
    throw new InvalidInputError('orderKey', 'orderKey must not contain control characters');
  }
  const idleTtlMs = input.idleTtlMs ?? Math.ceil(defaultIdleTtlMs(input));
  checkTtl('idleTtlMs', idleTtlMs);
  const keys = customerKeys(input.customerId, input.featureSetVersion);
  const hash = eventHash(input.eventKey);
  return {
    history: keys.history,
    firstSeenKey: keys.firstSeen,
    claim: customerClaimKey(input.customerId, hash, input.featureSetVersion),
    latest: keys.latest,
    windowTree: keys.windowTree,
    member: historyMember(input.orderKey, hash, input.eventTime, input.value),
    record: input.record,
    eventTime: input.eventTime,
    retentionMs: input.retentionMs,
    maxEvents: input.maxEvents,
    allowedLatenessMs: input.allowedLatenessMs,
    applyLate: input.late === 'apply',
    claimTtlMs: input.claimTtlMs,
    idleTtlMs,
    windowsMs: input.windowsMs,
    fields: [...new Set(input.firstSeen)],
  };
}

/** Most windows a summary may ask for (each costs the store a cut of the window tree). */
export const MAX_WINDOWS = 16;

/** Throws InvalidInputError unless the retention is >= 0 and every window is in (0, retentionMs]. */
export function checkSummaryQuery(query: SummaryQuery): void {
  checkNonNegative('retentionMs', query.retentionMs);
  if (query.version !== undefined) checkFeatureSetVersion(query.version);
  if (query.windowsMs.length > MAX_WINDOWS) {
    throw new InvalidInputError('windowsMs', `at most ${MAX_WINDOWS} windows, got ${query.windowsMs.length}`);
  }
  for (const w of query.windowsMs) {
    if (!Number.isFinite(w) || w <= 0 || w > query.retentionMs) {
      throw new InvalidInputError('windowsMs', `every window must be in (0, retentionMs], got ${w}`);
    }
  }
}

/** Throws InvalidInputError unless every increment is a finite number. */
export function checkIncrements(increments: Record<string, number>): void {
  for (const [field, by] of Object.entries(increments)) {
    if (!Number.isFinite(by))
      throw new InvalidInputError(field, `increment of ${field} must be finite, got ${by}`);
  }
}

/** Throws InvalidInputError unless a model version is a positive integer. */
export function checkVersion(version: number): void {
  if (!Number.isSafeInteger(version) || version < 1) {
    throw new InvalidInputError('version', `a model version is a positive integer, got ${version}`);
  }
}
