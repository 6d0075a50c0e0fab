// The Knative Services of each overlay: autoscaling, probes, resources, image and command, configuration and secrets.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { ConfigSchema, loadConfig } from '../../shared/config/index.ts';
import {
  DEPLOYMENTS,
  FUNCTIONS,
  type K8sObject,
  named,
  ofKind,
  overlayOf,
  ROOT,
  render,
} from './support/manifests.ts';
import { KnativeServiceSchema, type KnativeServiceView } from './support/wiring.ts';
import { goDurationSeconds, quantity } from './support/values.ts';

/** The environment variables the brief fixes, minus those that must not come from the ConfigMap. */
const REQUIRED_CONFIG_KEYS = [
  'LOG_LEVEL',
  'KAFKA_BROKERS',
  'KAFKA_TOPIC',
  'FLYWHEEL_DATA_DIR',
  'MAX_BODY_BYTES',
  'SHUTDOWN_GRACE_MS',
  'MAX_CLOCK_SKEW_MS',
  'ALLOWED_LATENESS_MS',
  'MODEL_ALIAS_TTL_MS',
  'MODEL_LOAD_TIMEOUT_MS',
  'DRIFT_WINDOW_SIZE',
  'DRIFT_WINDOW_MS',
  'DRIFT_PSI_THRESHOLD',
  'DRIFT_CONSECUTIVE_WINDOWS',
  'DRIFT_FEATURE_SHARE',
  'DRIFT_COOLDOWN_MS',
  'TRAINING_EXECUTOR',
  'TRAINING_NAMESPACE',
  'TRAINING_IMAGE',
  'TRAINING_GPU_COUNT',
  'TRAINING_NODE_SELECTOR',
  'TRAINING_TOLERATIONS',
  'TRAINING_BACKOFF_LIMIT',
  'TRAINING_DEADLINE_SECONDS',
  'TRAINING_TTL_SECONDS',
  'TRAINING_CONFIGMAP',
  'TRAINING_SECRET',
  'TRAINING_LOOKBACK_MS',
  'PROMOTE_AUC_MARGIN',
  'PROMOTE_BRIER_MARGIN',
  'PROMOTE_LATENCY_BUDGET_MS',
  'PROMOTE_MIN_AUC',
];
/** Knative sets PORT (and rejects it), the SinkBinding sets K_SINK, secrets come from flywheel-secrets. */
const NEVER_IN_CONFIG = ['PORT', 'K_SINK', 'K_SERVICE', 'REDIS_URL', 'PROMOTE_TOKEN'];

/** The function Services by name (the dev dead-letters Service is not a function). */
const services = (objects: readonly K8sObject[]): Map<string, KnativeServiceView> =>
  new Map(
    ofKind(
      objects.filter((o) => (FUNCTIONS as readonly string[]).includes(o.metadata.name)),
      { apiVersion: 'serving.knative.dev/v1', kind: 'Service', schema: KnativeServiceSchema },
    ).map((s) => [s.metadata.name, s]),
  );

const configData = (objects: readonly K8sObject[]): Record<string, string> =>
  z.record(z.string(), z.string()).parse(Reflect.get(named(objects, 'ConfigMap', 'flywheel-config'), 'data'));

const containerOf = (svc: KnativeServiceView) => {
  const [container, ...sidecars] = svc.spec.template.spec.containers;
  assert.ok(container, `${svc.metadata.name} has no container`);
  assert.equal(sidecars.length, 0, `${svc.metadata.name} has extra containers`);
  return container;
};

