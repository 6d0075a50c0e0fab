// ingest's in-progress claim on an event: a short lock its holder renews while it works, so a failed holder's claim lapses soon.
import { DependencyError } from '../../shared/errors/index.ts';
import type { Logger } from '../../shared/runtime/index.ts';
import type { OnlineStore } from '../../shared/store/index.ts';

/*
 * Why a short lease that the holder renews, and not a long lock released in a catch (issue 14, item 5):
 *
 * - The release in a catch is exactly what fails when Redis goes away mid-request, and a holder that is killed
 *   never runs it. So the claim must lapse by itself, and soon: at most ttlMs after the holder's last renewal.
 *   Redis counts a TTL in wall-clock time even while it is down or restarting (the AOF stores absolute expiry
 *   times), so after an outage longer than ttlMs every claim of a holder that failed is already gone.
 * - A live holder renews every ttlMs / 3, so slow work (K_SINK retries, a slow log append) keeps its claim and
 *   a concurrent copy of the event does not do the work a second time.
 * - But never past maxHoldMs after the claim was taken: a holder that is stuck (not failed) stops renewing there,
 *   so no claim blocks the sender's redeliveries for longer than maxHoldMs, whatever the holder does.
 * - ttlMs and maxHoldMs must both stay under the retry budget of whoever redelivers the event (ingest's Triggers
 *   and KafkaSource: 5 retries, exponential from 0.5 s, 15.5 s of backoff); test/functions/budgets.test.ts
 *   checks that against the manifests in eventing/.
 *
 * Fencing: ingest's effects (the event log, K_SINK) are outside Redis and cannot check a fencing token, so the
 * holder checks its lease before each effect and goes on only while it knows the lock is its own: until its last
 * confirmed renewal plus the TTL it set, counted from when that renewal was sent (a lower bound of when Redis
 * re-armed it). An effect already under way may finish after its lease lapsed; consumers de-duplicate by the
 * accepted event's id (derived from source + id), which is what makes that window harmless.
 */

export interface ClaimOptions {
  store: Pick<OnlineStore, 'renewLock' | 'releaseLock'>;
  /** The lock's name and this holder's token (acquireLock already granted it). */
  name: string;
  owner: string;
  /** The TTL the lock was taken with; each renewal re-arms it to this. */
  ttlMs: number;
  /** No renewal reaches past takenAt + maxHoldMs. */
  maxHoldMs: number;
  /** When acquireLock was sent, on `clock`: the lock expires no earlier than takenAt + ttlMs. */
  takenAt: number;
  /** What the event is, for messages. */
  what: string;
  log: Logger;
  /** A monotonic clock in ms (default performance.now). */
  clock?: () => number;
}

/** A claim this holder was granted: renewed in the background until released. */
export interface HeldClaim {
  /** Throws a retriable DependencyError unless the claim is known to be this holder's right now. */
  assertHeld(): void;
  /** Stops renewing and deletes the lock if it is still ours; never throws (a lock it cannot delete lapses). */
  release(): Promise<void>;
}

/** Starts renewing a claim that acquireLock just granted. */
export function holdClaim(o: ClaimOptions): HeldClaim {
  const clock = o.clock ?? (() => performance.now());
  const holdUntil = o.takenAt + o.maxHoldMs;
  let validUntil = o.takenAt + Math.min(o.ttlMs, o.maxHoldMs);
  let lost = false;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const everyMs = Math.max(1, Math.floor(o.ttlMs / 3));

  const renew = async (): Promise<void> => {
    timer = undefined;
    const sent = clock();
    const ttlMs = Math.floor(Math.min(o.ttlMs, holdUntil - sent));
    if (ttlMs < 1) return; // held as long as allowed: the lock lapses at holdUntil
    try {
      if (await o.store.renewLock(o.name, o.owner, ttlMs)) validUntil = sent + ttlMs;
      else lost = true;
    } catch (err) {
      // Redis is not answering: the lease keeps its last known end, and the next renewal may still make it.
      o.log.warn({ err, lock: o.name }, 'claim renewal failed');
    }
    schedule();
  };
  const schedule = () => {
    if (stopped || lost) return;
    timer = setTimeout(() => void renew(), everyMs);
    timer.unref();
  };
  schedule();

  return {
    assertHeld() {
      if (lost || clock() >= validUntil) {
        throw new DependencyError('ingest', `the claim on ${o.what} lapsed while it was processed; retry`);
      }
    },
    async release() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      await o.store.releaseLock(o.name, o.owner).then(
        () => undefined,
        (err: unknown) => o.log.warn({ err, lock: o.name }, 'claim release failed: it lapses by itself'),
      );
    },
  };
}
