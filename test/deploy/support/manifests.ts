// Loads the deployment manifests: every YAML document under knative/ and eventing/, the rendered kustomize overlays,
// and the Helm chart rendered with each of its values files.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { z } from 'zod';
import { helm } from '../../support/helm.ts';

/** The repository root. */
export const ROOT = path.resolve(import.meta.dirname, '..', '..', '..');

/** The functions of the loop (the event catalog's list), each a Knative Service of the same name. */
export { FUNCTION_NAMES as FUNCTIONS, type FunctionName } from '../../../shared/events/types.ts';

/** The kustomize directories that must render, relative to ROOT. */
export const RENDERED = [
  'knative/base',
  'knative/overlays/dev',
  'knative/overlays/production',
  'eventing',
] as const;
export type RenderedDir = (typeof RENDERED)[number];

/** The Helm chart, relative to ROOT. */
export const CHART = 'knative/helm/flywheel';

/** The chart with each of its values files, and the overlay whose objects each must render. */
export const CHART_RENDERED = {
  'helm:values.yaml': 'knative/overlays/dev',
  'helm:values-production.yaml': 'knative/overlays/production',
} as const satisfies Record<string, RenderedDir>;
export type ChartRendering = keyof typeof CHART_RENDERED;

/** Something that renders to the objects of one install: a kustomize directory or the chart with a values file. */
export type Rendering = RenderedDir | ChartRendering;

/** Every way to install Flywheel that the overlay checks run on: both overlays, and the chart as each renders. */
export const DEPLOYMENTS = [
  'knative/overlays/dev',
  'knative/overlays/production',
  ...(Object.keys(CHART_RENDERED) as ChartRendering[]),
] as const;

/** The overlay a rendering stands for: itself, or the overlay the chart's values file reproduces. */
export const overlayOf = (r: Rendering): RenderedDir =>
  r.startsWith('helm:') ? CHART_RENDERED[r as ChartRendering] : (r as RenderedDir);

const LabelsSchema = z.record(z.string(), z.string());

/** The part of every Kubernetes object the tests rely on; the rest is checked by the model validators. */
export const ObjectSchema = z.looseObject({
  apiVersion: z.string().min(1),
  kind: z.string().min(1),
  metadata: z.looseObject({
    name: z.string().min(1),
    namespace: z.string().optional(),
    labels: LabelsSchema.optional(),
    annotations: LabelsSchema.optional(),
  }),
});
export type K8sObject = z.infer<typeof ObjectSchema>;

/** One YAML document and where it came from. */
export interface Doc {
  source: string;
  index: number;
  value: unknown;
}

/** Parses every document of a YAML text; YAML errors and warnings throw, naming the source. */
export function parseDocs(text: string, source: string): Doc[] {
  const docs: Doc[] = [];
  parseAllDocuments(text).forEach((doc, index) => {
    const problems = [...doc.errors, ...doc.warnings];
    if (problems.length > 0)
      throw new Error(`${source}#${index}: ${problems.map((p) => p.message).join('; ')}`);
    const value: unknown = doc.toJS();
    if (value !== null && value !== undefined) docs.push({ source, index, value });
  });
  return docs;
}

/** Every *.yaml / *.yml file under `dir` (relative to ROOT), sorted. */
export function yamlFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const entry of readdirSync(path.join(ROOT, rel), { withFileTypes: true })) {
      const child = path.join(rel, entry.name);
      if (entry.isDirectory()) walk(child);
      else if (/\.ya?ml$/.test(entry.name)) out.push(child);
    }
  };
  walk(dir);
  return out.sort();
}

/** True for kustomize's own files, which are checked by rendering rather than against a schema. */
export function isKustomization(file: string): boolean {
  return /(^|\/)kustomization\.ya?ml$/.test(file);
}

/** The documents of one file under ROOT. */
export function fileDocs(file: string): Doc[] {
  return parseDocs(readFileSync(path.join(ROOT, file), 'utf8'), file);
}

