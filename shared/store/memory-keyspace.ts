// The in-process store's keyspace: typed values with Redis-like expiry (lazy on access plus an unref'ed sweep).
import { ConflictError } from '../errors/index.ts';
import { compareUtf8 } from './keys.ts';

/** A sorted set ordered like Redis: by score, then by member bytes. */
export class SortedSet {
  private readonly scores = new Map<string, number>();
  /** Entries in order; kept sorted on every write. */
  readonly entries: { member: string; score: number }[] = [];

  get size(): number {
    return this.entries.length;
  }

  /** Adds a member or moves it to its new score. */
  add(member: string, score: number): void {
    if (this.scores.has(member)) this.entries.splice(this.indexOf(member), 1);
    this.scores.set(member, score);
    const entry = { member, score };
    let lo = 0;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const e = this.entries[mid];
      if (e !== undefined && compareEntries(e, entry) < 0) lo = mid + 1;
      else hi = mid;
    }
    this.entries.splice(lo, 0, entry);
  }

  /** Entries with min <= score <= max (each bound optionally exclusive), at most `limit`. */
  range(opts: { min: number; max: number; minExclusive?: boolean; maxExclusive?: boolean; limit?: number }) {
    const out: { member: string; score: number }[] = [];
    for (const e of this.entries) {
      if (opts.limit !== undefined && out.length >= opts.limit) break;
      if (e.score < opts.min || (opts.minExclusive && e.score === opts.min)) continue;
      if (e.score > opts.max || (opts.maxExclusive && e.score === opts.max)) break;
      out.push(e);
    }
    return out;
  }

  /** Removes every entry with score < bound (ZREMRANGEBYSCORE -inf (bound). */
  removeBelow(bound: number): void {
    let n = 0;
    while (n < this.entries.length && (this.entries[n]?.score ?? bound) < bound) n++;
    this.removeFirst(n);
  }

  /** Removes the n lowest entries. */
  removeFirst(n: number): void {
    for (const e of this.entries.splice(0, n)) this.scores.delete(e.member);
  }

  private indexOf(member: string): number {
    return this.entries.findIndex((e) => e.member === member);
  }
}

function compareEntries(a: { member: string; score: number }, b: { member: string; score: number }): number {
  if (a.score !== b.score) return a.score < b.score ? -1 : 1;
  return compareUtf8(a.member, b.member);
}

/** The value types a key can hold, as in Redis. */
export interface ValueTypes {
  string: Buffer;
  hash: Map<string, string>;
  list: string[];
  zset: SortedSet;
}
type TypeName = keyof ValueTypes;
type Entry = { [T in TypeName]: { type: T; data: ValueTypes[T]; expiresAt: number | null } }[TypeName];

const create: { [T in TypeName]: () => ValueTypes[T] } = {
  string: () => Buffer.alloc(0),
  hash: () => new Map(),
  list: () => [],
  zset: () => new SortedSet(),
};

/** Keys with typed values and millisecond expiry; empty containers disappear, as in Redis. */
export class Keyspace {
  private readonly entries = new Map<string, Entry>();
  private readonly timer: NodeJS.Timeout;
  private readonly now: () => number;

  constructor(opts: { sweepMs?: number; now?: () => number } = {}) {
    this.now = opts.now ?? Date.now;
    this.timer = setInterval(() => this.sweep(), opts.sweepMs ?? 1000);
    this.timer.unref();
  }

  private live(key: string): Entry | undefined {
    const e = this.entries.get(key);
    if (e && e.expiresAt !== null && e.expiresAt <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return e;
  }

  /** The value of `key` if it holds type `type`; undefined when absent; ConflictError when it holds another type. */
  read<T extends TypeName>(key: string, type: T): ValueTypes[T] | undefined {
    const e = this.live(key);
    if (e === undefined) return undefined;
    if (e.type !== type) {
      throw new ConflictError('WRONGTYPE Operation against a key holding the wrong kind of value');
    }
    return e.data as ValueTypes[T];
  }

  /** The value of `key`, created empty (without expiry) when absent; ConflictError on another type. */
  write<T extends TypeName>(key: string, type: T): ValueTypes[T] {
    const existing = this.read(key, type);
    if (existing !== undefined) return existing;
    const data = create[type]();
    this.entries.set(key, { type, data, expiresAt: null } as Entry);
    return data;
  }

  /** Replaces the value of `key` (any type before), with an expiry or none. */
  put<T extends TypeName>(key: string, type: T, data: ValueTypes[T], ttlMs?: number): void {
    this.entries.set(key, {
      type,
      data,
      expiresAt: ttlMs === undefined ? null : this.now() + ttlMs,
    } as Entry);
  }

  /** Replaces the value of `key`, keeping its expiry (as INCR does in Redis). */
  replace<T extends TypeName>(key: string, type: T, data: ValueTypes[T]): void {
    const expiresAt = this.live(key)?.expiresAt ?? null;
    this.entries.set(key, { type, data, expiresAt } as Entry);
  }

  has(key: string): boolean {
    return this.live(key) !== undefined;
  }

  delete(key: string): boolean {
    return this.live(key) !== undefined && this.entries.delete(key);
  }

  /** Sets the expiry of an existing key (PEXPIRE); nothing when absent. */
  expire(key: string, ttlMs: number): void {
    const e = this.live(key);
    if (e) e.expiresAt = this.now() + ttlMs;
  }

  /** Deletes `key` when its container is empty (Redis never keeps empty hashes, lists or sorted sets). */
  dropIfEmpty(key: string): void {
    const e = this.entries.get(key);
    if (e === undefined) return;
    const size =
      e.type === 'string'
        ? 1
        : e.type === 'hash'
          ? e.data.size
          : e.type === 'list'
            ? e.data.length
            : e.data.size;
    if (size === 0) this.entries.delete(key);
  }

  /** Removes expired keys, so memory stays bounded without reads. */
  sweep(): void {
    const now = this.now();
    for (const [key, e] of this.entries)
      if (e.expiresAt !== null && e.expiresAt <= now) this.entries.delete(key);
  }

  close(): void {
    clearInterval(this.timer);
    this.entries.clear();
  }
}
