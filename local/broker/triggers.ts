// Reads Knative Trigger (and Broker) objects from the eventing/ YAML and turns each into a routable trigger.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { z } from 'zod';
import { ConfigError } from '../../shared/config/index.ts';
import { parseDuration } from './duration.ts';
import {
  AttributesFilterSchema,
  compileTriggerFilter,
  FilterExpressionSchema,
  type Predicate,
} from './filters.ts';

const EVENTING_API = 'eventing.knative.dev/v1';
/** Subscriber kinds the local broker can resolve by name to a running function. */
const SERVICE_KINDS = new Set(['serving.knative.dev/v1/Service', 'v1/Service']);

const RefSchema = z.object({
  apiVersion: z.string().min(1),
  kind: z.string().min(1),
  name: z.string().min(1),
  namespace: z.string().optional(),
});
const DestinationSchema = z
  .object({ ref: RefSchema.optional(), uri: z.string().min(1).optional() })
  .refine((d) => d.ref !== undefined || d.uri !== undefined, 'a destination needs ref, uri or both');
const DurationSchema = z.string().transform((text, ctx) => {
  const parsed = parseDuration(text);
  if (!parsed.ok) {
    ctx.addIssue({ code: 'custom', message: parsed.error });
    return z.NEVER;
  }
  return parsed.ms;
});
const DeliverySchema = z.object({
  retry: z.number().int().min(0).optional(),
  backoffPolicy: z.enum(['exponential', 'linear']).optional(),
  backoffDelay: DurationSchema.optional(),
  timeout: DurationSchema.optional(),
  deadLetterSink: DestinationSchema.optional(),
});
const MetadataSchema = z.object({ name: z.string().min(1), namespace: z.string().optional() });

/** The parts of a Knative Trigger (eventing.knative.dev/v1) the local broker reads. */
export const TriggerSchema = z.object({
  apiVersion: z.literal(EVENTING_API),
  kind: z.literal('Trigger'),
  metadata: MetadataSchema,
  spec: z.object({
    broker: z.string().min(1),
    filter: z.object({ attributes: AttributesFilterSchema.optional() }).optional(),
    filters: z.array(FilterExpressionSchema).optional(),
    subscriber: DestinationSchema,
    delivery: DeliverySchema.optional(),
  }),
});

/** The parts of a Knative Broker the local broker reads: its delivery spec, the default for its triggers. */
export const BrokerSchema = z.object({
  apiVersion: z.literal(EVENTING_API),
  kind: z.literal('Broker'),
  metadata: MetadataSchema,
  spec: z.object({ delivery: DeliverySchema.optional() }).optional(),
});

type DeliverySpec = z.infer<typeof DeliverySchema>;
type Destination = z.infer<typeof DestinationSchema>;

/** Where a trigger's events go: a function resolved by service name (plus path), or an absolute URL. */
export type Subscriber = { kind: 'service'; service: string; path: string } | { kind: 'url'; url: string };

/** How a trigger delivers: retries after the first attempt, backoff, per-attempt timeout, dead-letter sink. */
export interface Delivery {
  retry: number;
  backoffPolicy: 'exponential' | 'linear';
  backoffDelayMs: number;
  timeoutMs?: number;
  /** The sink the manifest names (`ref` kind/name or `uri`); locally dead letters go to a file and the dashboard. */
  deadLetter?: { ref?: { apiVersion: string; kind: string; name: string }; uri?: string };
}

export interface Trigger {
  name: string;
  namespace?: string;
  broker: string;
  /** The file the trigger came from, for messages. */
  file: string;
  filter: Predicate;
  subscriber: Subscriber;
  delivery: Delivery;
}

/**
 * Delivery when neither the trigger nor its broker sets one: the default Knative installs for brokers
 * (config-br-defaults: retry 10, exponential, PT0.2S).
 */
export const DEFAULT_DELIVERY: Delivery = { retry: 10, backoffPolicy: 'exponential', backoffDelayMs: 200 };

/**
 * Reads every `*.yaml`/`*.yml` file under `dir` (recursively, multi-document files included), keeps the Trigger
 * objects and turns each into a routable trigger. A trigger without `spec.delivery` takes its Broker's (when
 * the Broker is in the same directory), else DEFAULT_DELIVERY. Throws ConfigError listing every problem with
 * its file and trigger name.
 */
export async function loadTriggers(dir: string): Promise<Trigger[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const files = entries
    .filter((e) => e.isFile() && /\.ya?ml$/.test(e.name))
    .map((e) => path.join(e.parentPath, e.name))
    .sort();
  const sources = await Promise.all(
    files.map(async (file) => ({ file, text: await readFile(file, 'utf8') })),
  );
  return parseTriggers(sources);
}