const rendered = new Map<Rendering, K8sObject[]>();

/**
 * `helm template flywheel knative/helm/flywheel <args>`, parsed; throws with helm's message when it refuses. The
 * values files of `args` are relative to the chart.
 */
export function renderChart(args: readonly string[] = []): K8sObject[] {
  const run = helm(['template', 'flywheel', CHART, ...args]);
  if (run.code !== 0) throw new Error(`helm template ${args.join(' ')} failed:\n${run.stderr}`);
  return parseDocs(run.stdout, `helm template ${args.join(' ')}`).map((d) => ObjectSchema.parse(d.value));
}

/**
 * The objects of a rendering, cached: `kubectl kustomize <dir>` (a missing kubectl fails with how to get it), or
 * `helm template` of the chart with a values file (values.yaml alone, or -f the file).
 */
export function render(dir: Rendering): K8sObject[] {
  const cached = rendered.get(dir);
  if (cached) return cached;
  if (dir.startsWith('helm:')) {
    const file = dir.slice('helm:'.length);
    const objects = renderChart(file === 'values.yaml' ? [] : ['-f', path.join(CHART, file)]);
    rendered.set(dir, objects);
    return objects;
  }
  let text: string;
  try {
    text = execFileSync('kubectl', ['kustomize', path.join(ROOT, dir)], {
      encoding: 'utf8',
      timeout: 30_000,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    throw new Error(
      `kubectl kustomize ${dir} failed (kubectl ≥ 1.27 with kustomize v5 is needed: install kubectl from the Kubernetes release binaries): ${detail}`,
      { cause: err },
    );
  }
  const objects = parseDocs(text, `kubectl kustomize ${dir}`).map((d) => ObjectSchema.parse(d.value));
  rendered.set(dir, objects);
  return objects;
}

/** Objects of one kind (and apiVersion prefix, e.g. `serving.knative.dev/`), parsed with a zod schema. */
export function ofKind<S extends z.ZodType>(
  objects: readonly K8sObject[],
  opts: { apiVersion: string; kind: string; schema: S },
): z.infer<S>[] {
  return objects
    .filter((o) => o.apiVersion === opts.apiVersion && o.kind === opts.kind)
    .map((o) => opts.schema.parse(o));
}

/** The one object of a kind and name; throws when it is missing. */
export function named(objects: readonly K8sObject[], kind: string, name: string): K8sObject {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`no ${kind} named ${name}`);
  return found;
}

/** Every container image an object runs: `image` of each entry of any `containers` or `initContainers` list in it. */
export function containerImages(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(containerImages);
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value).flatMap(([key, child]) => {
    if ((key === 'containers' || key === 'initContainers') && Array.isArray(child)) {
      return child.flatMap((c: unknown) => {
        const image: unknown = typeof c === 'object' && c !== null ? Reflect.get(c, 'image') : undefined;
        return typeof image === 'string' ? [image] : [];
      });
    }
    return containerImages(child);
  });
}

/** Paths (`.spec.template…`) where what was read back differs from what was sent; fields the server added are fine. */
export function differences(sent: unknown, read: unknown, at = ''): string[] {
  if (Array.isArray(sent)) {
    if (!Array.isArray(read) || read.length !== sent.length) {
      return [`${at}: sent ${JSON.stringify(sent)}, read ${JSON.stringify(read)}`];
    }
    return sent.flatMap((v, i) => differences(v, read[i], `${at}[${i}]`));
  }
  if (sent !== null && typeof sent === 'object') {
    if (read === null || typeof read !== 'object')
      return [`${at}: sent an object, read ${JSON.stringify(read)}`];
    return Object.entries(sent).flatMap(([k, v]) =>
      differences(v, (read as Record<string, unknown>)[k], `${at}.${k}`),
    );
  }
  return Object.is(sent, read) ? [] : [`${at}: sent ${JSON.stringify(sent)}, read ${JSON.stringify(read)}`];
}
