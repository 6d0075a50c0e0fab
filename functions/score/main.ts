// score's process: wiring only (config → store, registry → models → serve).
import { ModelRegistry } from '../../shared/registry/index.ts';
import { boot } from '../../shared/runtime/index.ts';
import { storeFromConfig } from '../../shared/store/index.ts';
import { scoreFunction } from './function.ts';

await boot('score', async ({ config, log }) => {
  const store = storeFromConfig(config, log);
  const registry = new ModelRegistry({ store, artifactDir: `${config.FLYWHEEL_DATA_DIR}/models` });
  const { def, models } = scoreFunction({ store, registry, config, log });
  // Serve at once (readiness stays false until both champions are loaded); requests meanwhile wait, bounded.
  models
    .start()
    .catch((err: unknown) => log.error({ err }, 'model start-up failed; aliases are re-read on demand'));
  return def;
});
