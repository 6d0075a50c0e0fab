// functions/<name>/func.yaml: valid kn func project files (schema/func_yaml-schema.json of knative/func) that agree with the Services.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { fileDocs, FUNCTIONS, ofKind, ROOT, render } from './support/manifests.ts';
import { KnativeServiceSchema } from './support/wiring.ts';
import { quantity } from './support/values.ts';

/** The Knative Serving label that keeps a Service off the ingress gateway's public side. */
const VISIBILITY = 'networking.knative.dev/visibility';
const QUANTITY = /^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$/;
const EnvSchema = z.strictObject({
  name: z
    .string()
    .regex(/^[-._a-zA-Z][-._a-zA-Z0-9]*$/)
    .optional(),
  value: z.string(),
});

/** A zod mirror of knative/func's func.yaml JSON schema (additionalProperties: false throughout). */
const FuncYamlSchema = z.strictObject({
  specVersion: z.string().regex(/^\d+\.\d+\.\d+$/),
  name: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/),
  domain: z.string().optional(),
  runtime: z.string(),
  registry: z.string().optional(),
  image: z.string().optional(),
  namespace: z.string().optional(),
  created: z.iso.datetime({ offset: true }),
  invoke: z.enum(['http', 'cloudevent']).optional(),
  build: z
    .strictObject({
      builder: z.enum(['pack', 's2i']).optional(),
      buildEnvs: z.array(EnvSchema).optional(),
      buildpacks: z.array(z.string()).optional(),
      builderImages: z.record(z.string(), z.string()).optional(),
      pvcSize: z.string().optional(),
      remoteStorageClass: z.string().optional(),
    })
    .optional(),
  run: z
    .strictObject({
      envs: z.array(EnvSchema).optional(),
      volumes: z
        .array(
          z.strictObject({
            path: z.string(),
            secret: z.string().optional(),
            configMap: z.string().optional(),
            emptyDir: z
              .strictObject({ medium: z.string().optional(), sizeLimit: z.string().optional() })
              .optional(),
            persistentVolumeClaim: z
              .strictObject({ claimName: z.string(), readOnly: z.boolean().optional() })
              .optional(),
          }),
        )
        .optional(),
      startTimeout: z.int().optional(),
    })
    .optional(),
  deploy: z
    .strictObject({
      namespace: z.string().optional(),
      image: z.string().optional(),
      annotations: z.record(z.string(), z.string()).optional(),
      labels: z.array(z.strictObject({ key: z.string(), value: z.string().optional() })).optional(),
      serviceAccountName: z.string().optional(),
      healthEndpoints: z.strictObject({ liveness: z.string(), readiness: z.string() }).optional(),
      options: z
        .strictObject({
          scale: z
            .strictObject({
              min: z.int().nonnegative().optional(),
              max: z.int().nonnegative().optional(),
              metric: z.enum(['concurrency', 'rps']).optional(),
              target: z.number().nonnegative().optional(),
              utilization: z.number().min(1).max(100).optional(),
            })
            .optional(),
          resources: z
            .strictObject({
              requests: z
                .strictObject({ cpu: z.string().regex(QUANTITY), memory: z.string().regex(QUANTITY) })
                .partial(),
              limits: z
                .strictObject({
                  cpu: z.string().regex(QUANTITY),
                  memory: z.string().regex(QUANTITY),
                  concurrency: z.int().nonnegative(),
                })
                .partial(),
            })
            .partial()
            .optional(),
        })
        .optional(),
      subscriptions: z
        .array(z.strictObject({ source: z.string(), filters: z.record(z.string(), z.string()) }))
        .optional(),
    })
    .optional(),
});

const funcYaml = (fn: string) => {
  const file = path.join('functions', fn, 'func.yaml');
  const [doc, ...rest] = fileDocs(file);
  assert.equal(rest.length, 0, `${file} has more than one document`);
  return FuncYamlSchema.parse(doc?.value);
};

