// functions/<name>/func.yaml, generated from the function's Knative Service (knative/base/services/<name>.yaml): what kn
// func can express of the Service, in the terms of knative/func's schema/func_yaml-schema.json. `npm run package`
// writes them; `npm run package -- --check` and test/deploy/func-yaml.test.ts fail while a committed one differs.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Document, isScalar, parseAllDocuments, Scalar } from 'yaml';
import { z } from 'zod';
import { InvalidInputError } from '../shared/errors/index.ts';
import { type GeneratedFiles, generatedBy, staleFiles, writeGenerated } from './generated.ts';

/** Where each function's Service is, relative to the repository root. */
export const SERVICES_DIR = 'knative/base/services';

/** The func.yaml schema version the files are written for (kn func 1.x reads it). */
const SPEC_VERSION = '0.36.0';
/** kn func requires a creation time; a fixed one keeps the output the same on every run. */
const CREATED = '2026-11-23T00:00:00Z';

/** The autoscaling annotations kn func sets from deploy.options.scale, in its field order. */
const SCALE_ANNOTATIONS = {
  'autoscaling.knative.dev/min-scale': 'min',
  'autoscaling.knative.dev/max-scale': 'max',
  'autoscaling.knative.dev/metric': 'metric',
  'autoscaling.knative.dev/target': 'target',
  'autoscaling.knative.dev/target-utilization-percentage': 'utilization',
} as const;

/** kn func labels every function with `function.knative.dev/name`, which says what this label says. */
const NAME_LABEL = 'app.kubernetes.io/name';
/**
 * The Service's own label that Knative acts on. kn func applies deploy.labels to the Service and its revisions
 * alike, so it goes with the revision's labels.
 */
const VISIBILITY_LABEL = 'networking.knative.dev/visibility';

const StringMap = z.record(z.string(), z.string());
const KeyRefSchema = z.strictObject({
  name: z.string(),
  key: z.string(),
  // kn func's `{{ secret:name:key }}` has no optional form: on that path a missing key stops the pod.
  optional: z.boolean().optional(),
});
const EnvVarSchema = z.strictObject({
  name: z.string(),
  value: z.string().optional(),
  valueFrom: z
    .strictObject({ secretKeyRef: KeyRefSchema.optional(), configMapKeyRef: KeyRefSchema.optional() })
    .optional(),
});
const EnvFromSchema = z.strictObject({
  configMapRef: z.strictObject({ name: z.string() }).optional(),
  secretRef: z.strictObject({ name: z.string() }).optional(),
});
/** kn func sets a probe's path only; timings and the port stay with the Service. */
const ProbeSchema = z.looseObject({ httpGet: z.looseObject({ path: z.string() }) });
/** kn func sets cpu and memory only. */
const QuantitiesSchema = z.strictObject({ cpu: z.string().optional(), memory: z.string().optional() });

/**
 * The Service as far as func.yaml goes. Fields kn func has no place for are named and left out; any other field
 * stops the generator rather than being dropped unseen.
 */
const ServiceSchema = z.strictObject({
  apiVersion: z.literal('serving.knative.dev/v1'),
  kind: z.literal('Service'),
  metadata: z.strictObject({ name: z.string(), namespace: z.string(), labels: StringMap.default({}) }),
  spec: z.strictObject({
    template: z.strictObject({
      metadata: z.strictObject({ labels: StringMap.default({}), annotations: StringMap.default({}) }),
      spec: z.strictObject({
        serviceAccountName: z.string().optional(),
        containerConcurrency: z.int().nonnegative().optional(),
        containers: z.tuple([
          z.strictObject({
            name: z.string(),
            // kn func builds an image of its own from the packaged directory; the registry is kept.
            image: z.string(),
            // The shared image's entry for this function; kn func's image starts it with `npm start`.
            command: z.array(z.string()).optional(),
            // kn func's functions listen on Knative's default port, 8080 ($PORT).
            ports: z.array(z.looseObject({ containerPort: z.literal(8080) })).optional(),
            env: z.array(EnvVarSchema).default([]),
            envFrom: z.array(EnvFromSchema).default([]),
            readinessProbe: ProbeSchema.optional(),
            livenessProbe: ProbeSchema.optional(),
            resources: z
              .strictObject({ requests: QuantitiesSchema.optional(), limits: QuantitiesSchema.optional() })
              .optional(),
            volumeMounts: z.array(z.strictObject({ name: z.string(), mountPath: z.string() })).default([]),
            // Beyond func.yaml (knative/README.md, kn func): the Service is the hardened path.
            securityContext: z.unknown().optional(),
          }),
        ]),
        volumes: z
          .array(
            z.strictObject({
              name: z.string(),
              emptyDir: z.strictObject({ sizeLimit: z.string().optional(), medium: z.string().optional() }),
            }),
          )
          .default([]),
        // Beyond func.yaml: kn func mounts the token, enables service links and keeps Knative's request timeout.
        automountServiceAccountToken: z.boolean().optional(),
        enableServiceLinks: z.boolean().optional(),
        timeoutSeconds: z.int().optional(),
      }),
    }),
  }),
});
type Service = z.infer<typeof ServiceSchema>;
type EnvVar = z.infer<typeof EnvVarSchema>;

