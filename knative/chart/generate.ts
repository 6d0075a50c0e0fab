// `npm run chart`: writes the Helm chart's templates (knative/helm/flywheel/templates) from the kustomize sources.
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type Document, isMap, isScalar, parse, parseAllDocuments } from 'yaml';
import { HEADER, helpers, NOTES } from './helpers.ts';
import { Templater } from './templater.ts';

/** The chart, relative to the repository root. */
export const CHART_DIR = 'knative/helm/flywheel';

/** The kustomizations the chart is made from: the base (which includes eventing/) and the Kafka component. */
const BASE = 'knative/base';
const KAFKA_COMPONENT = 'eventing/kafka';

/**
 * The kustomization fields the generator understands; any other field stops it rather than being dropped. Patches
 * only in the Kafka component, whose changes the chart's values `broker.class` and `deadLetters.sink` make.
 */
const UNDERSTOOD = ['apiVersion', 'kind', 'namespace', 'labels', 'resources', 'images'];

const FUNCTION_IMAGE = 'ghcr.io/flywheel-dev/flywheel-functions';
const DEAD_LETTERS_SERVICE = 'dead-letters';

interface Kustomization {
  namespace?: string;
  labels?: { pairs?: Record<string, string> }[];
  resources?: string[];
  images?: { name: string; newTag?: string }[];
  patches?: { target?: Record<string, string>; patch: string }[];
}

async function readKustomization(root: string, dir: string): Promise<Kustomization> {
  const understood = new Set(dir === KAFKA_COMPONENT ? [...UNDERSTOOD, 'patches'] : UNDERSTOOD);
  const value = parse(await readFile(path.join(root, dir, 'kustomization.yaml'), 'utf8')) as Record<
    string,
    unknown
  >;
  const unknown = Object.keys(value).filter((k) => !understood.has(k));
  if (unknown.length > 0)
    throw new Error(
      `${dir}/kustomization.yaml: the chart generator does not understand ${unknown.join(', ')}`,
    );
  return value as Kustomization;
}

/** Every resource file of a kustomization, following directories that are kustomizations themselves. */
async function resourceFiles(
  root: string,
  dir: string,
): Promise<{ file: string; labels: Record<string, string> }[]> {
  const k = await readKustomization(root, dir);
  const labels = Object.assign({}, ...(k.labels ?? []).map((l) => l.pairs ?? {})) as Record<string, string>;
  for (const image of k.images ?? []) {
    if (image.name !== FUNCTION_IMAGE)
      throw new Error(`${dir}/kustomization.yaml: image ${image.name} has no chart value`);
  }
  const out: { file: string; labels: Record<string, string> }[] = [];
  for (const entry of k.resources ?? []) {
    const rel = path.normalize(path.join(dir, entry));
    if (rel.endsWith('.yaml')) out.push({ file: rel, labels });
    else
      for (const r of await resourceFiles(root, rel)) out.push({ ...r, labels: { ...r.labels, ...labels } });
  }
  return out;
}

/** A JSON-patch op of the Kafka component, found by the kind it targets and the path it writes. */
function componentValue(component: Kustomization, kind: string, opPath: string): unknown {
  for (const p of component.patches ?? []) {
    if (p.target?.kind !== kind) continue;
    const ops = parse(p.patch) as { op: string; path: string; value?: unknown }[];
    const op = Array.isArray(ops) ? ops.find((o) => o.path === opPath) : undefined;
    if (op) return op.value;
  }
  throw new Error(`${KAFKA_COMPONENT}/kustomization.yaml: no patch of ${kind} ${opPath}`);
}

const FUNCTIONS_IMAGE_EXPR =
  '{{ include "flywheel.image" (dict "registry" .Values.images.registry "image" .Values.images.functions) | quote }}';
const TRAINER_IMAGE_EXPR =
  '{{ include "flywheel.image" (dict "registry" .Values.images.registry "image" .Values.images.trainer) | quote }}';
const NAMESPACE_EXPR = '{{ .Values.namespace.name | quote }}';
const str = (value: string) => `{{ ${value} | quote }}`;
const int = (value: string) => `{{ ${value} | int64 | quote }}`;

/** flywheel-config's keys that the chart's values set. */
const CONFIG_VALUES: Record<string, string> = {
  LOG_LEVEL: str('.Values.logLevel'),
  KAFKA_BROKERS: str('join "," .Values.kafka.bootstrapServers'),
  TRAINING_NAMESPACE: NAMESPACE_EXPR,
  TRAINING_IMAGE: TRAINER_IMAGE_EXPR,
  TRAINING_BACKEND: str('.Values.training.backend'),
  TRAINING_GPU_COUNT: int('.Values.training.gpu'),
  TRAINING_NODE_SELECTOR: str('toJson .Values.training.nodeSelector'),
  TRAINING_TOLERATIONS: str('toJson .Values.training.tolerations'),
  TRAINING_BACKOFF_LIMIT: int('.Values.training.backoffLimit'),
  TRAINING_DEADLINE_SECONDS: int('.Values.training.deadlineSeconds'),
  TRAINING_TTL_SECONDS: int('.Values.training.ttlSecondsAfterFinished'),
  TRAINING_SECRET: str('.Values.redis.urlSecret.name'),
};

