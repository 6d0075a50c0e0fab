// detect-drift's process: wiring only (config → store → serve).
import { boot } from '../../shared/runtime/index.ts';
import { storeFromConfig } from '../../shared/store/index.ts';
import { detectDriftFunction } from './function.ts';

await boot('detect-drift', async ({ config, log }) => {
  const store = storeFromConfig(config, log);
  return detectDriftFunction({ store, config, log });
});
