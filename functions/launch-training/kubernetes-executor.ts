// The Kubernetes executor: one batch/v1 Job per triggering event, at most one running per model (checked by label).
import { ConflictError } from '../../shared/errors/index.ts';
import type { JobsClient } from '../../shared/k8s/client.ts';
import {
  buildTrainingJob,
  modelSelector,
  type TrainerResources,
  type TrainingJobConfig,
} from '../../shared/k8s/job.ts';
import type { LaunchOutcome, TrainingExecutor } from './executor.ts';

export interface KubernetesExecutorOptions {
  jobs: JobsClient;
  config: TrainingJobConfig;
  resources?: TrainerResources;
}

/**
 * Lists the model's unfinished Jobs first: another one running → skipped. Otherwise creates this event's Job; a 409
 * means a redelivered event whose Job is already there → already-exists. Launches of one model are serialised within
 * the process so two events arriving together cannot both pass the check; across replicas the check is best effort
 * (launch-training runs with a small scale and the Job name still prevents duplicates per event).
 */
export function kubernetesExecutor(opts: KubernetesExecutorOptions): TrainingExecutor {
  const lanes = new Map<string, Promise<unknown>>();
  const serialise = <T>(model: string, task: () => Promise<T>): Promise<T> => {
    const previous = lanes.get(model) ?? Promise.resolve();
    const next = previous.then(task, task);
    const tail = next.catch(() => undefined);
    lanes.set(model, tail);
    void tail.then(() => {
      if (lanes.get(model) === tail) lanes.delete(model);
    });
    return next;
  };

  return {
    kind: 'kubernetes',
    launch(request, ctx) {
      return serialise(request.model, async (): Promise<LaunchOutcome> => {
        const job = buildTrainingJob({
          ...request,
          config: opts.config,
          ...(opts.resources ? { resources: opts.resources } : {}),
        });
        const jobName = job.metadata?.name ?? '';
        const namespace = opts.jobs.namespace;
        const others = (await opts.jobs.listActive(modelSelector(request.model))).filter(
          (j) => j.name !== jobName,
        );
        const running = others[0];
        if (running) return { kind: 'coalesced', into: running.name };
        try {
          const created = await opts.jobs.create(job);
          ctx.log.info(
            { jobName: created.name, namespace: created.namespace, uid: created.uid },
            'training Job created',
          );
          return { kind: 'launched', jobName: created.name, namespace: created.namespace };
        } catch (err) {
          if (err instanceof ConflictError) return { kind: 'already-exists', jobName, namespace };
          throw err;
        }
      });
    },
  };
}