const CONTAINER = ['spec', 'template', 'spec', 'containers', 0] as const;

/** A scalar of the Service, written as the Service writes it (a quoted quantity stays quoted). */
function scalarAt(service: Document, at: readonly (string | number)[], where: string): Scalar {
  const node = service.getIn(at, true);
  if (!isScalar(node)) throw new InvalidInputError(where, `${where}: no value at ${at.join('.')}`);
  const copy = new Scalar(node.value);
  if (node.type) copy.type = node.type;
  return copy;
}

/** The kn func form of one variable: a value, or a `{{ secret|configMap:name:key }}` reference. */
function envOf(variable: EnvVar, where: string): { name: string; value: string } {
  const { secretKeyRef, configMapKeyRef } = variable.valueFrom ?? {};
  if (variable.value !== undefined && !variable.valueFrom)
    return { name: variable.name, value: variable.value };
  if (secretKeyRef && !configMapKeyRef)
    return { name: variable.name, value: `{{ secret:${secretKeyRef.name}:${secretKeyRef.key} }}` };
  if (configMapKeyRef && !secretKeyRef)
    return { name: variable.name, value: `{{ configMap:${configMapKeyRef.name}:${configMapKeyRef.key} }}` };
  throw new InvalidInputError(
    where,
    `${where}: env ${variable.name} is neither a value nor one key reference`,
  );
}

/** Numbers in kn func's scale options; the metric stays a word. */
function scaleOf(annotations: Record<string, string>, where: string): Record<string, string | number> {
  const scale: Record<string, string | number> = {};
  for (const [annotation, field] of Object.entries(SCALE_ANNOTATIONS)) {
    const value = annotations[annotation];
    if (value === undefined) continue;
    if (field === 'metric') scale[field] = value;
    else if (Number.isFinite(Number(value)) && value.trim() !== '') scale[field] = Number(value);
    else throw new InvalidInputError(where, `${where}: ${annotation} is not a number: ${value}`);
  }
  return scale;
}

/**
 * The func.yaml of one function, from its Knative Service (`source`: the Service's path, named in the header). What
 * it carries: name and namespace; the registry of the Service's image; env (values, then whole ConfigMaps and
 * Secrets, then single keys); emptyDir volumes at their mount paths; the revision's labels but the name label, with
 * the Service's visibility; the revision's annotations, the autoscaling ones as scale options; the service account;
 * the probes' paths; cpu and memory requests and limits, and the container concurrency.
 */
