// promote's process: wiring only (config → store → serve, with the admin API).
import { boot } from '../../shared/runtime/index.ts';
import { createStore } from '../../shared/store/index.ts';
import { promoteFunction } from './function.ts';

await boot('promote', async ({ config, log }) => {
  const store = createStore({ redisUrl: config.REDIS_URL, timeoutMs: config.DEPENDENCY_TIMEOUT_MS, log });
  return promoteFunction({ store, config, log });
});
