// functions/<name>/func.yaml: generated from the Knative Services (knative/func-yaml.ts, `npm run package`), valid kn
// func project files (schema/func_yaml-schema.json of knative/func) that agree with the Services.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { funcYamlOf, SERVICES_DIR, staleFuncYamls, writeFuncYamls } from '../../knative/func-yaml.ts';
import { InvalidInputError } from '../../shared/errors/index.ts';
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

describe('func.yaml is generated from the Knative Services', () => {
  const scratch: string[] = [];
  after(async () => {
    for (const dir of scratch) await rm(dir, { recursive: true, force: true });
  });

  /** A copy of the Services and the func.yaml files, changed by `change`. */
  const changedCopy = async (change: (root: string) => Promise<void>) => {
    const root = await mkdtemp(path.join(tmpdir(), 'flywheel-func-yaml-'));
    scratch.push(root);
    await cp(path.join(ROOT, SERVICES_DIR), path.join(root, SERVICES_DIR), { recursive: true });
    for (const fn of FUNCTIONS)
      await cp(path.join(ROOT, 'functions', fn, 'func.yaml'), path.join(root, 'functions', fn, 'func.yaml'));
    await change(root);
    return root;
  };
  const edit = async (file: string, from: RegExp, to: string) => {
    const text = await readFile(file, 'utf8');
    assert.match(text, from);
    await writeFile(file, text.replace(from, to));
  };

  it('holds exactly the func.yaml files `npm run package` generates (run it after changing knative/base/services)', async () => {
    assert.deepEqual(await staleFuncYamls(ROOT, FUNCTIONS), []);
  });

  for (const fn of FUNCTIONS) {
    it(`${fn}: says where it is generated from`, () => {
      const [first] = readFileSync(path.join(ROOT, 'functions', fn, 'func.yaml'), 'utf8').split('\n');
      assert.equal(
        first,
        `# Generated by \`npm run package\` from ${SERVICES_DIR}/${fn}.yaml: change the source and regenerate, never this file.`,
      );
    });
  }

  it('reports a func.yaml edited by hand', async () => {
    const root = await changedCopy((r) =>
      edit(path.join(r, 'functions/score/func.yaml'), /^ {6}max: 30$/m, '      max: 31'),
    );
    assert.deepEqual(await staleFuncYamls(root, FUNCTIONS), ['functions/score/func.yaml']);
  });

  it('reports a Service changed without regenerating, and regenerating follows the change', async () => {
    const root = await changedCopy((r) =>
      edit(
        path.join(r, SERVICES_DIR, 'score.yaml'),
        /autoscaling\.knative\.dev\/max-scale: "30"/,
        'autoscaling.knative.dev/max-scale: "40"',
      ),
    );
    assert.deepEqual(await staleFuncYamls(root, FUNCTIONS), ['functions/score/func.yaml']);
    await writeFuncYamls(root, FUNCTIONS);
    assert.deepEqual(await staleFuncYamls(root, FUNCTIONS), []);
    const regenerated = parseDocument(await readFile(path.join(root, 'functions/score/func.yaml'), 'utf8'));
    assert.equal(regenerated.getIn(['deploy', 'options', 'scale', 'max']), 40);
  });

  it('writes what kn func can express of a Service, quantities quoted as the Service quotes them', () => {
    const service = parseDocument(
      [
        'apiVersion: serving.knative.dev/v1',
        'kind: Service',
        'metadata:',
        '  name: demo',
        '  namespace: team',
        'spec:',
        '  template:',
        '    metadata:',
        '      annotations:',
        '        autoscaling.knative.dev/max-scale: "3"',
        '    spec:',
        '      containers:',
        '        - name: demo',
        '          image: registry.example/team/flywheel-functions',
        '          env:',
        '            - name: A',
        '              value: "1"',
        '            - name: B',
        '              valueFrom:',
        '                configMapKeyRef:',
        '                  name: settings',
        '                  key: b',
        '          envFrom:',
        '            - secretRef:',
        '                name: keys',
        '          resources:',
        '            requests:',
        '              cpu: "500m"',
        '              memory: 64Mi',
      ].join('\n'),
    );
    const text = funcYamlOf(service, 'services/demo.yaml');
    assert.equal(
      text.split('\n').slice(3).join('\n'),
      [
        'specVersion: 0.36.0',
        'name: demo',
        'runtime: node',
        'registry: registry.example/team',
        'image: registry.example/team/flywheel-demo:latest',
        'created: 2026-11-23T00:00:00Z',
        'invoke: cloudevent',
        'build:',
        '  builder: pack',
        'run:',
        '  envs:',
        '    - name: A',
        "      value: '1'",
        "    - value: '{{ secret:keys }}'",
        '    - name: B',
        "      value: '{{ configMap:settings:b }}'",
        'deploy:',
        '  namespace: team',
        '  options:',
        '    scale:',
        '      max: 3',
        '    resources:',
        '      requests:',
        '        cpu: "500m"',
        '        memory: 64Mi',
        '',
      ].join('\n'),
    );
  });

  for (const [what, from, to, refused] of [
    [
      'an env variable from a field of the pod',
      /- name: FUNCTION\n {14}value: score/,
      '- name: FUNCTION\n              valueFrom:\n                fieldRef:\n                  fieldPath: metadata.name',
      /fieldRef/,
    ],
    [
      'a volume that is not an emptyDir',
      /emptyDir:\n {12}sizeLimit: 256Mi/,
      'hostPath:\n            path: /tmp',
      /hostPath/,
    ],
    [
      'a pod field func.yaml has no place for',
      /containerConcurrency: 32/,
      'containerConcurrency: 32\n      nodeSelector: {}',
      /nodeSelector/,
    ],
  ] as const) {
    it(`refuses a Service with ${what} rather than dropping it`, async () => {
      const root = await changedCopy((r) => edit(path.join(r, SERVICES_DIR, 'score.yaml'), from, to));
      await assert.rejects(
        staleFuncYamls(root, ['score']),
        (err: unknown) =>
          err instanceof InvalidInputError &&
          err.message.startsWith(
            `${SERVICES_DIR}/score.yaml: the func.yaml generator cannot carry this Service`,
          ) &&
          refused.test(err.message),
      );
    });
  }
});
