// The training Job as a pure batch/v1 object: GPU resources and placement, limits, labels, env by reference only.
import { createHash } from 'node:crypto';
import type { IJob } from 'kubernetes-models/batch/v1/Job';
import type { IAffinity } from 'kubernetes-models/v1/Affinity';
import type { Config } from '../config/index.ts';
import type { TimeRange } from '../events/index.ts';
import { TRAINER_EXIT_RETRIABLE } from '../training/result.ts';
import { labelValue, dnsLabel } from './names.ts';

/** Label keys every training Job carries; the SinkBinding and the one-run-per-model check select by them. */
export const TrainingLabels = {
  name: 'app.kubernetes.io/name',
  partOf: 'app.kubernetes.io/part-of',
  role: 'flywheel.dev/role',
  model: 'flywheel.dev/model',
  reason: 'flywheel.dev/reason',
  eventId: 'flywheel.dev/event-id',
} as const;

/** Annotation keys holding what labels cannot: the full reason and the triggering event's attributes. */
export const TrainingAnnotations = {
  reason: 'flywheel.dev/reason',
  eventId: 'flywheel.dev/event-id',
  eventSource: 'flywheel.dev/event-source',
  eventType: 'flywheel.dev/event-type',
  rangeFrom: 'flywheel.dev/range-from',
  rangeTo: 'flywheel.dev/range-to',
} as const;

export const TRAINER_APP = 'flywheel-trainer';
export const TRAINER_ROLE = 'trainer';
/** The node label NVIDIA's GPU feature discovery puts on GPU nodes; preferred when GPUs are requested. */
export const GPU_NODE_LABEL = 'nvidia.com/gpu.present';

export type TrainingJobConfig = Pick<
  Config,
  | 'TRAINING_NAMESPACE'
  | 'TRAINING_IMAGE'
  | 'TRAINING_GPU_COUNT'
  | 'TRAINING_NODE_SELECTOR'
  | 'TRAINING_TOLERATIONS'
  | 'TRAINING_BACKOFF_LIMIT'
  | 'TRAINING_DEADLINE_SECONDS'
  | 'TRAINING_TTL_SECONDS'
  | 'TRAINING_CONFIGMAP'
  | 'TRAINING_SECRET'
  | 'TRAINING_BACKEND'
>;

/** CPU and memory for the trainer container; GPUs come from TRAINING_GPU_COUNT. */
export interface TrainerResources {
  cpuRequest: string;
  cpuLimit: string;
  memoryRequest: string;
  memoryLimit: string;
}

export const DEFAULT_TRAINER_RESOURCES: TrainerResources = {
  cpuRequest: '2',
  cpuLimit: '4',
  memoryRequest: '4Gi',
  memoryLimit: '8Gi',
};

export interface TriggeringEvent {
  id: string;
  source: string;
  type: string;
}

export interface TrainingJobInput {
  model: string;
  range: TimeRange;
  reason: string;
  triggeredBy: TriggeringEvent;
  config: TrainingJobConfig;
  resources?: TrainerResources;
  /** Created suspended: a queued run, started later by launch-training (`spec.suspend`). */
  suspend?: boolean;
}

/** A stable hash of the triggering event (CloudEvents source + id, the idempotency key), hex. */
export function eventHash(e: Pick<TriggeringEvent, 'id' | 'source'>): string {
  return createHash('sha256').update(`${e.source}\u0000${e.id}`).digest('hex');
}

/**
 * The Job name for a model and a triggering event: `train-<model>-<10 hex of sha256(source+id)>`, a DNS-1123 label.
 * The same event always yields the same name, so a redelivered event meets its own Job (409) instead of a twin.
 */
export function trainingJobName(model: string, triggeredBy: Pick<TriggeringEvent, 'id' | 'source'>): string {
  const hash = eventHash(triggeredBy).slice(0, 10);
  const room = 63 - 'train-'.length - 1 - hash.length;
  return `train-${dnsLabel(model, room, 'model')}-${hash}`;
}

/** The label selector of one model's training Jobs (what the one-run-per-model check lists). */
export function modelSelector(model: string): string {
  return `${TrainingLabels.role}=${TRAINER_ROLE},${TrainingLabels.model}=${labelValue(model)}`;
}

/** The trainer's command line inside the image. */
export function trainerCommand(model: string, range: TimeRange): string[] {
  return [
    'node',
    'dist/trainer/index.js',
    'train',
    '--model',
    model,
    '--from',
    new Date(range.from).toISOString(),
    '--to',
    new Date(range.to).toISOString(),
  ];
}

/**
 * Builds the batch/v1 Job that trains `model` on `range` (README "Architecture", knative/README.md): GPU request, node selector, tolerations and
 * affinity from config; backoff, deadline and TTL; labels for selection; env from a ConfigMap and a Secret by
 * reference only (no secret value is ever written into the object); non-root, no privilege escalation.
 */
