// The Kubernetes executor: one batch/v1 Job per run, one running per model; a queued run is a suspended Job.
import { ConflictError, OverCapacityError } from '../../shared/errors/index.ts';
import type { ModelName } from '../../shared/events/index.ts';
import type { JobsClient } from '../../shared/k8s/client.ts';
import {
  buildTrainingJob,
  TRAINER_ROLE,
  type TrainerResources,
  TrainingAnnotations,
  type TrainingJobConfig,
  TrainingLabels,
  trainingJobName,
} from '../../shared/k8s/job.ts';
import { type JobSummary, jobPhase } from '../../shared/k8s/summary.ts';
import type { LaunchOutcome, QueuedRun, TrainingExecutor } from './executor.ts';
import { behindOf, nextToStart, type Occupancy, type PlannedRun, place } from './placement.ts';

export interface KubernetesExecutorOptions {
  jobs: JobsClient;
  config: TrainingJobConfig;
  resources?: TrainerResources;
  /** Runs at once across models (TRAINING_MAX_RUNS). */
  maxRuns: number;
  /** Suspended Jobs waiting across models (TRAINING_MAX_QUEUED). */
  maxQueued: number;
}

/** The executor's queue lives in the API server, so it survives launch-training scaling to zero. */
export interface KubernetesExecutor extends TrainingExecutor {
  resumeQueued(): Promise<{ resumed: string[]; waiting: QueuedRun[] }>;
}

/**
 * Reads every trainer Job, then places the request (placement.ts): start → create the Job; queued → create it
 * suspended (and delete the queued Jobs of the model it covers); coalesced → nothing; full → 429. A 409 on create, or
 * the event's own Job found, is a redelivery → already-exists (or queued again while it is still suspended). Each call
 * first resumes the queued Jobs that may start, so a queue moves whenever launch-training hears of anything; the
 * run-ended events (model.trained, training.failed) reach it for that. Launches are serialised within the process;
 * across replicas the check is best effort (launch-training runs with a small scale, and Job names stop duplicates of
 * one event).
 */
export function kubernetesExecutor(opts: KubernetesExecutorOptions): KubernetesExecutor {
  let lane: Promise<unknown> = Promise.resolve();
  const serialise = <T>(task: () => Promise<T>): Promise<T> => {
    const next = lane.then(task, task);
    lane = next.catch(() => undefined);
    return next;
  };
  const namespace = opts.jobs.namespace;
  const selector = `${TrainingLabels.role}=${TRAINER_ROLE}`;

  /** The unfinished trainer Jobs as placement sees them, queued ones oldest first. */
  const occupancy = async (): Promise<Occupancy & { all: JobSummary[] }> => {
    const all = await opts.jobs.listByLabel(selector);
    const unfinished = all.filter((j) => jobPhase(j) === 'running');
    const queued = unfinished
      .filter((j) => j.suspended)
      .sort((a, b) => (a.createdAt ?? '').localeCompare(b.createdAt ?? '') || a.name.localeCompare(b.name));
    return {
      all,
      running: unfinished.filter((j) => !j.suspended).map(planned),
      queued: queued.map(planned),
      maxRuns: opts.maxRuns,
      maxQueued: opts.maxQueued,
    };
  };

  /** Resumes the queued Jobs that may start now, oldest first; the occupancy after it. */
  const resume = async (): Promise<{ resumed: string[]; o: Occupancy }> => {
    const o = await occupancy();
    const started: string[] = [];
    for (let next = nextToStart(o); next; next = nextToStart(o)) {
      await opts.jobs.resume(next.jobName);
      started.push(next.jobName);
      const run = next;
      o.queued = o.queued.filter((q) => q.jobName !== run.jobName);
      o.running = [...o.running, run];
    }
    return { resumed: started, o };
  };

  return {
    kind: 'kubernetes',
    resumeQueued: () =>
      serialise(async () => {
        const { resumed, o } = await resume();
        const waiting = o.queued.map((q) => ({
          jobName: q.jobName,
          model: q.model,
          behind: o.running.filter((r) => r.model === q.model || o.running.length >= o.maxRuns),
        }));
        return { resumed, waiting };
      }),
    launch(request, ctx) {
      return serialise(async (): Promise<LaunchOutcome> => {
        const { resumed } = await resume();
        if (resumed.length > 0) ctx.log.info({ resumed }, 'queued training Jobs resumed');
        const jobName = trainingJobName(request.model, request.triggeredBy);
        const o = await occupancy();
        const own = o.all.find((j) => j.name === jobName);
        if (own?.suspended && jobPhase(own) === 'running') {
          return { kind: 'queued', jobName, behind: behindOf(request.model, o) };
        }
        if (own) return { kind: 'already-exists', jobName, namespace };
        const placement = place({ jobName, model: request.model, range: request.range }, o);
        switch (placement.kind) {
          case 'coalesced':
            return { kind: 'coalesced', into: placement.into.jobName };
          case 'full':
            throw new OverCapacityError(
              `training queue full: ${placement.queued} suspended Jobs wait (TRAINING_MAX_QUEUED ${opts.maxQueued}); retry later`,
            );
          case 'start':
          case 'queued':
            break;
          default:
            return unreachable(placement);
        }
        const queued = placement.kind === 'queued';
        const job = buildTrainingJob({
          ...request,
          config: opts.config,
          suspend: queued,
          ...(opts.resources ? { resources: opts.resources } : {}),
        });
        try {
          const created = await opts.jobs.create(job);
          ctx.log.info(
            { jobName: created.name, namespace: created.namespace, uid: created.uid, queued },
            queued ? 'training Job created suspended (queued)' : 'training Job created',
          );
        } catch (err) {
          if (err instanceof ConflictError) return { kind: 'already-exists', jobName, namespace };
          throw err;
        }
        if (placement.kind === 'start') return { kind: 'launched', jobName, namespace };
        for (const old of placement.supersedes) {
          await opts.jobs.remove(old.jobName);
          ctx.log.info({ jobName: old.jobName, by: jobName }, 'queued training Job replaced by a newer one');
        }
        return { kind: 'queued', jobName, behind: placement.behind };
      });
    },
  };
}

/** A Job as placement sees it: its model label and the range in its annotations. */
function planned(job: JobSummary): PlannedRun {
  return {
    jobName: job.name,
    model: (job.labels[TrainingLabels.model] ?? '') as ModelName,
    range: {
      from: Date.parse(job.annotations[TrainingAnnotations.rangeFrom] ?? ''),
      to: Date.parse(job.annotations[TrainingAnnotations.rangeTo] ?? ''),
    },
  };
}

function unreachable(placement: never): never {
  throw new Error(`unhandled placement ${JSON.stringify(placement)}`);
}
