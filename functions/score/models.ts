// The models a score replica serves: champions (and challengers) loaded from the registry, swapped in when aliases move.
import type { ModelName } from '../../shared/events/index.ts';
import { loadOnnxModel, type OnnxModel } from '../../shared/inference/onnx.ts';
import type { Alias, ModelRegistry } from '../../shared/registry/index.ts';
import { type Flight, singleFlight } from '../../shared/registry/single-flight.ts';
import type { Logger } from '../../shared/runtime/index.ts';

export interface LoadedModel {
  name: ModelName;
  version: number;
  columns: readonly string[];
  featureSet: { name: string; version: string };
  model: OnnxModel;
}

interface Slot extends Flight<LoadedModel | null> {
  loaded: LoadedModel | null;
  checkedAt: number;
}

export interface ModelSetOptions {
  registry: ModelRegistry;
  log: Logger;
  /** How long a replica trusts its view of an alias before re-reading it (a notice may have gone to another replica). */
  aliasTtlMs: number;
  /** How long a request waits for a model that is loading before it is answered without one. */
  loadTimeoutMs: number;
  /** How long a replaced model stays open for requests that still hold it. */
  retireAfterMs?: number;
  now?: () => number;
}

const SERVED: readonly [ModelName, Alias][] = [
  ['risk', 'champion'],
  ['segment', 'champion'],
  ['risk', 'challenger'],
];

/**
 * Keeps the served models current without dropping a request: a new version is loaded beside the old one and
 * swapped in with one reference assignment; the old session is closed only after `retireAfterMs`, so requests
 * that picked it up finish on it. Alias moves arrive by pub/sub notice and, as a fallback, by re-reading each alias
 * once it is older than `aliasTtlMs`.
 */
export class ModelSet {
  readonly #slots = new Map<string, Slot>();
  readonly #o: Required<Omit<ModelSetOptions, 'registry' | 'log'>> & ModelSetOptions;
  #unwatch: (() => Promise<void>) | null = null;
  #timers = new Set<NodeJS.Timeout>();
  #closed = false;

  constructor(opts: ModelSetOptions) {
    this.#o = { retireAfterMs: 30_000, now: Date.now, ...opts };
    for (const [name, alias] of SERVED)
      this.#slots.set(key(name, alias), { loaded: null, loading: null, checkedAt: 0 });
  }

  /** Loads what the aliases point at and starts listening for moves. */
  async start(): Promise<void> {
    this.#unwatch = await this.#o.registry.watch((n) => {
      if (this.#slots.has(key(n.name, n.alias))) void this.refresh(n.name, n.alias);
    });
    await Promise.all(SERVED.map(([name, alias]) => this.refresh(name, alias)));
  }

  /** True once both champions are loaded: the readiness gate. */
  ready(): boolean {
    return this.peek('risk', 'champion') !== null && this.peek('segment', 'champion') !== null;
  }

  /** The model now, without waiting; null when none is loaded. */
  peek(name: ModelName, alias: Alias): LoadedModel | null {
    return this.#slots.get(key(name, alias))?.loaded ?? null;
  }

  /**
   * The model for a request: the loaded one (re-checking a stale alias in the background), or, while the first
   * load runs, that load's result after at most `loadTimeoutMs`. null = no such model to serve.
   */
  async get(name: ModelName, alias: Alias): Promise<LoadedModel | null> {
    const slot = this.#slots.get(key(name, alias));
    if (!slot) return null;
    if (slot.loaded) {
      if (this.#o.now() - slot.checkedAt > this.#o.aliasTtlMs && !slot.loading)
        void this.refresh(name, alias);
      return slot.loaded;
    }
    const loading = slot.loading ?? this.refresh(name, alias);
    return Promise.race([
      loading,
      new Promise<null>((r) => this.#timer(() => r(null), this.#o.loadTimeoutMs)),
    ]);
  }

  /** Re-reads the alias and loads the version it names if it is not the one served. Never rejects. */
  refresh(name: ModelName, alias: Alias): Promise<LoadedModel | null> {
    const slot = this.#slots.get(key(name, alias));
    if (!slot) return Promise.resolve(null);
    return singleFlight(slot, async () => {
      try {
        const version = await this.#o.registry.alias(name, alias);
        slot.checkedAt = this.#o.now();
        if (version === (slot.loaded?.version ?? null)) return slot.loaded;
        const next = version === null ? null : await this.#load(name, version);
        const old = slot.loaded;
        slot.loaded = next;
        if (old) this.#retire(old);
        this.#o.log.info({ model: name, alias, version, previous: old?.version ?? null }, 'model swapped in');
        return next;
      } catch (err) {
        this.#o.log.warn({ err, model: name, alias }, 'model refresh failed; serving what is loaded');
        return slot.loaded;
      }
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#unwatch?.();
    for (const t of this.#timers) clearTimeout(t);
    for (const slot of this.#slots.values()) await slot.loaded?.model.close();
  }

  async #load(name: ModelName, version: number): Promise<LoadedModel> {
    const [record, bytes] = await Promise.all([
      this.#o.registry.get(name, version),
      this.#o.registry.artifact(name, version),
    ]);
    const model = await loadOnnxModel(bytes);
    const { columns, name: fsName, version: fsVersion } = record.lineage.featureSet;
    return { name, version, columns, featureSet: { name: fsName, version: fsVersion }, model };
  }

  #retire(old: LoadedModel): void {
    this.#timer(() => {
      void old.model.close();
    }, this.#o.retireAfterMs);
  }

  #timer(fn: () => void, ms: number): void {
    if (this.#closed) return;
    const t = setTimeout(() => {
      this.#timers.delete(t);
      fn();
    }, ms);
    t.unref();
    this.#timers.add(t);
  }
}

function key(name: ModelName, alias: Alias): string {
  return `${name}:${alias}`;
}
