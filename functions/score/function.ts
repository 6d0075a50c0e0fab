// score as a servable function: the CloudEvent handler, the REST/v2 routes and the served models, bound together.
import { type Config, defaultConfig } from '../../shared/config/index.ts';
import { EventTypes } from '../../shared/events/index.ts';
import { customerFeatures, type FeatureSet } from '../../shared/features/index.ts';
import type { ModelRegistry } from '../../shared/registry/index.ts';
import type { FunctionDefinition, Logger } from '../../shared/runtime/index.ts';
import type { OnlineStore } from '../../shared/store/index.ts';
import { handle, type ScoreType } from './handler.ts';
import { scoreRoutes } from './http.ts';
import { ModelSet } from './models.ts';

const defaults = defaultConfig();

export interface ScoreWiring {
  store: OnlineStore;
  registry: ModelRegistry;
  /** ALLOWED_LATENESS_MS (featurize's) and MAX_CLOCK_SKEW_MS (ingest's) judge candidate transactions; defaults if absent. */
  config: Pick<Config, 'MODEL_ALIAS_TTL_MS' | 'MODEL_LOAD_TIMEOUT_MS'> &
    Partial<Pick<Config, 'ALLOWED_LATENESS_MS' | 'MAX_CLOCK_SKEW_MS'>>;
  log: Logger;
  featureSet?: FeatureSet;
  now?: () => number;
  /** Close the store on shutdown (false when the caller shares it). */
  ownsStore?: boolean;
}

/** score bound to a store and registry; `models.start()` must run before it serves (main.ts and the runner do). */
export function scoreFunction(w: ScoreWiring): { def: FunctionDefinition<ScoreType>; models: ModelSet } {
  const now = w.now ?? Date.now;
  const models = new ModelSet({
    registry: w.registry,
    log: w.log,
    aliasTtlMs: w.config.MODEL_ALIAS_TTL_MS,
    loadTimeoutMs: w.config.MODEL_LOAD_TIMEOUT_MS,
    now,
  });
  const featureSet = w.featureSet ?? customerFeatures;
  const deps = { models, source: 'flywheel/score', now };
  const def: FunctionDefinition<ScoreType> = {
    name: 'score',
    accepts: [EventTypes.featuresUpdated],
    handle: (event, ctx) => handle(event, deps, ctx),
    routes: (app) =>
      scoreRoutes(app, {
        models,
        store: w.store,
        featureSet,
        allowedLatenessMs: w.config.ALLOWED_LATENESS_MS ?? defaults.ALLOWED_LATENESS_MS,
        maxClockSkewMs: w.config.MAX_CLOCK_SKEW_MS ?? defaults.MAX_CLOCK_SKEW_MS,
        now,
      }),
    ready: () => models.ready(),
    close: async () => {
      await models.close();
      if (w.ownsStore !== false) await w.store.close();
    },
  };
  return { def, models };
}
