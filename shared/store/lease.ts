// A claim held as a short lease: a lock its holder renews while it works, so a failed holder's claim lapses soon.
import { DependencyError } from '../errors/index.ts';
import type { Logger } from '../runtime/logger.ts';
import type { OnlineStore } from './types.ts';

/*
 * Why a short lease that the holder renews, and not a long lock released in a finally (faults must forget nothing;
 * used by ingest's in-progress claim and promote's per-version lock):
 *
 * - The release in a finally is exactly what fails when Redis goes away mid-request, and a holder that is killed
 *   never runs it. So the claim must lapse by itself, and soon: at most ttlMs after the holder's last renewal.
 *   Redis counts a TTL in wall-clock time even while it is down or restarting (the AOF stores absolute expiry
 *   times), so after an outage longer than ttlMs every claim of a holder that failed is already gone.
 * - A live holder renews every ttlMs / 3, so slow work (K_SINK retries, a slow log append, the gate timing ONNX
 *   models) keeps its claim and a concurrent copy of the event does not do the work a second time.
 * - But never past maxHoldMs after the claim was taken: a holder that is stuck (not failed) stops renewing there,
 *   so no claim blocks the sender's redeliveries for longer than maxHoldMs, whatever the holder does.
 * - ttlMs and maxHoldMs must both stay under the retry budget of whoever redelivers the event (5 retries,
 *   exponential from 0.5 s: 15.5 s of backoff); test/functions/budgets.test.ts checks that against eventing/.
 *
 * Fencing: a holder checks its lease before each effect and goes on only while it knows the lock is its own:
 * until its last confirmed renewal plus the TTL it set, counted from when that renewal was sent (a lower bound of
 * when Redis re-armed it). An effect already under way may finish after its lease lapsed; the caller makes that
 * window harmless (ingest: consumers de-duplicate by the accepted event's id; promote: the alias moves by
 * compare-and-set). A holder whose lease lapsed may retake() it when nobody else took it meanwhile; it must then
 * re-read whatever another holder may have written in between.
 */

export interface ClaimOptions {
  store: Pick<OnlineStore, 'acquireLock' | 'renewLock' | 'releaseLock'>;
  /** The lock's name and this holder's token (acquireLock already granted it). */
  name: string;
  owner: string;
  /** The TTL the lock was taken with; each renewal re-arms it to this. */
  ttlMs: number;
  /** No renewal reaches past takenAt + maxHoldMs. */
  maxHoldMs: number;
  /** When acquireLock was sent, on `clock`: the lock expires no earlier than takenAt + ttlMs. */
  takenAt: number;
  /** What is claimed, for messages (`event tx-1`, `risk v3`). */
  what: string;
  log: Logger;
  /** A monotonic clock in ms (default performance.now). */
  clock?: () => number;
}

/** A claim this holder was granted: renewed in the background until released. */
export interface HeldClaim {
  /** True while the claim is known to be this holder's. */
  isHeld(): boolean;
  /** Throws a retriable DependencyError unless the claim is known to be this holder's right now. */
  assertHeld(): void;
  /**
   * After the claim lapsed (renewals failed, or the longest hold passed): takes the lock again if it is still or
   * again this holder's or free, for a fresh hold of up to maxHoldMs. false: another holder has it. A holder that
   * retakes must assume another one held it in between.
   */
  retake(): Promise<boolean>;
  /** Stops renewing and deletes the lock if it is still ours; never throws (a lock it cannot delete lapses). */
  release(): Promise<void>;
}

/** Starts renewing a claim that acquireLock just granted. */
export function holdClaim(o: ClaimOptions): HeldClaim {
  const clock = o.clock ?? (() => performance.now());
  const everyMs = Math.max(1, Math.floor(o.ttlMs / 3));
  let holdUntil = 0;
  let validUntil = 0;
  let lost = false;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  /** Bumped by each hold, so a renewal answered after a retake or a release changes nothing. */
  let hold = 0;

  const renew = async (mine: number): Promise<void> => {
    timer = undefined;
    const sent = clock();
    const ttlMs = Math.floor(Math.min(o.ttlMs, holdUntil - sent));
    if (ttlMs < 1) return; // held as long as allowed: the lock lapses at holdUntil
    try {
      const renewed = await o.store.renewLock(o.name, o.owner, ttlMs);
      if (mine !== hold) return;
      if (renewed) validUntil = sent + ttlMs;
      else lost = true;
    } catch (err) {
      // Redis is not answering: the lease keeps its last known end, and the next renewal may still make it.
      o.log.warn({ err, lock: o.name }, 'claim renewal failed');
      if (mine !== hold) return;
    }
    schedule();
  };
  const schedule = () => {
    if (stopped || lost) return;
    const mine = hold;
    timer = setTimeout(() => void renew(mine), everyMs);
    timer.unref();
  };
  const start = (takenAt: number) => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    hold++;
    holdUntil = takenAt + o.maxHoldMs;
    validUntil = takenAt + Math.min(o.ttlMs, o.maxHoldMs);
    lost = false;
    schedule();
  };
  const isHeld = () => !stopped && !lost && clock() < validUntil;
  start(o.takenAt);

  return {
    isHeld,
    assertHeld() {
      if (!isHeld()) {
        throw new DependencyError('lock', `the claim on ${o.what} lapsed while it was processed; retry`);
      }
    },
    async retake() {
      if (stopped) return false;
      if (isHeld()) return true;
      const sent = clock();
      // still ours in Redis (a renewal whose answer was lost): re-arm it; else take it if it is free
      const mine =
        (await o.store.renewLock(o.name, o.owner, o.ttlMs)) ||
        (await o.store.acquireLock(o.name, o.owner, o.ttlMs));
      if (!mine) return false;
      if (stopped) {
        // released meanwhile: give back what was just taken (or let it lapse)
        await o.store.releaseLock(o.name, o.owner).catch(() => false);
        return false;
      }
      start(sent);
      return true;
    },
    async release() {
      stopped = true;
      hold++;
      if (timer) clearTimeout(timer);
      timer = undefined;
      await o.store.releaseLock(o.name, o.owner).then(
        () => undefined,
        (err: unknown) => o.log.warn({ err, lock: o.name }, 'claim release failed: it lapses by itself'),
      );
    },
  };
}
