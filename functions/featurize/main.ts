// featurize's process: wiring only (config → store → serve).
import { boot } from '../../shared/runtime/index.ts';
import { createStore } from '../../shared/store/index.ts';
import { featurizeFunction } from './function.ts';

await boot('featurize', async ({ config, log }) => {
  const store = createStore({ redisUrl: config.REDIS_URL, timeoutMs: config.DEPENDENCY_TIMEOUT_MS, log });
  return featurizeFunction({ store, config });
});
