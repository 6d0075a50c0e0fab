// The online store's key layout and TTL policy, in one place: every Redis key Flywheel writes is named here.
import * as crypto from 'node:crypto';
import { DependencyError, InvalidInputError } from '../errors/index.ts';
import type { DriftMonitor, DriftRecordName } from './types.ts';

/*
 * Key layout. Every key starts with `fw:`, and each role's keys are built here, never by callers. Keys one atomic
 * step touches together carry one hash tag, so they share a Redis Cluster slot: a customer's keys `{customerId}`
 * (the featurize script touches five), a model's registry records and drift windows `{model}`.
 *
 * | key                                   | type       | written by                     | TTL policy                                                         |
 * |---------------------------------------|------------|--------------------------------|--------------------------------------------------------------------|
 * | fw:{<customerId>}:<fsv>:events        | sorted set | applyCustomerEvent             | idle expiry, refreshed on every applied event: idleTtlMs, default  |
 * |                                       |            |                                | retentionMs + max(allowedLatenessMs, 1 h); entries older than      |
 * |                                       |            |                                | newest - retentionMs - allowedLatenessMs and beyond maxEvents are  |
 * |                                       |            |                                | trimmed on write (a late or redelivered event keeps its window)    |
 * | fw:{<customerId>}:<fsv>:firstseen     | hash       | applyCustomerEvent             | same idle expiry as the history, refreshed together                |
 * | fw:{<customerId>}:<fsv>:latest        | string     | applyCustomerEvent             | same idle expiry as the history, refreshed together                |
 * | fw:{<customerId>}:<fsv>:windows       | hash       | applyCustomerEvent (Redis)     | same idle expiry as the history: the window tree's node moments    |
 * |                                       |            |                                | (shared/features/windows.ts), kept while the history is long       |
 * | fw:{<customerId>}:<fsv>:claim:<sha1>  | hash       | applyCustomerEvent             | claimTtlMs from the first claim, never refreshed                   |
 * | fw:claim:<key>                        | string     | claim                          | ttlMs given by the caller (SET NX PX), never refreshed             |
 * | fw:lock:<name>                        | string     | acquireLock (locks, cooldowns) | ttlMs given by the caller (SET NX PX); releaseLock deletes early;  |
 * |                                       |            |                                | renewLock re-arms it to ttlMs from now while the owner holds it;   |
 * |                                       |            |                                | breakLock deletes it whoever holds it                              |
 * | fw:<record name>                      | string     | writeRecord                    | opts.ttlMs or none: ingest's done markers (dedupe TTL), promote's  |
 * |                                       |            |                                | verdicts and the backfill's checkpoints and completions (none)     |
 * | fw:registry:{<m>}:next-version        | string     | nextModelVersion               | none: the registry's durable records                               |
 * | fw:registry:{<m>}:versions            | sorted set | writeModelVersion              | none: version numbers, scored by themselves                        |
 * | fw:registry:{<m>}:version:<v>         | string     | writeModelVersion              | none: the version's record (JSON)                                  |
 * | fw:registry:{<m>}:artifact:<v>        | string     | writeModelVersion              | none: ONNX bytes kept in the store (small files)                   |
 * | fw:registry:{<m>}:holdout:<v>         | string     | writeModelVersion              | none: the holdout set (JSON)                                       |
 * | fw:registry:{<m>}:alias:<alias>       | string     | moveAlias (compare-and-set)    | none                                                               |
 * | fw:registry:{<m>}:history             | list       | moveAlias, same atomic step    | none: every alias move, oldest first                               |
 * | channel fw:registry:aliases           | pub/sub    | moveAlias, same atomic step    | not stored: a watcher that is down misses the notice               |
 * | fw:drift:{<m>}:v<v>:window            | string     | swapDriftRecord('pointer')     | none: the open window's number and start (a few bytes per champion)|
 * | fw:drift:{<m>}:v<v>:history           | string     | swapDriftRecord('history')     | none: the persistence history of decisions                         |
 * | fw:drift:{<m>}:v<v>:w<n>              | hash       | addDriftCounts                 | ttlMs given by the caller, refreshed by every add; takeDriftWindow |
 * |                                       |            |                                | deletes it (functions/detect-drift/encoding.ts: its fields)        |
 *
 * "none" keys are the registry's and the backfill's durable records; everything per-customer or per-event expires by
 * itself. <fsv> is the feature-set version (`FeatureSet.version`): featurize writes the keys of its code's version and
 * score reads its code's version, so a new version's keys fill beside the old ones (by featurize and `flywheel
 * backfill`) while score still reads the old. The version follows the hash tag, so one customer's keys of every
 * version share a slot. Callers that give no version (store-level tests and benchmarks) get the same keys without
 * the `<fsv>:` segment.
 */