export function funcYamlOf(service: Document, source: string): string {
  if (service.errors.length > 0)
    throw new InvalidInputError(source, `${source}: ${service.errors[0]?.message ?? 'YAML error'}`);
  const parsed = ServiceSchema.safeParse(service.toJS());
  if (!parsed.success)
    throw new InvalidInputError(
      source,
      `${source}: the func.yaml generator cannot carry this Service:\n${z.prettifyError(parsed.error)}`,
    );
  const s: Service = parsed.data;
  const name = s.metadata.name;
  const pod = s.spec.template.spec;
  const [container] = pod.containers;
  const template = s.spec.template.metadata;

  const registry = container.image.slice(0, container.image.lastIndexOf('/'));
  if (registry === '')
    throw new InvalidInputError(source, `${source}: the image ${container.image} names no registry`);

  const envs = [
    ...container.env.filter((e) => e.valueFrom === undefined).map((e) => envOf(e, source)),
    ...container.envFrom.map((from) => {
      if (from.configMapRef && !from.secretRef) return { value: `{{ configMap:${from.configMapRef.name} }}` };
      if (from.secretRef && !from.configMapRef) return { value: `{{ secret:${from.secretRef.name} }}` };
      throw new InvalidInputError(
        source,
        `${source}: an envFrom entry names neither one ConfigMap nor one Secret`,
      );
    }),
    ...container.env.filter((e) => e.valueFrom !== undefined).map((e) => envOf(e, source)),
  ];

  const volumes = pod.volumes.map((volume, i) => {
    const mount = container.volumeMounts.find((m) => m.name === volume.name);
    if (!mount) throw new InvalidInputError(source, `${source}: volume ${volume.name} is mounted nowhere`);
    const emptyDir: Record<string, unknown> = {};
    if (volume.emptyDir.medium !== undefined) emptyDir.medium = volume.emptyDir.medium;
    if (volume.emptyDir.sizeLimit !== undefined)
      emptyDir.sizeLimit = scalarAt(
        service,
        ['spec', 'template', 'spec', 'volumes', i, 'emptyDir', 'sizeLimit'],
        source,
      );
    return { path: mount.mountPath, emptyDir };
  });
  const unmounted = container.volumeMounts.filter((m) => !pod.volumes.some((v) => v.name === m.name));
  if (unmounted.length > 0)
    throw new InvalidInputError(
      source,
      `${source}: no volume for mount ${unmounted.map((m) => m.name).join(', ')}`,
    );

  const labels = Object.entries(template.labels)
    .filter(([key]) => key !== NAME_LABEL)
    .map(([key, value]) => ({ key, value }));
  const visibility = s.metadata.labels[VISIBILITY_LABEL];
  if (visibility !== undefined && template.labels[VISIBILITY_LABEL] === undefined)
    labels.push({ key: VISIBILITY_LABEL, value: visibility });
  const annotations = Object.fromEntries(
    Object.entries(template.annotations).filter(([key]) => !(key in SCALE_ANNOTATIONS)),
  );
  const healthEndpoints = {
    ...(container.livenessProbe ? { liveness: container.livenessProbe.httpGet.path } : {}),
    ...(container.readinessProbe ? { readiness: container.readinessProbe.httpGet.path } : {}),
  };

  const quantities = (kind: 'requests' | 'limits') => {
    const out: Record<string, unknown> = {};
    for (const r of ['cpu', 'memory'] as const) {
      if (container.resources?.[kind]?.[r] !== undefined)
        out[r] = scalarAt(service, [...CONTAINER, 'resources', kind, r], source);
    }
    return out;
  };
  const requests = quantities('requests');
  const limits = {
    ...quantities('limits'),
    ...(pod.containerConcurrency !== undefined ? { concurrency: pod.containerConcurrency } : {}),
  };
  const scale = scaleOf(template.annotations, source);
  const resources = {
    ...(Object.keys(requests).length > 0 ? { requests } : {}),
    ...(Object.keys(limits).length > 0 ? { limits } : {}),
  };
  const options = {
    ...(Object.keys(scale).length > 0 ? { scale } : {}),
    ...(Object.keys(resources).length > 0 ? { resources } : {}),
  };

  // Every function is a Node.js CloudEvents function that kn func builds with pack into an image of its own.
  const func = {
    specVersion: SPEC_VERSION,
    name,
    runtime: 'node',
    registry,
    image: `${registry}/flywheel-${name}:latest`,
    created: CREATED,
    invoke: 'cloudevent',
    build: { builder: 'pack' },
    run: { envs, ...(volumes.length > 0 ? { volumes } : {}) },
    deploy: {
      namespace: s.metadata.namespace,
      ...(labels.length > 0 ? { labels } : {}),
      ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
      ...(pod.serviceAccountName !== undefined ? { serviceAccountName: pod.serviceAccountName } : {}),
      ...(Object.keys(healthEndpoints).length > 0 ? { healthEndpoints } : {}),
      ...(Object.keys(options).length > 0 ? { options } : {}),
    },
  };
  const header = [
    generatedBy('npm run package', source),
    `kn func project file for ${name}: \`npm run package\` copies it to dist/functions/${name}/, the self-contained`,
    `directory that \`kn func deploy --path dist/functions/${name}\` builds (pack, Node.js buildpack, \`npm start\`).`,
  ];
  const body = new Document(func).toString({ lineWidth: 0, singleQuote: true });
  return `${header.map((line) => `# ${line}`).join('\n')}\n${body}`;
}

/** The func.yaml of every function in `names`, by path relative to `root`, from `knative/base/services/<name>.yaml`. */
export async function generateFuncYamls(root: string, names: readonly string[]): Promise<GeneratedFiles> {
  const out = new Map<string, string>();
  for (const name of names) {
    const source = `${SERVICES_DIR}/${name}.yaml`;
    const docs = parseAllDocuments(await readFile(path.join(root, source), 'utf8')).filter(
      (d) => d.contents !== null,
    );
    const [service, ...rest] = docs;
    if (!service || rest.length > 0)
      throw new InvalidInputError(source, `${source}: expected one Service, found ${docs.length} documents`);
    if (service.getIn(['metadata', 'name']) !== name)
      throw new InvalidInputError(source, `${source}: the Service is not named ${name}`);
    out.set(`functions/${name}/func.yaml`, funcYamlOf(service, source));
  }
  return out;
}

/** The committed func.yaml files of `names` that differ from what the generator writes (missing ones included). */
export async function staleFuncYamls(root: string, names: readonly string[]): Promise<string[]> {
  return staleFiles(root, await generateFuncYamls(root, names));
}

/** Writes the func.yaml of every function in `names` from its Service. */
export async function writeFuncYamls(root: string, names: readonly string[]): Promise<void> {
  await writeGenerated(root, await generateFuncYamls(root, names));
}
