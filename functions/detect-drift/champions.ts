// The champions detect-drift watches: each model's champion version and its drift baseline, cached with a short TTL.
import type { DriftBaseline } from '../../shared/drift/index.ts';
import { NotFoundError } from '../../shared/errors/index.ts';
import type { ModelName } from '../../shared/events/index.ts';
import type { ModelRegistry } from '../../shared/registry/index.ts';
import { type Flight, singleFlight } from '../../shared/registry/single-flight.ts';
import type { Logger } from '../../shared/runtime/index.ts';

/** A champion with a baseline: what one drift window compares against. */
export interface Monitored {
  name: ModelName;
  version: number;
  baseline: DriftBaseline;
}

interface Slot extends Flight<Monitored | null> {
  value: Monitored | null;
  /** The champion version seen last (null: none), also when it has no baseline. */
  version: number | null;
  /** When the alias was last read; null = never. */
  checkedAt: number | null;
  /** Set by an alias notice: the next get() re-reads. */
  stale: boolean;
}

export interface ChampionsOptions {
  registry: Pick<ModelRegistry, 'alias' | 'get' | 'watch'>;
  /** How long a replica trusts its view of an alias (MODEL_ALIAS_TTL_MS): a notice may have gone elsewhere. */
  ttlMs: number;
  log: Logger;
  now?: () => number;
}

/**
 * Caches each model's champion and baseline per replica: re-read once older than `ttlMs`, and at once when the
 * registry announces an alias move. A champion without a baseline is not watched (null).
 */
export class Champions {
  readonly #o: ChampionsOptions;
  readonly #now: () => number;
  readonly #slots = new Map<ModelName, Slot>();
  #unwatch: Promise<() => Promise<void>> | null = null;
  #closed = false;

  constructor(opts: ChampionsOptions) {
    this.#o = opts;
    this.#now = opts.now ?? Date.now;
  }

  /** The watched champion of `name`, or null; re-reads the registry when the cached view is stale. */
  async get(name: ModelName): Promise<Monitored | null> {
    this.#watch();
    const slot = this.#slot(name);
    if (slot.checkedAt !== null && !slot.stale && this.#now() - slot.checkedAt < this.#o.ttlMs)
      return slot.value;
    return this.refresh(name);
  }

  /** Re-reads the alias now (concurrent callers share one read); keeps the cached view if the registry fails. */
  refresh(name: ModelName): Promise<Monitored | null> {
    const slot = this.#slot(name);
    return singleFlight(slot, async () => {
      slot.stale = false;
      try {
        const version = await this.#o.registry.alias(name, 'champion');
        if (version !== slot.version || slot.checkedAt === null) slot.value = await this.#load(name, version);
        slot.version = version;
        slot.checkedAt = this.#now();
        return slot.value;
      } catch (err) {
        if (slot.checkedAt === null) throw err;
        this.#o.log.warn({ err, model: name }, 'champion refresh failed; watching the cached champion');
        return slot.value;
      }
    });
  }

  /** Stops listening for alias notices. */
  async close(): Promise<void> {
    this.#closed = true;
    const unwatch = await this.#unwatch?.catch(() => null);
    await unwatch?.();
  }

  async #load(name: ModelName, version: number | null): Promise<Monitored | null> {
    if (version === null) return null;
    try {
      const record = await this.#o.registry.get(name, version);
      const baseline = record.lineage.baseline;
      if (!baseline) {
        this.#o.log.warn({ model: name, version }, 'champion has no drift baseline: not watched');
        return null;
      }
      // The whole baseline: each model's window watches its own input features and its prediction.
      return { name, version, baseline };
    } catch (err) {
      if (err instanceof NotFoundError) return null;
      throw err;
    }
  }

  #slot(name: ModelName): Slot {
    let slot = this.#slots.get(name);
    if (!slot) {
      slot = { value: null, version: null, checkedAt: null, stale: false, loading: null };
      this.#slots.set(name, slot);
    }
    return slot;
  }

  /** Subscribes once to alias notices; a champion move makes the next get() re-read that model. */
  #watch(): void {
    if (this.#unwatch || this.#closed) return;
    this.#unwatch = this.#o.registry.watch((notice) => {
      if (notice.alias !== 'champion') return;
      const slot = this.#slots.get(notice.name);
      if (slot) slot.stale = true;
    });
    this.#unwatch.catch((err: unknown) => {
      this.#o.log.warn({ err }, 'cannot subscribe to alias notices; relying on the alias TTL');
    });
  }
}
