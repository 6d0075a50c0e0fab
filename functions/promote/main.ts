// promote's process: wiring only (config → store → serve, with the admin API).
import { boot } from '../../shared/runtime/index.ts';
import { storeFromConfig } from '../../shared/store/index.ts';
import { promoteFunction } from './function.ts';

await boot('promote', async ({ config, log }) => {
  const store = storeFromConfig(config, log);
  return promoteFunction({ store, config, log });
});