for (const overlay of DEPLOYMENTS) {
  describe(`function Services in ${overlay}`, () => {
    const objects = render(overlay);
    const byName = services(objects);

    for (const fn of FUNCTIONS) {
      it(`${fn}: scales to zero on concurrency, within bounds, with a scale-down delay`, () => {
        const svc = byName.get(fn);
        assert.ok(svc, `no Service ${fn}`);
        const a = svc.spec.template.metadata.annotations;
        const keepWarm = overlayOf(overlay).endsWith('production') && fn === 'score';
        assert.equal(a['autoscaling.knative.dev/min-scale'], keepWarm ? '1' : '0');
        const max = Number(a['autoscaling.knative.dev/max-scale']);
        assert.ok(Number.isInteger(max) && max >= 1, `max-scale ${max}`);
        assert.equal(a['autoscaling.knative.dev/metric'], 'concurrency');
        const target = Number(a['autoscaling.knative.dev/target']);
        const cc = svc.spec.template.spec.containerConcurrency;
        assert.ok(cc > 0, `containerConcurrency ${cc}`);
        assert.ok(target > 0 && target <= cc, `target ${target} must be in (0, containerConcurrency ${cc}]`);
        assert.ok(goDurationSeconds(a['autoscaling.knative.dev/scale-down-delay'] ?? '') > 0);
      });

      it(`${fn}: probes, resources, image and command`, () => {
        const svc = byName.get(fn);
        assert.ok(svc);
        const c = containerOf(svc);
        assert.equal(c.readinessProbe.httpGet.path, '/health/readiness');
        assert.equal(c.livenessProbe.httpGet.path, '/health/liveness');
        for (const r of ['cpu', 'memory']) {
          const request = c.resources.requests[r];
          const limit = c.resources.limits[r];
          assert.ok(request && limit, `${fn} ${r} request and limit`);
          assert.ok(quantity(request) <= quantity(limit), `${fn} ${r} request ${request} > limit ${limit}`);
        }
        assert.match(c.image, /^ghcr\.io\/flywheel-dev\/flywheel-functions:\d+\.\d+\.\d+$/);
        assert.deepEqual(c.command, ['node', `dist/functions/${fn}/index.js`]);
        assert.ok(c.env.some((e) => e.name === 'FUNCTION' && e.value === fn));
        assert.equal(svc.spec.template.metadata.labels['flywheel.dev/role'], 'function');
      });

      it(`${fn}: configuration from flywheel-config, only the secret keys it needs`, () => {
        const svc = byName.get(fn);
        assert.ok(svc);
        const c = containerOf(svc);
        assert.deepEqual(c.envFrom, [{ configMapRef: { name: 'flywheel-config' } }]);
        const secretKeys = c.env
          .flatMap((e) => (e.valueFrom?.secretKeyRef ? [`${e.valueFrom.secretKeyRef.name}/${e.name}`] : []))
          .sort();
        const expected = [
          'flywheel-secrets/REDIS_URL',
          ...(fn === 'promote'
            ? ['flywheel-secrets/PROMOTE_TOKEN', 'flywheel-secrets/REGISTRY_READ_TOKEN']
            : []),
        ];
        assert.deepEqual(secretKeys, expected.sort());
        for (const e of c.env) {
          assert.ok(!NEVER_IN_CONFIG.includes(e.name) || e.valueFrom?.secretKeyRef, `${fn} sets ${e.name}`);
        }
      });
    }

    it('FLYWHEEL_DATA_DIR lies on an emptyDir in every function, whose root filesystem is read-only', () => {
      const dataDir = configData(objects).FLYWHEEL_DATA_DIR ?? '';
      const PodSchema = z.looseObject({
        spec: z.looseObject({
          template: z.looseObject({
            spec: z.looseObject({
              volumes: z.array(z.looseObject({ name: z.string(), emptyDir: z.looseObject({}).optional() })),
              containers: z.array(
                z.looseObject({
                  volumeMounts: z.array(z.looseObject({ name: z.string(), mountPath: z.string() })),
                  securityContext: z.looseObject({ readOnlyRootFilesystem: z.literal(true) }),
                }),
              ),
            }),
          }),
        }),
      });
      for (const fn of FUNCTIONS) {
        const pod = PodSchema.parse(named(objects, 'Service', fn)).spec.template.spec;
        const emptyDirs = pod.volumes.filter((v) => v.emptyDir).map((v) => v.name);
        const mounts = (pod.containers[0]?.volumeMounts ?? []).filter((m) => emptyDirs.includes(m.name));
        assert.ok(
          mounts.some((m) => dataDir.startsWith(`${m.mountPath}/`)),
          `${fn}: ${dataDir} is not under an emptyDir mount`,
        );
      }
    });

    it('the ConfigMap has every required key, only keys the config module knows, and parses with it', () => {
      const data = configData(objects);
      for (const key of REQUIRED_CONFIG_KEYS) assert.ok(key in data, `flywheel-config lacks ${key}`);
      const known = Object.keys(ConfigSchema.shape);
      for (const key of Object.keys(data))
        assert.ok(known.includes(key), `${key} is not read by shared/config`);
      for (const key of NEVER_IN_CONFIG)
        assert.equal(data[key], undefined, `${key} must not be in flywheel-config`);
      const config = loadConfig({ ...data, REDIS_URL: 'redis://redis:6379', PROMOTE_TOKEN: 'x' });
      assert.equal(config.TRAINING_EXECUTOR, 'kubernetes');
      assert.equal(config.TRAINING_NAMESPACE, 'flywheel');
      assert.equal(config.TRAINING_CONFIGMAP, 'flywheel-config');
      assert.equal(config.TRAINING_SECRET, 'flywheel-secrets');
      assert.match(config.TRAINING_IMAGE, /^ghcr\.io\/flywheel-dev\/flywheel-trainer:\d+\.\d+\.\d+$/);
    });
  });
}

