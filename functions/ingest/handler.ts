// ingest: the edge. Validates, normalises and de-duplicates raw events, logs them, and publishes the accepted ones to K_SINK.
import { createHash } from 'node:crypto';
import { DependencyError } from '../../shared/errors/index.ts';
import {
  type EventTypes as ET,
  EventTypes,
  type FlywheelEvent,
  makeEvent,
  normalizeLabel,
  normalizeTransaction,
} from '../../shared/events/index.ts';
import type { LogRecord } from '../../shared/log/index.ts';
import type { EventOf, HandlerContext, Outcome, Sink } from '../../shared/runtime/index.ts';
import { toStructured } from '../../shared/runtime/index.ts';
import type { OnlineStore } from '../../shared/store/index.ts';
import { holdClaim } from '../../shared/store/lease.ts';

export type IngestType = typeof ET.transaction | typeof ET.label;
export const INGEST_TYPES: readonly IngestType[] = [EventTypes.transaction, EventTypes.label];

export interface IngestDeps {
  store: Pick<OnlineStore, 'acquireLock' | 'renewLock' | 'releaseLock' | 'readRecord' | 'writeRecord'>;
  append: (record: LogRecord) => Promise<void>;
  sink: Sink;
  now: () => number;
  /** The source of the events ingest publishes. */
  source: string;
  maxClockSkewMs: number;
  /** How long a processed event is remembered as a duplicate. */
  dedupeTtlMs: number;
  /**
   * The in-progress claim's TTL: its holder renews it every third of this while it works, so a redelivery waits
   * at most this long after the holder failed or died (shared/store/lease.ts says why).
   */
  claimTtlMs: number;
  /** The longest a holder keeps its claim, renewals included; a stuck holder's claim lapses then. */
  claimMaxHoldMs: number;
}

/**
 * Store names, by customer and the sha1 of the event's source and id: the done marker (a record kept dedupeTtlMs)
 * and the in-progress claim (a lock of claimTtlMs, renewed while held).
 */
export const ingestKeys = {
  done: (customerId: string, hash: string) => `ingest:${customerId}:done:${hash}`,
  lock: (customerId: string, hash: string) => `ingest:${customerId}:${hash}`,
};

/** Idempotency window for ingest: a redelivery within 7 days is recognised as a duplicate. */
export const DEFAULT_DEDUPE_TTL_MS = 7 * 24 * 3_600_000;

/**
 * Handles one raw transaction or label. Order of steps (so a failure never turns into a loss): take a short
 * in-progress claim, check the done marker, append to the event log, publish to K_SINK, then mark done. Any failure
 * releases the claim and answers 503, so the sender's retry gets the event through; a claim that cannot be released
 * (Redis gone, the process killed) stops being renewed and lapses within claimTtlMs, well inside the sender's
 * retry budget.
 */
export async function handle(
  event: EventOf<IngestType>,
  deps: IngestDeps,
  ctx: HandlerContext,
): Promise<Outcome> {
  const now = deps.now();
  const accepted = accept(event, deps, now);
  const hash = createHash('sha1')
    .update(JSON.stringify([event.source, event.id]))
    .digest('hex');
  const customer = accepted.data.customerId;
  const doneKey = ingestKeys.done(customer, hash);
  const lockName = ingestKeys.lock(customer, hash);
  const owner = `${process.pid}:${now}:${Math.random()}`;

  const takenAt = performance.now();
  const [locked, done] = await Promise.all([
    deps.store.acquireLock(lockName, owner, deps.claimTtlMs),
    deps.store.readRecord(doneKey),
  ]);
  if (done !== null) {
    if (locked) await deps.store.releaseLock(lockName, owner).catch(() => false); // else it lapses
    return { kind: 'duplicate' };
  }
  if (!locked)
    throw new DependencyError('ingest', `event ${event.id} is being processed by another delivery; retry`);
  const claim = holdClaim({
    store: deps.store,
    name: lockName,
    owner,
    ttlMs: deps.claimTtlMs,
    maxHoldMs: deps.claimMaxHoldMs,
    takenAt,
    what: `event ${event.id}`,
    log: ctx.log,
  });
  try {
    claim.assertHeld();
    await deps.append({
      key: customer,
      id: accepted.id,
      source: accepted.source,
      type: accepted.type,
      time: 'occurredAt' in accepted.data ? accepted.data.occurredAt : accepted.data.labelledAt,
      value: JSON.stringify(toStructured(accepted)),
    });
    claim.assertHeld();
    await deps.sink.publish(accepted);
    await deps.store.writeRecord(doneKey, '1', { ttlMs: deps.dedupeTtlMs });
  } finally {
    await claim.release();
  }
  return { kind: 'accepted', detail: accepted.id };
}

type Accepted = FlywheelEvent<typeof ET.transactionAccepted> | FlywheelEvent<typeof ET.labelAccepted>;

/** The accepted event: a deterministic id (from source + id) so a retried publish is recognisably the same event. */
function accept(event: EventOf<IngestType>, deps: IngestDeps, now: number): Accepted {
  const clock = { now, maxSkewMs: deps.maxClockSkewMs };
  const id = createHash('sha256')
    .update(JSON.stringify([event.source, event.id]))
    .digest('hex')
    .slice(0, 32);
  const extensions = event.extensions.traceparent ? { traceparent: event.extensions.traceparent } : {};
  const envelope = { source: deps.source, id, time: now, extensions };
  if (event.type === EventTypes.transaction) {
    const data = { ...normalizeTransaction(event.data, clock), ingestedAt: now };
    return makeEvent({ ...envelope, type: EventTypes.transactionAccepted, data });
  }
  const data = { ...normalizeLabel(event.data, clock), ingestedAt: now };
  return makeEvent({ ...envelope, type: EventTypes.labelAccepted, data });
}