/** The prefix of every key and channel. */
export const KEY_PREFIX = 'fw:';

/** Extra idle time a customer's history is kept beyond its retention, at least: late events still find their past. */
export const CUSTOMER_IDLE_MARGIN_MS = 60 * 60_000;

/** Length of the event-hash prefix that makes history members unique (hex characters of sha1). */
export const MEMBER_HASH_LENGTH = 16;

/** The keys of one customer, all in one cluster slot. */
export interface CustomerKeys {
  history: string;
  firstSeen: string;
  latest: string;
  /** The window tree of the history (Redis only): node moments per `level:index` (shared/features/windows.ts). */
  windowTree: string;
}

/** Rejects customer ids that would break the hash tag; the event schemas already bound their length. */
function checkCustomerId(customerId: string): void {
  if (customerId === '' || customerId.includes('{') || customerId.includes('}')) {
    throw new InvalidInputError('data.customerId', 'customerId must be non-empty and contain no braces');
  }
}

/** What a feature-set version may look like in a key: FeatureSet versions are 12 hex digits. */
const FEATURE_SET_VERSION = /^[A-Za-z0-9._-]{1,64}$/;

/** Throws InvalidInputError unless `version` can name a key namespace (no separators, no braces). */
export function checkFeatureSetVersion(version: string): void {
  if (!FEATURE_SET_VERSION.test(version)) {
    throw new InvalidInputError(
      'featureSetVersion',
      `a feature-set version is 1-64 letters, digits, '.', '_' or '-', got ${JSON.stringify(version)}`,
    );
  }
}

/** `fw:{id}:` or `fw:{id}:<version>:`: the hash tag first, so every version of a customer stays in one slot. */
function customerPrefix(customerId: string, version: string | undefined): string {
  checkCustomerId(customerId);
  if (version === undefined) return `${KEY_PREFIX}{${customerId}}:`;
  checkFeatureSetVersion(version);
  return `${KEY_PREFIX}{${customerId}}:${version}:`;
}

/**
 * The keys of one customer in one feature-set version's namespace: `fw:{id}:<version>:events` (the history: compact
 * members, see {@link historyMember}), `…:firstseen`, `…:latest`, `…:windows`. Without a version: `fw:{id}:events` etc.
 */
export function customerKeys(customerId: string, version?: string): CustomerKeys {
  const prefix = customerPrefix(customerId, version);
  return {
    history: `${prefix}events`,
    firstSeen: `${prefix}firstseen`,
    latest: `${prefix}latest`,
    windowTree: `${prefix}windows`,
  };
}

/**
 * The claim key of one event for one customer and version: `fw:{id}:<version>:claim:<sha1 of eventKey>` (fixed
 * length whatever the key). Claims are per version, so filling a new version is not stopped by the old one's claims.
 */
export function customerClaimKey(customerId: string, eventHash: string, version?: string): string {
  return `${customerPrefix(customerId, version)}claim:${eventHash}`;
}

/** The sha1 (hex) of an event key: names its claim and makes its history member unique. */
export function eventHash(eventKey: string): string {
  return sha1(eventKey);
}

/** One-shot crypto.hash where Node has it (20.12+, about 3x cheaper per call), createHash before that. */
const sha1: (text: string) => string =
  typeof crypto.hash === 'function'
    ? (text) => crypto.hash('sha1', text, 'hex')
    : (text) => crypto.createHash('sha1').update(text).digest('hex');

/**
 * The history member of an event: `<orderKey> SEP <first 16 hex of its hash> SEP <time> SEP <value>`, SEP = U+0001.
 * Redis orders equal times by member bytes, so equal times go by order key (then hash) as long as the order key
 * holds no control character (planApply checks; the scripts also join members with U+0002). The time (also the score) rides in the member so that reads need
 * no WITHSCORES; the record itself is kept once, in the customer's `latest` key.
 */