/** Parses YAML sources already read (what loadTriggers does after reading the files). */
export function parseTriggers(sources: readonly { file: string; text: string }[]): Trigger[] {
  const problems: string[] = [];
  const triggers: { file: string; raw: z.infer<typeof TriggerSchema> }[] = [];
  const brokerDelivery = new Map<string, DeliverySpec | undefined>();
  for (const { file, text } of sources) {
    for (const [index, doc] of parseAllDocuments(text).entries()) {
      if (doc.errors.length > 0) {
        problems.push(`${file} (document ${index + 1}): invalid YAML: ${doc.errors[0]?.message ?? ''}`);
        continue;
      }
      const obj: unknown = doc.toJS();
      if (!isObject(obj) || obj.apiVersion !== EVENTING_API) continue;
      const name = isObject(obj.metadata) ? String(obj.metadata.name ?? '?') : '?';
      if (obj.kind === 'Trigger') {
        const parsed = TriggerSchema.safeParse(obj);
        if (parsed.success) triggers.push({ file, raw: parsed.data });
        else problems.push(`${file}: Trigger "${name}":\n${indent(z.prettifyError(parsed.error))}`);
      } else if (obj.kind === 'Broker') {
        const parsed = BrokerSchema.safeParse(obj);
        if (parsed.success) brokerDelivery.set(brokerKey(parsed.data.metadata), parsed.data.spec?.delivery);
        else problems.push(`${file}: Broker "${name}":\n${indent(z.prettifyError(parsed.error))}`);
      }
    }
  }
  const out: Trigger[] = [];
  for (const { file, raw } of triggers) {
    const where = `${file}: Trigger "${raw.metadata.name}"`;
    const subscriber = toSubscriber(raw.spec.subscriber);
    if (typeof subscriber === 'string') {
      problems.push(`${where}: spec.subscriber: ${subscriber}`);
      continue;
    }
    const inherited = brokerDelivery.has(
      brokerKey({ name: raw.spec.broker, namespace: raw.metadata.namespace }),
    )
      ? brokerDelivery.get(brokerKey({ name: raw.spec.broker, namespace: raw.metadata.namespace }))
      : byName(brokerDelivery, raw.spec.broker);
    const trigger: Trigger = {
      name: raw.metadata.name,
      broker: raw.spec.broker,
      file,
      filter: compileTriggerFilter(raw.spec),
      subscriber,
      delivery: toDelivery(raw.spec.delivery ?? inherited),
    };
    if (raw.metadata.namespace !== undefined) trigger.namespace = raw.metadata.namespace;
    out.push(trigger);
  }
  if (problems.length > 0) throw new ConfigError(`invalid eventing manifests:\n${problems.join('\n')}`);
  return out;
}

function toSubscriber(d: Destination): Subscriber | string {
  if (!d.ref) {
    const uri = d.uri ?? '';
    return /^https?:\/\//.test(uri)
      ? { kind: 'url', url: uri }
      : `uri "${uri}" without a ref must be an absolute URL`;
  }
  if (!SERVICE_KINDS.has(`${d.ref.apiVersion}/${d.ref.kind}`)) {
    return `ref ${d.ref.apiVersion} ${d.ref.kind} is not supported locally; the local broker delivers to Services (serving.knative.dev/v1 or v1) by name`;
  }
  if (d.uri !== undefined && /^[a-z]+:\/\//i.test(d.uri))
    return `uri "${d.uri}" must be a relative path when ref is set`;
  const rel = d.uri ?? '/';
  return { kind: 'service', service: d.ref.name, path: rel.startsWith('/') ? rel : `/${rel}` };
}

function toDelivery(spec: DeliverySpec | undefined): Delivery {
  if (!spec) return DEFAULT_DELIVERY;
  const delivery: Delivery = {
    // Knative: an unset retry means no retries; policy and delay take Knative's broker defaults.
    retry: spec.retry ?? 0,
    backoffPolicy: spec.backoffPolicy ?? DEFAULT_DELIVERY.backoffPolicy,
    backoffDelayMs: spec.backoffDelay ?? DEFAULT_DELIVERY.backoffDelayMs,
  };
  if (spec.timeout !== undefined) delivery.timeoutMs = spec.timeout;
  const sink = spec.deadLetterSink;
  if (sink) {
    delivery.deadLetter = {};
    if (sink.ref)
      delivery.deadLetter.ref = { apiVersion: sink.ref.apiVersion, kind: sink.ref.kind, name: sink.ref.name };
    if (sink.uri !== undefined) delivery.deadLetter.uri = sink.uri;
  }
  return delivery;
}

/** A dead-letter sink as one line of text: `Service/name`, the URI, or both. */
export function describeSink(sink: Delivery['deadLetter']): string {
  if (!sink) return 'none';
  const ref = sink.ref ? `${sink.ref.kind}/${sink.ref.name}` : '';
  return [ref, sink.uri ?? ''].filter(Boolean).join(' ');
}

/** A Broker found by name alone, for manifests where kustomize (not the file) sets the namespace. */
function byName(map: Map<string, DeliverySpec | undefined>, name: string): DeliverySpec | undefined {
  for (const [key, delivery] of map) if (key.endsWith(`/${name}`)) return delivery;
  return undefined;
}

function brokerKey(m: { name: string; namespace?: string | undefined }): string {
  return `${m.namespace ?? ''}/${m.name}`;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
}
