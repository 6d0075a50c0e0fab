// launch-training's process: wiring only (config → executor → serve).
import { boot } from '../../shared/runtime/index.ts';
import { executorFromConfig, launchTrainingFunction } from './function.ts';

await boot('launch-training', async ({ config, log }) => {
  const executor = executorFromConfig({
    config,
    log,
    ...(config.KUBECONFIG ? { kubeconfigPath: config.KUBECONFIG } : {}),
  });
  log.info({ executor: executor.kind, namespace: config.TRAINING_NAMESPACE }, 'training executor chosen');
  return launchTrainingFunction({ executor, config });
});
