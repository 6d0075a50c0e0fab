// Entries with a millisecond expiry, the memory store's one building block for everything that lapses.

/** A map whose entries may expire; expired entries read as absent and are swept. */
export class Expiring<V> {
  readonly #entries = new Map<string, { value: V; expiresAt: number | null }>();
  readonly #now: () => number;

  constructor(now: () => number) {
    this.#now = now;
  }

  get(key: string): V | undefined {
    const e = this.#entries.get(key);
    if (e === undefined) return undefined;
    if (e.expiresAt !== null && e.expiresAt <= this.#now()) {
      this.#entries.delete(key);
      return undefined;
    }
    return e.value;
  }

  /** Sets the entry, expiring ttlMs from now, or never without ttlMs. */
  set(key: string, value: V, ttlMs?: number): void {
    this.#entries.set(key, { value, expiresAt: ttlMs === undefined ? null : this.#now() + ttlMs });
  }

  /** Moves a live entry's expiry to ttlMs from now; false when absent. */
  expire(key: string, ttlMs: number): boolean {
    if (this.get(key) === undefined) return false;
    const e = this.#entries.get(key);
    if (e) e.expiresAt = this.#now() + ttlMs;
    return true;
  }

  /** Deletes a live entry; false when there was none. */
  delete(key: string): boolean {
    return this.get(key) !== undefined && this.#entries.delete(key);
  }

  /** Drops expired entries, so memory stays bounded without reads. */
  sweep(): void {
    const now = this.#now();
    for (const [key, e] of this.#entries)
      if (e.expiresAt !== null && e.expiresAt <= now) this.#entries.delete(key);
  }

  clear(): void {
    this.#entries.clear();
  }
}
