// launch-training as a servable function: its handler bound to a training executor chosen from config.
import type { Config } from '../../shared/config/index.ts';
import { createJobsClient } from '../../shared/k8s/client.ts';
import type { FunctionDefinition, Logger } from '../../shared/runtime/index.ts';
import type { TrainingExecutor } from './executor.ts';
import { handle, LAUNCH_TRAINING_SOURCE, LAUNCH_TRAINING_TYPES, type LaunchTrainingType } from './handler.ts';
import { kubernetesExecutor } from './kubernetes-executor.ts';
import {
  type LocalExecutorOptions,
  localExecutor,
  localOutputDir,
  type TrainerExit,
} from './local-executor.ts';

export interface LaunchTrainingWiring {
  executor: TrainingExecutor;
  config: Pick<Config, 'TRAINING_LOOKBACK_MS'>;
  now?: () => number;
}

/** launch-training bound to an executor (used by main.ts, the local runner and the tests). */
export function launchTrainingFunction(w: LaunchTrainingWiring): FunctionDefinition<LaunchTrainingType> {
  const deps = {
    executor: w.executor,
    source: LAUNCH_TRAINING_SOURCE,
    lookbackMs: w.config.TRAINING_LOOKBACK_MS,
    now: w.now ?? Date.now,
  };
  return {
    name: 'launch-training',
    accepts: LAUNCH_TRAINING_TYPES,
    handle: (event, ctx) => handle(event, deps, ctx),
    close: async () => {
      await w.executor.close?.();
    },
  };
}

export interface ExecutorChoice {
  config: Config;
  log: Logger;
  /** Kubernetes credentials: a kubeconfig file, or in-cluster; otherwise the client's default discovery. */
  kubeconfigPath?: string;
  inCluster?: boolean;
  /** Local runs: called when a run ends for good (the local runner registers the result from here). */
  onExit?: (exit: TrainerExit) => void | Promise<void>;
  /** Local runs: called when a queued run starts (the local runner announces it). */
  onLaunched?: LocalExecutorOptions['onLaunched'];
}

/** The executor TRAINING_EXECUTOR names: Jobs on the cluster, or the trainer as a local child process. */
export function executorFromConfig(c: ExecutorChoice): TrainingExecutor {
  const { config } = c;
  switch (config.TRAINING_EXECUTOR) {
    case 'kubernetes':
      return kubernetesExecutor({
        jobs: createJobsClient({
          namespace: config.TRAINING_NAMESPACE,
          timeoutMs: config.DEPENDENCY_TIMEOUT_MS,
          ...(c.kubeconfigPath ? { kubeconfigPath: c.kubeconfigPath } : {}),
          ...(c.inCluster ? { inCluster: true } : {}),
        }),
        config,
        maxRuns: config.TRAINING_MAX_RUNS,
        maxQueued: config.TRAINING_MAX_QUEUED,
      });
    case 'local':
      return localExecutor({
        outputDir: localOutputDir(config.FLYWHEEL_DATA_DIR),
        log: c.log,
        ...localBounds(config),
        ...(c.onExit ? { onExit: c.onExit } : {}),
        ...(c.onLaunched ? { onLaunched: c.onLaunched } : {}),
      });
  }
}

/** The local executor's bounds and retry backoff from config. */
export function localBounds(
  config: Pick<
    Config,
    | 'TRAINING_MAX_RUNS'
    | 'TRAINING_MAX_QUEUED'
    | 'TRAINING_RETRY_BACKOFF_MS'
    | 'TRAINING_RETRY_BACKOFF_MAX_MS'
  >,
): Pick<LocalExecutorOptions, 'maxRuns' | 'maxQueued' | 'retryBackoffMs' | 'retryBackoffMaxMs'> {
  return {
    maxRuns: config.TRAINING_MAX_RUNS,
    maxQueued: config.TRAINING_MAX_QUEUED,
    retryBackoffMs: config.TRAINING_RETRY_BACKOFF_MS,
    retryBackoffMaxMs: config.TRAINING_RETRY_BACKOFF_MAX_MS,
  };
}
