// The training Job object: valid batch/v1, GPU placement and limits from config, stable names, no inline secrets.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { type IJob, Job } from 'kubernetes-models/batch/v1/Job';
import { Secret } from 'kubernetes-models/v1/Secret';
import { defaultConfig } from '../../../shared/config/index.ts';
import {
  buildTrainingJob,
  modelSelector,
  type TrainingJobInput,
  trainingJobName,
} from '../../../shared/k8s/job.ts';
import { dnsLabel, isDnsLabel, isLabelValue, labelValue } from '../../../shared/k8s/names.ts';

const FROM = Date.parse('2025-01-01T00:00:00Z');
const TO = Date.parse('2025-01-31T00:00:00Z');
/** sha256 of the triggering event's source, a NUL and its id: what names and labels the Job of input(). */
const EVENT_DIGEST = createHash('sha256').update('flywheel/detect-drift\u0000evt-42').digest('hex');

function input(
  overrides: Partial<TrainingJobInput> = {},
  env: Record<string, string> = {},
): TrainingJobInput {
  return {
    model: 'risk',
    range: { from: FROM, to: TO },
    reason: 'PSI 0.31 > 0.2 on amount, hour_of_day — 3 windows in a row',
    triggeredBy: { id: 'evt-42', source: 'flywheel/detect-drift', type: 'dev.flywheel.drift.detected' },
    config: defaultConfig(env),
    ...overrides,
  };
}

function podSpec(job: IJob) {
  const spec = job.spec?.template.spec;
  assert.ok(spec, 'the Job has a pod spec');
  return spec;
}

function container(job: IJob) {
  const c = podSpec(job).containers[0];
  assert.ok(c, 'the pod has a container');
  return c;
}