describe('func.yaml of every function', () => {
  const services = new Map(
    ofKind(
      render('knative/base').filter((o) => (FUNCTIONS as readonly string[]).includes(o.metadata.name)),
      { apiVersion: 'serving.knative.dev/v1', kind: 'Service', schema: KnativeServiceSchema },
    ).map((s) => [s.metadata.name, s]),
  );

  for (const fn of FUNCTIONS) {
    it(`${fn}: is a valid kn func project for the node runtime in the flywheel namespace`, () => {
      assert.ok(
        existsSync(path.join(ROOT, 'functions', fn, 'func.yaml')),
        `functions/${fn}/func.yaml is missing`,
      );
      const f = funcYaml(fn);
      assert.equal(f.name, fn);
      assert.equal(f.runtime, 'node');
      assert.equal(f.deploy?.namespace, 'flywheel');
      assert.deepEqual(f.deploy?.healthEndpoints, {
        liveness: '/health/liveness',
        readiness: '/health/readiness',
      });
      assert.ok(f.build?.builder, 'build.builder must be set');
    });

    it(`${fn}: agrees with knative/base/services/${fn}.yaml on scaling, resources, identity and env`, () => {
      const f = funcYaml(fn);
      const svc = services.get(fn);
      assert.ok(svc, `no Service ${fn}`);
      const a = svc.spec.template.metadata.annotations;
      assert.deepEqual(f.deploy?.options?.scale, {
        min: Number(a['autoscaling.knative.dev/min-scale']),
        max: Number(a['autoscaling.knative.dev/max-scale']),
        metric: a['autoscaling.knative.dev/metric'],
        target: Number(a['autoscaling.knative.dev/target']),
      });
      assert.equal(
        f.deploy?.annotations?.['autoscaling.knative.dev/scale-down-delay'],
        a['autoscaling.knative.dev/scale-down-delay'],
      );
      const c = svc.spec.template.spec.containers[0];
      assert.ok(c);
      const res = f.deploy?.options?.resources;
      for (const r of ['cpu', 'memory'] as const) {
        assert.equal(
          quantity(res?.requests?.[r] ?? ''),
          quantity(c.resources.requests[r] ?? ''),
          `${fn} request ${r}`,
        );
        assert.equal(
          quantity(res?.limits?.[r] ?? ''),
          quantity(c.resources.limits[r] ?? ''),
          `${fn} limit ${r}`,
        );
      }
      assert.equal(res?.limits?.concurrency, svc.spec.template.spec.containerConcurrency);
      assert.equal(f.deploy?.serviceAccountName, svc.spec.template.spec.serviceAccountName);
      const labels = Object.fromEntries((f.deploy?.labels ?? []).map((l) => [l.key, l.value]));
      assert.equal(
        labels['flywheel.dev/role'],
        'function',
        'the NetworkPolicies select on flywheel.dev/role',
      );
      const envs = (f.run?.envs ?? []).map((e) => `${e.name ?? '*'}=${e.value}`).sort();
      const secrets = c.env.flatMap((e) =>
        e.valueFrom?.secretKeyRef
          ? [`${e.name}={{ secret:${e.valueFrom.secretKeyRef.name}:${e.valueFrom.secretKeyRef.key} }}`]
          : [],
      );
      const expected = [`FUNCTION=${fn}`, '*={{ configMap:flywheel-config }}', ...secrets].sort();
      assert.deepEqual(envs, expected);
    });

    it(`${fn}: is exactly as visible as its Service (kn func deploy applies deploy.labels to the Service)`, () => {
      const svc = services.get(fn);
      assert.ok(svc, `no Service ${fn}`);
      const labelled = (funcYaml(fn).deploy?.labels ?? []).filter((l) => l.key === VISIBILITY);
      const expected = svc.metadata.labels?.[VISIBILITY];
      assert.deepEqual(
        labelled.map((l) => l.value),
        expected === undefined ? [] : [expected],
      );
    });
  }

  it('rejects a func.yaml field the kn func schema does not have', () => {
    const bad = {
      specVersion: '0.36.0',
      name: 'x',
      runtime: 'node',
      created: '2026-01-01T00:00:00Z',
      deploy: { replicas: 2 },
    };
    assert.equal(FuncYamlSchema.safeParse(bad).success, false);
  });
});