const isFunction = (o: Record<string, unknown>) =>
  (o.metadata as { labels?: Record<string, string> } | undefined)?.labels?.['app.kubernetes.io/component'] ===
  'function';

/** Turns one source document into a template: the values the overlays vary become template expressions. */
function templateOf(doc: Document, where: string, labels: Record<string, string>, namespace: string): string {
  const object = doc.toJS() as Record<string, unknown> & {
    kind: string;
    apiVersion: string;
    metadata: { name: string };
  };
  const t = new Templater(doc, where);
  for (const [k, v] of Object.entries(labels)) {
    if (doc.getIn(['metadata', 'labels', k]) !== v) doc.setIn(['metadata', 'labels', k], v);
  }
  t.replaceEach(
    (key, value) => key === 'namespace' && isScalar(value) && value.value === namespace,
    () => ({ kind: 'scalar', expr: NAMESPACE_EXPR }),
  );
  t.replaceEach(
    (key) => key === 'deadLetterSink',
    () => ({ kind: 'entry', template: 'include "flywheel.deadLetterSink" $' }),
  );
  const name = object.metadata.name;
  switch (`${object.apiVersion}/${object.kind}`) {
    case 'v1/Namespace':
      if (name !== namespace) throw new Error(`${where}: Namespace ${name} is not the kustomization's`);
      t.set(['metadata', 'name'], { kind: 'scalar', expr: NAMESPACE_EXPR });
      // The namespace holds what the chart does not own (Redis, flywheel-secrets): uninstall keeps it.
      doc.setIn(['metadata', 'annotations', 'helm.sh/resource-policy'], 'keep');
      t.when('.Values.namespace.create');
      break;
    case 'v1/ConfigMap':
      if (name === 'flywheel-config') {
        for (const [key, expr] of Object.entries(CONFIG_VALUES))
          t.set(['data', key], { kind: 'scalar', expr });
      } else if (name === 'flywheel-kafka-broker-config') {
        t.set(['data', 'bootstrap.servers'], {
          kind: 'scalar',
          expr: str('join "," .Values.kafka.bootstrapServers'),
        });
        t.set(['data', 'default.topic.partitions'], {
          kind: 'scalar',
          expr: int('.Values.broker.kafka.partitions'),
        });
        t.set(['data', 'default.topic.replication.factor'], {
          kind: 'scalar',
          expr: int('.Values.broker.kafka.replicationFactor'),
        });
        t.when('eq .Values.broker.class "Kafka"');
      } else throw new Error(`${where}: ConfigMap ${name} has no chart values`);
      break;
    case 'networking.k8s.io/v1/NetworkPolicy': {
      const selector = doc.getIn([
        'spec',
        'podSelector',
        'matchLabels',
        'eventing.knative.dev/event-transform-name',
      ]);
      if (selector !== undefined) t.when('.Values.schedules.enabled');
      break;
    }
    case 'serving.knative.dev/v1/Service':
      if (isFunction(object)) functionService(t, doc, name);
      else if (name === DEAD_LETTERS_SERVICE) t.when('eq .Values.deadLetters.sink "display"');
      else throw new Error(`${where}: Service ${name} is neither a function nor the dead-letter display`);
      break;
    case 'eventing.knative.dev/v1/Broker':
      t.set(['metadata', 'annotations', 'eventing.knative.dev/broker.class'], {
        kind: 'scalar',
        expr: str('.Values.broker.class'),
      });
      t.set(
        ['spec', 'config'],
        { kind: 'entry', template: 'include "flywheel.brokerConfig" $' },
        { create: true },
      );
      break;
    case 'sources.knative.dev/v1beta1/KafkaSource':
      t.set(['spec', 'bootstrapServers'], { kind: 'block', expr: 'toYaml .Values.kafka.bootstrapServers' });
      t.when('.Values.kafkaSource.enabled');
      break;
    case 'eventing.knative.dev/v1alpha1/KafkaSink':
      t.set(['spec', 'bootstrapServers'], { kind: 'block', expr: 'toYaml .Values.kafka.bootstrapServers' });
      t.when('eq .Values.deadLetters.sink "kafka"');
      break;
    case 'sources.knative.dev/v1/PingSource':
    case 'flows.knative.dev/v1/Sequence':
    case 'eventing.knative.dev/v1alpha1/EventTransform':
      t.when('.Values.schedules.enabled');
      break;
  }
  const left = t.text();
  if (/\bflywheel-dev\/|namespace: flywheel$/m.test(left))
    throw new Error(`${where}: a registry or namespace the values do not set is left in the template`);
  return left;
}