describe('buildTrainingJob', () => {
  it('builds an object that validates against the Kubernetes batch/v1 Job schema', () => {
    const job = buildTrainingJob(input());
    assert.doesNotThrow(() => new Job(job).validate());
    assert.equal(job.apiVersion, 'batch/v1');
    assert.equal(job.kind, 'Job');
    // The same schema rejects a broken variant, so the check above can fail.
    const broken = structuredClone(job) as unknown as {
      spec: { template: { spec: { restartPolicy: unknown } } };
    };
    broken.spec.template.spec.restartPolicy = 42;
    assert.throws(() => new Job(broken as unknown as IJob).validate(), /restartPolicy/);
  });

  it('requests nvidia.com/gpu from TRAINING_GPU_COUNT and places the pod on GPU nodes from config', () => {
    const job = buildTrainingJob(
      input(
        {},
        {
          TRAINING_GPU_COUNT: '2',
          TRAINING_NODE_SELECTOR: '{"cloud.google.com/gke-accelerator":"nvidia-l4"}',
          TRAINING_TOLERATIONS: '[{"key":"gpu","operator":"Equal","value":"l4","effect":"NoSchedule"}]',
        },
      ),
    );
    const c = container(job);
    assert.deepEqual(c.resources?.requests, { cpu: '2', memory: '4Gi', 'nvidia.com/gpu': '2' });
    assert.deepEqual(c.resources?.limits, { cpu: '4', memory: '8Gi', 'nvidia.com/gpu': '2' });
    const spec = podSpec(job);
    assert.deepEqual(spec.nodeSelector, { 'cloud.google.com/gke-accelerator': 'nvidia-l4' });
    assert.deepEqual(spec.tolerations, [
      { key: 'gpu', operator: 'Equal', value: 'l4', effect: 'NoSchedule' },
    ]);
    const preferred = spec.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution;
    assert.deepEqual(preferred, [
      {
        weight: 100,
        preference: {
          matchExpressions: [{ key: 'nvidia.com/gpu.present', operator: 'In', values: ['true'] }],
        },
      },
    ]);
    assert.doesNotThrow(() => new Job(job).validate());
  });

  it('uses the default GPU placement: one GPU, the GPU node label and the nvidia.com/gpu taint', () => {
    const job = buildTrainingJob(input());
    assert.equal(container(job).resources?.limits?.['nvidia.com/gpu'], '1');
    assert.deepEqual(podSpec(job).nodeSelector, { 'nvidia.com/gpu.present': 'true' });
    assert.deepEqual(podSpec(job).tolerations, [
      { key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' },
    ]);
  });

  it('omits the GPU request and the GPU affinity when TRAINING_GPU_COUNT is 0', () => {
    const job = buildTrainingJob(input({}, { TRAINING_GPU_COUNT: '0' }));
    const c = container(job);
    assert.deepEqual(c.resources?.requests, { cpu: '2', memory: '4Gi' });
    assert.deepEqual(c.resources?.limits, { cpu: '4', memory: '8Gi' });
    assert.equal(podSpec(job).affinity, undefined);
    assert.doesNotThrow(() => new Job(job).validate());
  });

  it('carries backoffLimit, activeDeadlineSeconds and ttlSecondsAfterFinished from config', () => {
    const job = buildTrainingJob(
      input(
        {},
        { TRAINING_BACKOFF_LIMIT: '4', TRAINING_DEADLINE_SECONDS: '7200', TRAINING_TTL_SECONDS: '600' },
      ),
    );
    assert.equal(job.spec?.backoffLimit, 4);
    assert.equal(job.spec?.activeDeadlineSeconds, 7200);
    assert.equal(job.spec?.ttlSecondsAfterFinished, 600);
    assert.equal(podSpec(job).restartPolicy, 'Never');
  });

  it('runs the trainer image with the model and the ISO range on its command line and in its env', () => {
    const job = buildTrainingJob(input({}, { TRAINING_IMAGE: 'registry.example/trainer:1.2.3' }));
    const c = container(job);
    assert.equal(c.image, 'registry.example/trainer:1.2.3');
    assert.deepEqual(c.command, [
      'node',
      'dist/trainer/index.js',
      'train',
      '--model',
      'risk',
      '--from',
      '2025-01-01T00:00:00.000Z',
      '--to',
      '2025-01-31T00:00:00.000Z',
    ]);
    const env = Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value]));
    assert.equal(env.FLYWHEEL_MODEL, 'risk');
    assert.equal(env.FLYWHEEL_RANGE_FROM, '2025-01-01T00:00:00.000Z');
    assert.equal(env.FLYWHEEL_RANGE_TO, '2025-01-31T00:00:00.000Z');
  });

  it('takes store and log settings from the ConfigMap and the Secret by reference, never a secret value inline', () => {
    const secret = new Secret({
      metadata: { name: 'flywheel-secrets', namespace: 'flywheel' },
      stringData: { REDIS_URL: 'redis://:hunter2@redis:6379', KAFKA_SASL_PASSWORD: 's3cr3t-pw' },
    });
    secret.validate();
    const job = buildTrainingJob(
      input({}, { TRAINING_CONFIGMAP: 'flywheel-config', TRAINING_SECRET: 'flywheel-secrets' }),
    );
    const c = container(job);
    assert.deepEqual(c.envFrom, [
      { configMapRef: { name: 'flywheel-config' } },
      { secretRef: { name: 'flywheel-secrets' } },
    ]);
    const secretKeys = Object.keys(secret.stringData ?? {});
    const secretValues = Object.values(secret.stringData ?? {});
    for (const e of c.env ?? []) {
      assert.ok(!secretKeys.includes(e.name), `${e.name} is one of the Secret's keys`);
      assert.equal(e.valueFrom, undefined, `${e.name} reads a value by key instead of through envFrom`);
      assert.ok(!secretValues.includes(e.value ?? ''), `${e.name} holds a secret value`);
    }
    const text = JSON.stringify(job);
    for (const v of secretValues) assert.ok(!text.includes(v));
  });

  it('runs as non-root without privilege escalation and without a service account token', () => {
    const job = buildTrainingJob(input());
    const spec = podSpec(job);
    assert.equal(spec.securityContext?.runAsNonRoot, true);
    assert.equal(spec.automountServiceAccountToken, false);
    assert.equal(spec.serviceAccountName, undefined);
    const sc = container(job).securityContext;
    assert.equal(sc?.allowPrivilegeEscalation, false);
    assert.equal(sc?.privileged, false);
    assert.deepEqual(sc?.capabilities?.drop, ['ALL']);
  });

  it('labels the Job and its pods with the trainer role, the model, a label-safe reason and the event hash', () => {
    const job = buildTrainingJob(input());
    const labels = job.metadata?.labels ?? {};
    assert.equal(labels['app.kubernetes.io/name'], 'flywheel-trainer');
    assert.equal(labels['flywheel.dev/role'], 'trainer');
    assert.equal(labels['flywheel.dev/model'], 'risk');
    assert.equal(labels['flywheel.dev/reason'], 'PSI-0.31-0.2-on-amount-hour_of_day-3-windows-in-a-row');
    assert.equal(labels['flywheel.dev/event-id'], EVENT_DIGEST.slice(0, 32));
    for (const [k, v] of Object.entries(labels))
      assert.ok(isLabelValue(v), `label ${k}=${v} is not a valid value`);
    assert.deepEqual(job.spec?.template.metadata?.labels, labels);
    assert.deepEqual(job.metadata?.annotations, {
      'flywheel.dev/reason': 'PSI 0.31 > 0.2 on amount, hour_of_day — 3 windows in a row',
      'flywheel.dev/event-id': 'evt-42',
      'flywheel.dev/event-source': 'flywheel/detect-drift',
      'flywheel.dev/event-type': 'dev.flywheel.drift.detected',
      'flywheel.dev/range-from': '2025-01-01T00:00:00.000Z',
      'flywheel.dev/range-to': '2025-01-31T00:00:00.000Z',
    });
    assert.equal(job.metadata?.namespace, 'flywheel');
  });

  it('names the Job train-<model>-<hash>, a DNS-1123 label, the same for the same event and different otherwise', () => {
    const a = buildTrainingJob(input()).metadata?.name ?? '';
    assert.equal(a, `train-risk-${EVENT_DIGEST.slice(0, 10)}`);
    assert.ok(isDnsLabel(a));
    assert.equal(buildTrainingJob(input({ reason: 'another reason' })).metadata?.name, a);
    const otherId = trainingJobName('risk', { id: 'evt-43', source: 'flywheel/detect-drift' });
    const otherSource = trainingJobName('risk', { id: 'evt-42', source: 'operator' });
    assert.notEqual(otherId, a);
    assert.notEqual(otherSource, a);
    const long = trainingJobName('Very_Long Model Name '.repeat(8), { id: 'x', source: 'y' });
    assert.ok(long.length <= 63, `${long} is ${long.length} characters`);
    assert.ok(isDnsLabel(long), long);
  });

  it('selects one model’s training Jobs by role and model label', () => {
    assert.equal(modelSelector('segment'), 'flywheel.dev/role=trainer,flywheel.dev/model=segment');
  });
});

describe('Kubernetes names', () => {
  it('folds free text into label values and DNS labels, falling back when nothing usable is left', () => {
    assert.equal(labelValue('  --drift: PSI>0.2!  '), 'drift-PSI-0.2');
    assert.equal(labelValue('***'), 'none');
    assert.equal(labelValue('x'.repeat(80)).length, 63);
    assert.equal(dnsLabel('Risk_Model', 20, 'model'), 'risk-model');
    assert.equal(dnsLabel('___', 20, 'model'), 'model');
    assert.equal(isDnsLabel('Train-risk'), false);
    assert.equal(isDnsLabel(`a${'b'.repeat(63)}`), false);
  });
});
