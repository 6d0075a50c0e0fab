// featurize as a servable function: its handler bound to the store and the feature set.
import type { Config } from '../../shared/config/index.ts';
import { EventTypes } from '../../shared/events/index.ts';
import { customerFeatures, FEATURIZE_CLAIM_TTL_MS, type FeatureSet } from '../../shared/features/index.ts';
import type { FunctionDefinition } from '../../shared/runtime/index.ts';
import type { OnlineStore } from '../../shared/store/index.ts';
import { type FeaturizeType, handle } from './handler.ts';

export interface FeaturizeWiring {
  store: OnlineStore;
  config: Pick<Config, 'ALLOWED_LATENESS_MS'>;
  /** The feature set computed and written (its version names the keys); default: the code's, customerFeatures. */
  featureSet?: FeatureSet;
  now?: () => number;
}

export { FEATURIZE_CLAIM_TTL_MS };

/** featurize bound to a store (used by main.ts, the local runner and the tests). */
export function featurizeFunction(w: FeaturizeWiring): FunctionDefinition<FeaturizeType> {
  const deps = {
    store: w.store,
    featureSet: w.featureSet ?? customerFeatures,
    source: 'flywheel/featurize',
    allowedLatenessMs: w.config.ALLOWED_LATENESS_MS,
    claimTtlMs: FEATURIZE_CLAIM_TTL_MS,
    now: w.now ?? Date.now,
  };
  return {
    name: 'featurize',
    accepts: [EventTypes.transactionAccepted],
    handle: (event, ctx) => handle(event, deps, ctx),
    ready: () => w.store.ping(),
    close: () => w.store.close(),
  };
}