/** A function's Service: image, scale bounds, resources, the Secret references, image pull secrets. */
function functionService(t: Templater, doc: Document, name: string): void {
  const fn = `(index .Values.functions ${JSON.stringify(name)})`;
  const template = ['spec', 'template'];
  const pod = [...template, 'spec'];
  const container = [...pod, 'containers', 0];
  const annotations = [...template, 'metadata', 'annotations'];
  if (!String(doc.getIn([...container, 'image'])).startsWith(FUNCTION_IMAGE))
    throw new Error(`${name}: the function does not run ${FUNCTION_IMAGE}`);
  t.set([...container, 'image'], { kind: 'scalar', expr: FUNCTIONS_IMAGE_EXPR });
  t.set([...annotations, 'autoscaling.knative.dev/min-scale'], {
    kind: 'scalar',
    expr: str(`include "flywheel.minScale" (dict "name" ${JSON.stringify(name)} "fn" ${fn})`),
  });
  t.set([...annotations, 'autoscaling.knative.dev/max-scale'], {
    kind: 'scalar',
    expr: int(`${fn}.maxScale`),
  });
  t.set([...container, 'resources'], { kind: 'block', expr: `toYaml ${fn}.resources` });
  const env = doc.getIn([...container, 'env']);
  if (!isMapList(env)) throw new Error(`${name}: no env list`);
  const secrets: Record<string, string> = {
    REDIS_URL: '.Values.redis.urlSecret',
    PROMOTE_TOKEN: '.Values.promote.tokenSecret',
  };
  env.items.forEach((item, i) => {
    const variable = String(item.get('name'));
    const ref = secrets[variable];
    if (!ref) return;
    const at = [...container, 'env', i, 'valueFrom', 'secretKeyRef'];
    t.set([...at, 'name'], { kind: 'scalar', expr: str(`${ref}.name`) });
    t.set([...at, 'key'], { kind: 'scalar', expr: str(`${ref}.key`) });
  });
  t.set(
    [...pod, 'imagePullSecrets'],
    { kind: 'entry', template: 'include "flywheel.imagePullSecrets" $' },
    { create: true },
  );
}

function isMapList(value: unknown): value is { items: { get(key: string): unknown }[] } {
  const items = (value as { items?: unknown[] } | undefined)?.items;
  return Array.isArray(items) && items.every((i) => isMap(i));
}

/** The generated templates, by path relative to the chart's templates/ folder. */
export async function generateTemplates(root: string): Promise<Map<string, string>> {
  const base = await readKustomization(root, BASE);
  const namespace = base.namespace;
  if (!namespace) throw new Error(`${BASE}/kustomization.yaml sets no namespace`);
  const component = await readKustomization(root, KAFKA_COMPONENT);
  const files = [
    ...(await resourceFiles(root, BASE)),
    ...(component.resources ?? []).map((r) => ({ file: path.join(KAFKA_COMPONENT, r), labels: {} })),
  ];
  const out = new Map<string, string>();
  let displaySink: unknown;
  for (const { file, labels } of files) {
    const docs = parseAllDocuments(await readFile(path.join(root, file), 'utf8'));
    const parts: string[] = [];
    docs.forEach((doc, i) => {
      if (!(doc as Document).contents) return;
      if (doc.errors.length > 0) throw new Error(`${file}#${i}: ${doc.errors[0]?.message}`);
      const sink = (doc as Document).getIn(['spec', 'delivery', 'deadLetterSink']);
      if (sink && !displaySink && isMap(sink)) displaySink = sink.toJSON();
      parts.push(templateOf(doc as Document, `${file}#${i}`, labels, namespace));
    });
    const target = file.startsWith(`${BASE}/`) ? file.slice(BASE.length + 1) : file;
    out.set(target, `${HEADER(file)}\n${parts.join('\n---\n')}\n`);
  }
  if (!displaySink) throw new Error('no delivery in the sources names a dead-letter sink');
  out.set(
    '_helpers.tpl',
    helpers({
      sources: `${KAFKA_COMPONENT}/kustomization.yaml and eventing/broker.yaml`,
      displaySink,
      kafkaSink: componentValue(component, 'Trigger', '/spec/delivery/deadLetterSink'),
      brokerConfig: componentValue(component, 'Broker', '/spec/config'),
    }),
  );
  out.set('NOTES.txt', NOTES);
  return new Map([...out].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Replaces the chart's templates/ folder with freshly generated templates. */
export async function writeTemplates(root: string): Promise<string[]> {
  const dir = path.join(root, CHART_DIR, 'templates');
  const templates = await generateTemplates(root);
  await rm(dir, { recursive: true, force: true });
  for (const [rel, text] of templates) {
    await mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
    await writeFile(path.join(dir, rel), text);
  }
  return [...templates.keys()];
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
  writeTemplates(root).then(
    (files) => process.stdout.write(`${CHART_DIR}/templates: ${files.length} files\n`),
    (err: unknown) => {
      process.stderr.write(`chart: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
