// The online store by role (docs/architecture.md, "The online store by role"): each caller codes against the role it
// uses; Redis and in-process memory implement every role, and each owns its key layout and hash tags.
import type { CustomerHistoryStore } from '../features/customer-history.ts';

export type * from '../features/customer-history.ts';

/** Idempotency claims and locks (leases, cooldowns): small keys with a TTL and an owner. */
export interface LockStore {
  /** Claims an idempotency key once (SET NX PX on `fw:claim:<key>`). true = this call made the first claim. */
  claim(key: string, ttlMs: number): Promise<boolean>;
  /** Gives a claim up (e.g. when the work it guarded failed), so a redelivery can claim it again. */
  release(key: string): Promise<void>;
  /** Takes a lock or starts a cooldown: SET `fw:lock:<name>` owner NX PX. true = acquired. */
  acquireLock(name: string, owner: string, ttlMs: number): Promise<boolean>;
  /** Releases the lock only if `owner` still holds it (compare-and-delete). true = it was released. */
  releaseLock(name: string, owner: string): Promise<boolean>;
  /** Deletes the lock whoever holds it: a cooldown that an outside fact ends early. true = there was one. */
  breakLock(name: string): Promise<boolean>;
  /**
   * Sets the lock to expire ttlMs from now, only if `owner` still holds it (compare-and-expire): a holder keeps a
   * short lock alive while it works, so the lock of a holder that failed or died lapses soon. true = renewed;
   * false = it had expired or another owner holds it.
   */
  renewLock(name: string, owner: string, ttlMs: number): Promise<boolean>;
}

/** Named documents (JSON text) written whole: a promotion verdict, ingest's done marker, a backfill checkpoint. */
export interface RecordStore {
  /** The document named `name`; null when absent or expired. */
  readRecord(name: string): Promise<string | null>;
  /** Writes the document; without ttlMs it does not expire (an earlier TTL is cleared). */
  writeRecord(name: string, value: string, opts?: { ttlMs?: number }): Promise<void>;
}

/** A new version's records, written by {@link RegistryStore.writeModelVersion}. */
export interface ModelVersionWrite {
  model: string;
  version: number;
  /** The version's record (JSON). */
  record: string;
  /** Its holdout set (JSON), when it has one. */
  holdout?: string;
  /** The artifact's bytes when they are kept in the store (small files); else the record names a file. */
  artifact?: Uint8Array;
}

/** Input of {@link RegistryStore.moveAlias}: the compare-and-set, its history entry and its notice. */
export interface AliasMove {
  model: string;
  alias: string;
  /** What the alias must hold now; null = it must be absent. */
  expected: string | null;
  next: string;
  /** Appended to the model's alias history in the same atomic step. */
  historyEntry: string;
  /** Published to alias watchers in the same atomic step. */
  notice: string;
}

/**
 * The model registry's versioned records: a version counter per model, each version's record, holdout and
 * artifact, aliases moved by compare-and-set with their history, and notices of alias moves. One model's records
 * move together (one Redis Cluster slot per model).
 */
export interface RegistryStore {
  /** Allocates the model's next version number: 1, 2, … */
  nextModelVersion(model: string): Promise<number>;
  /** Writes a version (artifact bytes, holdout and record, then lists it): listed only once it is readable. */
  writeModelVersion(input: ModelVersionWrite): Promise<void>;
  /** A version's record; null when there is none. */
  readModelVersion(model: string, version: number): Promise<string | null>;
  /** The model's listed versions, ascending. */
  listModelVersions(model: string): Promise<number[]>;
  /** The exact bytes of a version's artifact kept in the store; null when absent. */
  readModelArtifact(model: string, version: number): Promise<Uint8Array | null>;
  /** A version's holdout set; null when it has none. */
  readModelHoldout(model: string, version: number): Promise<string | null>;
  /** What an alias holds; null when it was never set. */
  readAlias(model: string, alias: string): Promise<string | null>;
  /**
   * Moves an alias only if it holds `expected`, atomically appending the history entry and publishing the notice.
   * true = moved.
   */
  moveAlias(move: AliasMove): Promise<boolean>;
  /** The model's alias history, oldest first. */
  readAliasHistory(model: string): Promise<string[]>;
  /** Calls onNotice for every alias move of any model until the returned function is called; disconnected watchers miss notices. */
  watchAliases(onNotice: (notice: string) => void): Promise<() => Promise<void>>;
}

/** A drift monitor: one champion version of a model. */
export interface DriftMonitor {
  name: string;
  version: number;
}

/** The documents a drift monitor keeps besides its windows. */
export type DriftRecordName = 'pointer' | 'history';

/**
 * Drift windows shared by replicas: per monitor, numbered windows of integer counts per field, plus two documents
 * moved by compare-and-set (the open window's pointer, the decision history). One monitor's data shares a slot.
 */
export interface DriftWindowStore {
  /**
   * Adds each increment to its field of window n (absent = 0) atomically across fields and returns the new values;
   * refreshes the window's expiry to ttlMs. Arithmetic is IEEE double on both implementations.
   */
  addDriftCounts(
    monitor: DriftMonitor,
    n: number,
    increments: Record<string, number>,
    ttlMs: number,
  ): Promise<Record<string, number>>;
  /** Window n's counts ({} when absent or expired), deleting the window. */
  takeDriftWindow(monitor: DriftMonitor, n: number): Promise<Record<string, number>>;
  /** One of the monitor's documents; null when absent. */
  readDriftRecord(monitor: DriftMonitor, name: DriftRecordName): Promise<string | null>;
  /** Writes the document only if it holds `expected` (null = absent). true = written. */
  swapDriftRecord(
    monitor: DriftMonitor,
    name: DriftRecordName,
    expected: string | null,
    next: string,
  ): Promise<boolean>;
}

/**
 * The whole online store: every role, plus health. Every method rejects with a retriable DependencyError when the
 * store cannot answer within its timeout, and with InvalidInputError on arguments it cannot store (an empty
 * customer id, a TTL that is not a positive integer).
 */
export interface OnlineStore
  extends CustomerHistoryStore,
    LockStore,
    RecordStore,
    RegistryStore,
    DriftWindowStore {
  readonly kind: 'redis' | 'memory';
  /** Round-trip health check for readiness: true when the store answered within its timeout. Never rejects. */
  ping(): Promise<boolean>;
  /** Closes connections and timers; later calls reject with DependencyError. */
  close(): Promise<void>;
}
