// detect-drift as a servable function: its handler bound to the store, the registry and the drift configuration.
import { randomUUID } from 'node:crypto';
import type { Config } from '../../shared/config/index.ts';
import { type DriftConfig, driftConfig } from '../../shared/drift/index.ts';
import { ModelRegistry } from '../../shared/registry/index.ts';
import type { FunctionDefinition, Logger } from '../../shared/runtime/index.ts';
import type { OnlineStore } from '../../shared/store/index.ts';
import { Champions } from './champions.ts';
import { DETECT_DRIFT_TYPES, type DetectDriftType, handle } from './handler.ts';
import { SharedWindows } from './shared-window.ts';

export type DriftSettings = Pick<
  Config,
  | 'DRIFT_WINDOW_SIZE'
  | 'DRIFT_WINDOW_MS'
  | 'DRIFT_MIN_WINDOW_SIZE'
  | 'DRIFT_PSI_THRESHOLD'
  | 'DRIFT_CONSECUTIVE_WINDOWS'
  | 'DRIFT_FEATURE_SHARE'
  | 'DRIFT_COOLDOWN_MS'
  | 'DRIFT_ALPHA'
  | 'DRIFT_WASSERSTEIN_THRESHOLD'
  | 'DRIFT_JS_THRESHOLD'
  | 'MODEL_ALIAS_TTL_MS'
>;

export interface DetectDriftWiring {
  store: OnlineStore;
  config: DriftSettings;
  log: Logger;
  /** Defaults to a registry on the same store. */
  registry?: ModelRegistry;
  /** Settings of the drift core that have no variable (α, W/σ and JS thresholds, sample size…). */
  drift?: Partial<DriftConfig>;
  /** This replica's name in the cooldown lock (default: a random id). */
  owner?: string;
  /** How long a cached window pointer is trusted (default 1 s). */
  pointerTtlMs?: number;
  /** Expiry of an idle window's observations (default 24 h, at least 4 windows' time). */
  windowTtlMs?: number;
}

/** The drift core's configuration from the DRIFT_* variables, over the core's defaults. */
export function driftConfigFrom(config: DriftSettings, overrides: Partial<DriftConfig> = {}): DriftConfig {
  return driftConfig({
    windowSize: config.DRIFT_WINDOW_SIZE,
    windowMs: config.DRIFT_WINDOW_MS,
    minWindowSize: config.DRIFT_MIN_WINDOW_SIZE,
    psiThreshold: config.DRIFT_PSI_THRESHOLD,
    consecutiveWindows: config.DRIFT_CONSECUTIVE_WINDOWS,
    driftedShare: config.DRIFT_FEATURE_SHARE,
    alpha: config.DRIFT_ALPHA,
    wassersteinThreshold: config.DRIFT_WASSERSTEIN_THRESHOLD,
    jensenShannonThreshold: config.DRIFT_JS_THRESHOLD,
    ...overrides,
  });
}

/** detect-drift bound to a store (used by main.ts, the local runner and the tests). */
export function detectDriftFunction(w: DetectDriftWiring): FunctionDefinition<DetectDriftType> {
  const config = driftConfigFrom(w.config, w.drift);
  const registry = w.registry ?? new ModelRegistry({ store: w.store });
  const champions = new Champions({
    registry,
    ttlMs: w.config.MODEL_ALIAS_TTL_MS,
    log: w.log,
  });
  const windows = new SharedWindows({
    store: w.store,
    config,
    pointerTtlMs: w.pointerTtlMs ?? 1_000,
    windowTtlMs: w.windowTtlMs ?? Math.max(24 * 3_600_000, 4 * config.windowMs),
    clock: Date.now,
  });
  const deps = {
    champions,
    windows,
    store: w.store,
    config,
    cooldownMs: w.config.DRIFT_COOLDOWN_MS,
    owner: w.owner ?? `detect-drift-${randomUUID()}`,
    source: 'flywheel/detect-drift',
  };
  return {
    name: 'detect-drift',
    accepts: DETECT_DRIFT_TYPES,
    handle: (event, ctx) => handle(event, deps, ctx),
    ready: () => w.store.ping(),
    close: async () => {
      await champions.close();
      await w.store.close();
    },
  };
}
