// promote as a servable function: the gate's handler and the admin API bound to the registry and the live features.
import { randomUUID } from 'node:crypto';
import type { Config } from '../../shared/config/index.ts';
import { EventTypes } from '../../shared/events/index.ts';
import { customerFeatures } from '../../shared/features/index.ts';
import { loadOnnxModel, type OnnxModel } from '../../shared/inference/onnx.ts';
import { ModelRegistry } from '../../shared/registry/index.ts';
import type { FunctionDefinition, Logger } from '../../shared/runtime/index.ts';
import type { OnlineStore } from '../../shared/store/index.ts';
import { type GateConfig, GateConfigSchema } from './gate.ts';
import { handle, type PromoteType } from './handler.ts';
import { adminRoutes } from './http.ts';
import { type LiveFeatureSet, measure } from './measure.ts';

export type PromoteSettings = Pick<
  Config,
  | 'PROMOTE_TOKEN'
  | 'REGISTRY_READ_TOKEN'
  | 'PROMOTE_AUC_MARGIN'
  | 'PROMOTE_BRIER_MARGIN'
  | 'PROMOTE_LATENCY_RATIO'
  | 'PROMOTE_LATENCY_BUDGET_MS'
  | 'PROMOTE_MIN_AUC'
  | 'PROMOTE_MIN_SILHOUETTE'
  | 'PROMOTE_MIN_HOLDOUT_ROWS'
>;

export interface PromoteWiring {
  store: OnlineStore;
  config: PromoteSettings;
  log: Logger;
  /** Defaults to a registry on the same store. */
  registry?: ModelRegistry;
  /** The feature set live rows have (default: shared/features customerFeatures). */
  featureSet?: LiveFeatureSet;
  /** Gate settings that have no variable (silhouette floor, minimum holdout rows). */
  gate?: Partial<GateConfig>;
  /** Loads ONNX bytes (default loadOnnxModel). */
  load?: (bytes: Uint8Array) => Promise<OnnxModel>;
  now?: () => number;
  owner?: string;
  /** The per-version lease (default PROMOTE_LEASE_TTL_MS, PROMOTE_LEASE_MAX_HOLD_MS); tests shorten it. */
  lease?: { ttlMs: number; maxHoldMs: number };
}

/**
 * promote's per-version lease: a delivery that dies or loses Redis mid-gate frees the version within 5 s, and a
 * live one renews it every third of that while the gate times the models. Two retries of promote's Trigger (5,
 * exponential from 0.5 s: 15.5 s) come after 5 s, so a redelivery is judged instead of dead-lettered.
 */
export const PROMOTE_LEASE_TTL_MS = 5_000;
/**
 * The longest a delivery renews its lease: a stuck one lets a redelivery in after 10 s, before the Trigger's last
 * retry (15.5 s). A live gate slower than this is not cut short: it retakes the lease when no other delivery took
 * it (handler.ts, fence).
 */
export const PROMOTE_LEASE_MAX_HOLD_MS = 10_000;

/** The gate's settings from the PROMOTE_* variables, over the gate's defaults. */
export function gateConfigFrom(config: PromoteSettings, overrides: Partial<GateConfig> = {}): GateConfig {
  return GateConfigSchema.parse({
    aucMargin: config.PROMOTE_AUC_MARGIN,
    brierMargin: config.PROMOTE_BRIER_MARGIN,
    latencyRatio: config.PROMOTE_LATENCY_RATIO,
    latencyBudgetMs: config.PROMOTE_LATENCY_BUDGET_MS,
    minAuc: config.PROMOTE_MIN_AUC,
    minSilhouette: config.PROMOTE_MIN_SILHOUETTE,
    minHoldoutRows: config.PROMOTE_MIN_HOLDOUT_ROWS,
    ...overrides,
  });
}

/** promote bound to a store (used by main.ts, the local runner and the tests). */
export function promoteFunction(w: PromoteWiring): FunctionDefinition<PromoteType> {
  const registry = w.registry ?? new ModelRegistry({ store: w.store });
  const featureSet = w.featureSet ?? customerFeatures;
  const measureDeps = {
    registry,
    load: w.load ?? ((bytes: Uint8Array) => loadOnnxModel(bytes)),
    featureSet,
    // 200 timed runs per model, as many as the p99 of the former absolute check took from the candidate alone.
    latency: { rounds: 10, runs: 20, warmup: 20 },
  };
  const deps = {
    registry,
    store: w.store,
    measure: (candidate: Parameters<typeof measure>[0]['candidate'], championVersion: number | null) =>
      measure({ candidate, championVersion, deps: measureDeps }),
    gate: gateConfigFrom(w.config, w.gate),
    actor: 'promote',
    owner: w.owner ?? `promote-${randomUUID()}`,
    leaseTtlMs: w.lease?.ttlMs ?? PROMOTE_LEASE_TTL_MS,
    leaseMaxHoldMs: w.lease?.maxHoldMs ?? PROMOTE_LEASE_MAX_HOLD_MS,
    source: 'flywheel/promote',
    now: w.now ?? Date.now,
  };
  return {
    name: 'promote',
    accepts: [EventTypes.modelTrained],
    handle: (event, ctx) => handle(event, deps, ctx),
    routes: adminRoutes({
      registry,
      token: w.config.PROMOTE_TOKEN,
      readToken: w.config.REGISTRY_READ_TOKEN,
      featureSet,
      log: w.log,
    }),
    ready: () => w.store.ping(),
    close: () => w.store.close(),
  };
}
