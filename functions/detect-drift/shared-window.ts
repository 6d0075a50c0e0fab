// Windows shared by every replica through the online store: one HINCRBY per observation, a pointer moved by CAS.
import { z } from 'zod';
import {
  type DriftConfig,
  type DriftDecision,
  DriftHistorySchema,
  decide,
  EMPTY_HISTORY,
  measureWindow,
  type WindowReport,
} from '../../shared/drift/index.ts';
import { BusyError } from '../../shared/errors/index.ts';
import type { DriftWindowStore } from '../../shared/store/index.ts';
import type { Monitored } from './champions.ts';
import { Fields, seedOf, windowCountsOf } from './encoding.ts';

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

/** Lock names of a monitor. The windows' keys and their layout are the store's (shared/store/keys.ts, drift). */
export const driftKeys = {
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
  store: DriftWindowStore;
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
      const counts = await this.#o.store.addDriftCounts(monitor, n, increments, this.#o.windowTtlMs);
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
    await store.addDriftCounts(monitor, next.n, { [Fields.opened]: 1 }, this.#o.windowTtlMs);
    const raw = JSON.stringify(next);
    const won = await store.swapDriftRecord(monitor, 'pointer', pushed.raw, raw);
    if (!won) {
      this.#pointers.delete(cacheKey(monitor));
      return null;
    }
    this.#pointers.set(cacheKey(monitor), { pointer: next, raw, readAt: this.#o.clock() });
    const fields = await store.takeDriftWindow(monitor, pointer.n);
    const report = measureWindow({
      counts: windowCountsOf({ fields, start: pointer.start, sequence: pointer.n }),
      baseline: monitor.baseline,
      config: this.#o.config,
      now,
      seed: windowSeed(monitor, pointer.n),
    });
    const decision = await this.#decide(monitor, report);
    return { monitor, report, decision };
  }

  /**
   * Decides with the stored history and writes the new one by compare-and-set (retried on a lost race, so no
   * update is lost). Windows are decided in the order their closers reach this step.
   */
  async #decide(monitor: Monitored, report: WindowReport): Promise<DriftDecision> {
    const store = this.#o.store;
    for (let attempt = 0; ; attempt++) {
      const raw = await store.readDriftRecord(monitor, 'history');
      const stored: StoredHistory =
        raw === null ? { next: 0, history: EMPTY_HISTORY } : StoredHistorySchema.parse(JSON.parse(raw));
      const decision = decide({ report, history: stored.history, config: this.#o.config });
      const next: StoredHistory = {
        next: Math.max(stored.next, report.sequence + 1),
        history: decision.history,
      };
      const written = await store.swapDriftRecord(monitor, 'history', raw, JSON.stringify(next));
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
    for (let attempt = 0; ; attempt++) {
      const raw = await store.readDriftRecord(monitor, 'pointer');
      if (raw !== null) {
        const entry = { pointer: WindowPointerSchema.parse(JSON.parse(raw)), raw, readAt: this.#o.clock() };
        this.#pointers.set(cacheKey(monitor), entry);
        return entry;
      }
      const first: WindowPointer = { n: 0, start: now };
      await store.addDriftCounts(monitor, 0, { [Fields.opened]: 1 }, this.#o.windowTtlMs);
      const created = JSON.stringify(first);
      if (await store.swapDriftRecord(monitor, 'pointer', null, created)) {
        const entry = { pointer: first, raw: created, readAt: this.#o.clock() };
        this.#pointers.set(cacheKey(monitor), entry);
        return entry;
      }
      if (attempt >= 2)
        throw new BusyError(`the drift window pointer of ${cacheKey(monitor)} keeps changing`);
    }
  }
}

const cacheKey = (m: Monitored): string => `${m.name}:${m.version}`;
/** The seed of window n's sample: from the window's identity, so every replica that could close it draws the same. */
const windowSeed = (m: Monitored, n: number): number => seedOf(`${m.name}:v${m.version}:w${n}`);
const deferKey = (m: Monitored, n: number): string => `${m.name}:${m.version}:${n}`;