export function buildTrainingJob(input: TrainingJobInput): IJob {
  const { model, range, reason, triggeredBy, config } = input;
  const name = trainingJobName(model, triggeredBy);
  const res = input.resources ?? DEFAULT_TRAINER_RESOURCES;
  const gpus = config.TRAINING_GPU_COUNT;
  const labels: Record<string, string> = {
    [TrainingLabels.name]: TRAINER_APP,
    [TrainingLabels.partOf]: 'flywheel',
    [TrainingLabels.role]: TRAINER_ROLE,
    [TrainingLabels.model]: labelValue(model),
    [TrainingLabels.reason]: labelValue(reason, 'unspecified'),
    [TrainingLabels.eventId]: eventHash(triggeredBy).slice(0, 32),
  };
  const from = new Date(range.from).toISOString();
  const to = new Date(range.to).toISOString();
  const gpuResources = gpus > 0 ? { 'nvidia.com/gpu': String(gpus) } : {};
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name,
      namespace: config.TRAINING_NAMESPACE,
      labels,
      annotations: {
        [TrainingAnnotations.reason]: reason,
        [TrainingAnnotations.eventId]: triggeredBy.id,
        [TrainingAnnotations.eventSource]: triggeredBy.source,
        [TrainingAnnotations.eventType]: triggeredBy.type,
        [TrainingAnnotations.rangeFrom]: from,
        [TrainingAnnotations.rangeTo]: to,
      },
    },
    spec: {
      ...(input.suspend ? { suspend: true } : {}),
      backoffLimit: config.TRAINING_BACKOFF_LIMIT,
      podFailurePolicy: trainerFailurePolicy(),
      activeDeadlineSeconds: Math.max(1, config.TRAINING_DEADLINE_SECONDS),
      ttlSecondsAfterFinished: config.TRAINING_TTL_SECONDS,
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: 'Never',
          automountServiceAccountToken: false,
          nodeSelector: { ...config.TRAINING_NODE_SELECTOR },
          tolerations: config.TRAINING_TOLERATIONS.map(definedOnly),
          ...(gpus > 0 ? { affinity: gpuAffinity() } : {}),
          securityContext: {
            runAsNonRoot: true,
            runAsUser: 1000,
            runAsGroup: 1000,
            fsGroup: 1000,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          containers: [
            {
              name: 'trainer',
              image: config.TRAINING_IMAGE,
              imagePullPolicy: 'IfNotPresent',
              command: trainerCommand(model, range),
              envFrom: [
                { configMapRef: { name: config.TRAINING_CONFIGMAP } },
                { secretRef: { name: config.TRAINING_SECRET } },
              ],
              env: [
                { name: 'FLYWHEEL_MODEL', value: model },
                { name: 'FLYWHEEL_RANGE_FROM', value: from },
                { name: 'FLYWHEEL_RANGE_TO', value: to },
                { name: 'FLYWHEEL_JOB_NAME', value: name },
                { name: 'FLYWHEEL_TRAINING_REASON', value: reason },
                { name: 'TRAINING_BACKEND', value: config.TRAINING_BACKEND },
              ],
              resources: {
                requests: { cpu: res.cpuRequest, memory: res.memoryRequest, ...gpuResources },
                limits: { cpu: res.cpuLimit, memory: res.memoryLimit, ...gpuResources },
              },
              securityContext: {
                allowPrivilegeEscalation: false,
                privileged: false,
                readOnlyRootFilesystem: true,
                capabilities: { drop: ['ALL'] },
              },
              volumeMounts: [{ name: 'scratch', mountPath: '/tmp' }],
            },
          ],
          volumes: [{ name: 'scratch', emptyDir: {} }],
        },
      },
    },
  };
}

/**
 * How the Job controller treats a failed trainer pod: an eviction or preemption (DisruptionTarget) is not counted
 * against backoffLimit; exit 75 (a dependency down, TRAINER_EXIT_RETRIABLE) is retried within backoffLimit; any other
 * exit (bad data, no GPU, a bug) fails the Job at once instead of holding a GPU for retries that cannot help.
 */
function trainerFailurePolicy(): NonNullable<NonNullable<IJob['spec']>['podFailurePolicy']> {
  return {
    rules: [
      { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] },
      {
        action: 'Count',
        onExitCodes: { containerName: 'trainer', operator: 'In', values: [TRAINER_EXIT_RETRIABLE] },
      },
      {
        action: 'FailJob',
        onExitCodes: { containerName: 'trainer', operator: 'NotIn', values: [0, TRAINER_EXIT_RETRIABLE] },
      },
    ],
  };
}

/** Prefers nodes that GPU feature discovery marks as GPU nodes; the GPU request and nodeSelector make it a must. */
function gpuAffinity(): IAffinity {
  return {
    nodeAffinity: {
      preferredDuringSchedulingIgnoredDuringExecution: [
        {
          weight: 100,
          preference: { matchExpressions: [{ key: GPU_NODE_LABEL, operator: 'In', values: ['true'] }] },
        },
      ],
    },
  };
}

/** Copies an object without its undefined fields (config parses optional fields as `undefined`). */
function definedOnly<T extends object>(o: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as {
    [K in keyof T]: Exclude<T[K], undefined>;
  };
}
