// Windows shared by every replica through the online store: one HINCRBY per observation, a pointer moved by CAS.
import { z } from 'zod';
import {
  closeWindow,
  type DriftConfig,
  type DriftDecision,
  DriftHistorySchema,
  decide,
  EMPTY_HISTORY,
  type WindowReport,
} from '../../shared/drift/index.ts';
import { BusyError } from '../../shared/errors/index.ts';
import type { OnlineStore } from '../../shared/store/index.ts';
import type { Monitored } from './champions.ts';
import { Fields, foldWindow, seedOf } from './encoding.ts';

/** The window a model's observations go to now: its number and opening time (epoch ms). */
export const WindowPointerSchema = z.object({
  n: z.number().int().nonnegative(),
  start: z.number().int().nonnegative(),
});
export type WindowPointer = z.infer<typeof WindowPointerSchema>;

/** The persistence history with the number of the next window it expects. */
export const StoredHistorySchema = z.object({
  next: z.number().int().nonnegative(),
  history: DriftHistorySchema,
});
export type StoredHistory = z.infer<typeof StoredHistorySchema>;

/**
 * Keys, all tagged by model name (one Redis Cluster slot per model, the registry's slot) and keyed by the
 * champion version, so a new champion starts a fresh window and history:
 * | key                          | type   | holds                                    | TTL                                  |
 * |------------------------------|--------|------------------------------------------|--------------------------------------|
 * | drift:{m}:v<v>:window        | string | WindowPointer JSON, moved by CAS         | none (a few bytes per champion)      |
 * | drift:{m}:v<v>:w<n>          | hash   | window n's observations (encoding.ts)    | windowTtlMs, refreshed by every push |
 * | drift:{m}:v<v>:history       | string | StoredHistory JSON, moved by CAS         | none                                 |
 * | lock drift:<m>:v<v>:cooldown | string | the replica that sent the last detection | DRIFT_COOLDOWN_MS                    |
 */
export const driftKeys = {
  pointer: (m: Monitored) => `drift:{${m.name}}:v${m.version}:window`,
  window: (m: Monitored, n: number) => `drift:{${m.name}}:v${m.version}:w${n}`,
  history: (m: Monitored) => `drift:{${m.name}}:v${m.version}:history`,
  /** Per champion version: a drift still there after a promotion is measured against the new champion and may be
   * detected at once, while one champion's detections stay one per cooldown. */
  cooldown: (m: Pick<Monitored, 'name' | 'version'>) => `drift:${m.name}:v${m.version}:cooldown`,
};

/** What one push saw: the window it landed in, the window's count, and whether this replica should close it. */
export interface Pushed {
  monitor: Monitored;
  pointer: WindowPointer;
  raw: string;
  count: number;
  due: boolean;
}

/** A window this replica closed, measured and decided. */
export interface Closed {
  monitor: Monitored;
  report: WindowReport;
  decision: DriftDecision;
}

interface CachedPointer {
  pointer: WindowPointer;
  raw: string;
  readAt: number;
}

export interface SharedWindowsOptions {
  store: Pick<OnlineStore, 'get' | 'hincrby' | 'hgetall' | 'del' | 'compareAndSet'>;
  config: DriftConfig;
  /** How long a replica trusts its cached pointer; stale pushes are also caught by the hash's counters. */
  pointerTtlMs: number;
  /** Expiry of a window hash, refreshed by every push: how long an idle open window keeps its observations. */
  windowTtlMs: number;
  /** Wall clock for the pointer cache (not the window times, which the caller passes). */
  clock: () => number;
}

/** One replica's view of the shared windows: a pointer cache, and windows it must close on its next push. */
export class SharedWindows {
  readonly #o: SharedWindowsOptions;
  readonly #pointers = new Map<string, CachedPointer>();
  readonly #deferred = new Set<string>();

  constructor(opts: SharedWindowsOptions) {
    this.#o = opts;
  }