describe('overlay differences', () => {
  const config = (overlay: (typeof DEPLOYMENTS)[number]) =>
    loadConfig({ ...configData(render(overlay)), REDIS_URL: 'redis://redis:6379' });

  it('dev trains without GPUs: no GPU count, selector or toleration, still as Kubernetes Jobs', () => {
    const c = config('knative/overlays/dev');
    assert.equal(c.TRAINING_EXECUTOR, 'kubernetes');
    assert.equal(c.TRAINING_GPU_COUNT, 0);
    assert.deepEqual(c.TRAINING_NODE_SELECTOR, {});
    assert.deepEqual(c.TRAINING_TOLERATIONS, []);
    assert.doesNotMatch(JSON.stringify(render('knative/overlays/dev')), /nvidia\.com\/gpu/);
  });

  it('production trains on GPU nodes: one GPU, the GPU node selector and toleration, the GPU backend', () => {
    const c = config('knative/overlays/production');
    assert.equal(c.TRAINING_GPU_COUNT, 1);
    assert.equal(c.TRAINING_BACKEND, 'tensorflow-gpu');
    assert.deepEqual(c.TRAINING_NODE_SELECTOR, { 'nvidia.com/gpu.present': 'true' });
    assert.deepEqual(c.TRAINING_TOLERATIONS, [
      { key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' },
    ]);
  });

  it('dev gives every function smaller resources than production', () => {
    const dev = services(render('knative/overlays/dev'));
    const production = services(render('knative/overlays/production'));
    for (const fn of FUNCTIONS) {
      const d = dev.get(fn);
      const p = production.get(fn);
      assert.ok(d && p);
      for (const r of ['cpu', 'memory']) {
        const small = quantity(containerOf(d).resources.limits[r] ?? '');
        const large = quantity(containerOf(p).resources.limits[r] ?? '');
        assert.ok(small <= large, `${fn} ${r}: dev ${small} > production ${large}`);
      }
    }
  });
});

describe('cold-start documentation', () => {
  it('the score Service and knative/README.md explain the min-scale option for latency-critical installs', () => {
    const score = readFileSync(path.join(ROOT, 'knative/base/services/score.yaml'), 'utf8');
    assert.match(score, /^# .*[Cc]old start/m);
    assert.match(score, /^# .*min-scale: "1"/m);
    const readme = readFileSync(path.join(ROOT, 'knative/README.md'), 'utf8');
    assert.match(readme, /autoscaling\.knative\.dev\/min-scale/);
    assert.match(readme, /cold start/i);
  });
});
