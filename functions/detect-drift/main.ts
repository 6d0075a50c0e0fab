// detect-drift's process: wiring only (config → store → serve).
import { boot } from '../../shared/runtime/index.ts';
import { createStore } from '../../shared/store/index.ts';
import { detectDriftFunction } from './function.ts';

await boot('detect-drift', async ({ config, log }) => {
  const store = createStore({ redisUrl: config.REDIS_URL, timeoutMs: config.DEPENDENCY_TIMEOUT_MS, log });
  return detectDriftFunction({ store, config, log });
});
