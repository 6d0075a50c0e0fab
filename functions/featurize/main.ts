// featurize's process: wiring only (config → store → serve).
import { boot } from '../../shared/runtime/index.ts';
import { storeFromConfig } from '../../shared/store/index.ts';
import { featurizeFunction } from './function.ts';

await boot('featurize', async ({ config, log }) => {
  const store = storeFromConfig(config, log);
  return featurizeFunction({ store, config });
});
