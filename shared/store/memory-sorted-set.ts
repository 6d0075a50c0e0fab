// A sorted set ordered as Redis orders one (by score, then member bytes): the memory store's customer histories.
import { compareUtf8 } from '../features/order.ts';

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