export function historyMember(orderKey: string, hash: string, time: number, value: number): string {
  const h = hash.slice(0, MEMBER_HASH_LENGTH);
  return `${orderKey}${MEMBER_SEPARATOR}${h}${MEMBER_SEPARATOR}${time}${MEMBER_SEPARATOR}${value}`;
}

/** The order key a history member was stored under. */
export function orderKeyOf(member: string): string {
  return member.slice(0, member.indexOf(MEMBER_SEPARATOR));
}

/** Separates the parts of a history member: a byte that sorts below every character an order key may hold. */
export const MEMBER_SEPARATOR = '\u0001';

/** Joins history members in the scripts' replies: one string per reply instead of one per member. */
export const MEMBER_JOIN = '\u0002';

/**
 * The times and values of MEMBER_JOIN-joined members ('' = none), in order, without an object per member. A member
 * without its separators is not one {@link historyMember} wrote: DependencyError, never NaN features.
 */
export function parseJoinedMembers(joined: string): { times: Float64Array; values: Float64Array } {
  let n = joined === '' ? 0 : 1;
  for (let i = joined.indexOf(MEMBER_JOIN); i >= 0; i = joined.indexOf(MEMBER_JOIN, i + 1)) n++;
  const times = new Float64Array(n);
  const values = new Float64Array(n);
  let start = 0;
  for (let k = 0; k < n; k++) {
    const next = joined.indexOf(MEMBER_JOIN, start);
    const end = next < 0 ? joined.length : next;
    const first = joined.indexOf(MEMBER_SEPARATOR, start);
    const from = first + MEMBER_HASH_LENGTH + 2;
    const to = joined.indexOf(MEMBER_SEPARATOR, from);
    if (first < 0 || to < 0 || to >= end) {
      throw new DependencyError(
        'redis',
        `a history member is not in the layout this version writes: ${joined.slice(start, end)}`,
      );
    }
    times[k] = Number(joined.slice(from, to));
    values[k] = Number(joined.slice(to + 1, end));
    start = end + 1;
  }
  return { times, values };
}

/** The key of a record (RecordStore): `fw:<name>`. */
export function recordKey(name: string): string {
  return `${KEY_PREFIX}${name}`;
}

/** The channel of alias notices. */
export const ALIAS_CHANNEL = `${KEY_PREFIX}registry:aliases`;

/** A model's registry keys, all tagged by the model's name. */
export const registryKeys = {
  nextVersion: (m: string) => `${KEY_PREFIX}registry:{${m}}:next-version`,
  versions: (m: string) => `${KEY_PREFIX}registry:{${m}}:versions`,
  version: (m: string, v: number) => `${KEY_PREFIX}registry:{${m}}:version:${v}`,
  artifact: (m: string, v: number) => `${KEY_PREFIX}registry:{${m}}:artifact:${v}`,
  holdout: (m: string, v: number) => `${KEY_PREFIX}registry:{${m}}:holdout:${v}`,
  alias: (m: string, a: string) => `${KEY_PREFIX}registry:{${m}}:alias:${a}`,
  history: (m: string) => `${KEY_PREFIX}registry:{${m}}:history`,
};

/** A drift monitor's keys, tagged by the model's name (the registry's slot) and keyed by the champion version. */
export const driftKeys = {
  record: (m: DriftMonitor, name: DriftRecordName) =>
    `${KEY_PREFIX}drift:{${m.name}}:v${m.version}:${name === 'pointer' ? 'window' : 'history'}`,
  window: (m: DriftMonitor, n: number) => `${KEY_PREFIX}drift:{${m.name}}:v${m.version}:w${n}`,
};

/** The key behind {@link OnlineStore.claim}: `fw:claim:<key>`. */
export function claimKey(key: string): string {
  return `${KEY_PREFIX}claim:${key}`;
}

/** The key behind a lock or cooldown: `fw:lock:<name>`. */
export function lockKey(name: string): string {
  return `${KEY_PREFIX}lock:${name}`;
}

/** The default idle expiry of a customer's keys: retention plus max(allowed lateness, 1 h). */
export function defaultIdleTtlMs(input: { retentionMs: number; allowedLatenessMs: number }): number {
  return input.retentionMs + Math.max(input.allowedLatenessMs, CUSTOMER_IDLE_MARGIN_MS);
}