  /**
   * Adds one event's increments to the model's current window: one HINCRBY in the steady state. A push that lands
   * in a window already closed (its `#open` marker is 0, or its count passed windowSize) re-reads the pointer and,
   * if the window moved on, pushes again into the current one. `due` is true for exactly one push per window when
   * the count reaches windowSize, and for any push once the window is windowMs old with minWindowSize observations.
   */
  async push(monitor: Monitored, increments: Record<string, number>, now: number): Promise<Pushed> {
    const { windowSize, minWindowSize, windowMs } = this.#o.config;
    let cached = await this.#current(monitor, now);
    const ownField =
      (increments[Fields.featureEvents] ?? 0) > 0 ? Fields.featureEvents : Fields.predictionEvents;
    const otherField = ownField === Fields.featureEvents ? Fields.predictionEvents : Fields.featureEvents;
    for (let attempt = 0; ; attempt++) {
      const { n, start } = cached.pointer;
      const counts = await this.#o.store.hincrby(driftKeys.window(monitor, n), increments, {
        ttlMs: this.#o.windowTtlMs,
      });
      const own = counts[ownField] ?? 0;
      const other = counts[otherField] ?? 0;
      const count = Math.max(own, other);
      if ((counts[Fields.opened] === 0 || count > windowSize) && attempt < 2) {
        const fresh = await this.#read(monitor, now);
        if (fresh.pointer.n !== n) {
          cached = fresh;
          continue;
        }
      }
      const deferred = this.#deferred.delete(deferKey(monitor, n));
      const due =
        deferred ||
        (own === windowSize && other < windowSize) ||
        (count >= minWindowSize && now - start >= windowMs);
      return { monitor, pointer: cached.pointer, raw: cached.raw, count, due };
    }
  }

  /** Remembers a due window this replica could not close on this event (one close per reply): the next push closes it. */
  defer(pushed: Pushed): void {
    this.#deferred.add(deferKey(pushed.monitor, pushed.pointer.n));
  }

  /**
   * Closes the window `pushed` saw, if this replica wins the pointer's compare-and-set (exactly one does): opens
   * the next window, reads and deletes the closed one, measures it, and decides with the stored history. null when
   * another replica closed it first.
   */
  async close(pushed: Pushed, now: number): Promise<Closed | null> {
    const { monitor, pointer } = pushed;
    const store = this.#o.store;
    const next: WindowPointer = { n: pointer.n + 1, start: now };
    await store.hincrby(
      driftKeys.window(monitor, next.n),
      { [Fields.opened]: 1 },
      { ttlMs: this.#o.windowTtlMs },
    );
    const raw = JSON.stringify(next);
    const won = await store.compareAndSet({
      key: driftKeys.pointer(monitor),
      expected: pushed.raw,
      next: raw,
    });
    if (!won) {
      this.#pointers.delete(cacheKey(monitor));
      return null;
    }
    this.#pointers.set(cacheKey(monitor), { pointer: next, raw, readAt: this.#o.clock() });
    const windowKey = driftKeys.window(monitor, pointer.n);
    const fields = await store.hgetall(windowKey);
    await store.del(windowKey);
    const state = foldWindow({
      baseline: monitor.baseline,
      fields,
      start: pointer.start,
      sequence: pointer.n,
      seed: seedOf(windowKey),
      config: this.#o.config,
    });
    const { report } = closeWindow({ state, baseline: monitor.baseline, config: this.#o.config, now });
    const decision = await this.#decide(monitor, report);
    return { monitor, report, decision };
  }

  /**
   * Decides with the stored history and writes the new one by compare-and-set (retried on a lost race, so no
   * update is lost). Windows are decided in the order their closers reach this step.
   */
  async #decide(monitor: Monitored, report: WindowReport): Promise<DriftDecision> {
    const store = this.#o.store;
    const key = driftKeys.history(monitor);
    for (let attempt = 0; ; attempt++) {
      const raw = await store.get(key);
      const stored: StoredHistory =
        raw === null ? { next: 0, history: EMPTY_HISTORY } : StoredHistorySchema.parse(JSON.parse(raw));
      const decision = decide({ report, history: stored.history, config: this.#o.config });
      const next: StoredHistory = {
        next: Math.max(stored.next, report.sequence + 1),
        history: decision.history,
      };
      const written = await store.compareAndSet({ key, expected: raw, next: JSON.stringify(next) });
      if (written || attempt >= 4) return decision;
    }
  }

  /** The cached pointer, or the stored one when the cache is older than pointerTtlMs. */
  async #current(monitor: Monitored, now: number): Promise<CachedPointer> {
    const cached = this.#pointers.get(cacheKey(monitor));
    if (cached && this.#o.clock() - cached.readAt < this.#o.pointerTtlMs) return cached;
    return this.#read(monitor, now);
  }

  /** Reads the pointer; the first replica to watch a champion creates window 0 (compare-and-set from absent). */
  async #read(monitor: Monitored, now: number): Promise<CachedPointer> {
    const store = this.#o.store;
    const key = driftKeys.pointer(monitor);
    for (let attempt = 0; ; attempt++) {
      const raw = await store.get(key);
      if (raw !== null) {
        const entry = { pointer: WindowPointerSchema.parse(JSON.parse(raw)), raw, readAt: this.#o.clock() };
        this.#pointers.set(cacheKey(monitor), entry);
        return entry;
      }
      const first: WindowPointer = { n: 0, start: now };
      await store.hincrby(
        driftKeys.window(monitor, 0),
        { [Fields.opened]: 1 },
        { ttlMs: this.#o.windowTtlMs },
      );
      const created = JSON.stringify(first);
      if (await store.compareAndSet({ key, expected: null, next: created })) {
        const entry = { pointer: first, raw: created, readAt: this.#o.clock() };
        this.#pointers.set(cacheKey(monitor), entry);
        return entry;
      }
      if (attempt >= 2) throw new BusyError(`drift window pointer ${key} keeps changing`);
    }
  }
}

const cacheKey = (m: Monitored): string => `${m.name}:${m.version}`;
const deferKey = (m: Monitored, n: number): string => `${m.name}:${m.version}:${n}`;
