// The expected event wiring (README "Event catalog") and typed views of the Knative objects the wiring tests read.
import { z } from 'zod';
import { type K8sObject, ofKind } from './manifests.ts';
import { DeliverySchema, DestinationSchema } from './validate.ts';

/** The one Broker every Flywheel event goes through, as a destination ref. */
export const BROKER_REF = { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', name: 'default' };

const T = (short: string) => `dev.flywheel.${short}`;

/** Who consumes each type: one Trigger per (type, consumer). Kept here until the event catalog is the source. */
export const EXPECTED_CONSUMERS: Record<string, readonly string[]> = {
  [T('transaction')]: ['ingest'],
  [T('label')]: ['ingest'],
  [T('transaction.accepted')]: ['featurize'],
  [T('features.updated')]: ['score', 'detect-drift'],
  [T('score.computed')]: ['detect-drift'],
  [T('drift.detected')]: ['launch-training'],
  [T('training.requested')]: ['launch-training'],
  [T('model.trained')]: ['promote', 'launch-training'],
  [T('training.failed')]: ['launch-training', 'detect-drift'],
};

/** Produced but only observed (event log, dashboards): no Trigger may route them. */
export const OBSERVED_ONLY: readonly string[] = [
  T('label.accepted'),
  T('drift.measured'),
  T('training.launched'),
  T('model.promoted'),
  T('model.rejected'),
];

/** Producers that are not functions. */
export type ExternalProducer = 'data-source' | 'schedule' | 'trainer' | 'operator';

/** Who produces each consumed type (functions by name). */
export const PRODUCERS: Record<string, readonly string[]> = {
  [T('transaction')]: ['data-source'],
  [T('label')]: ['data-source'],
  [T('transaction.accepted')]: ['ingest'],
  [T('features.updated')]: ['featurize'],
  [T('score.computed')]: ['score'],
  [T('drift.detected')]: ['detect-drift'],
  [T('training.requested')]: ['schedule', 'operator'],
  [T('model.trained')]: ['trainer'],
  [T('training.failed')]: ['launch-training', 'trainer'],
};

/** A duck/v1 KReference by apiVersion, kind and name. */
export const RefSchema = z.looseObject({ apiVersion: z.string(), kind: z.string(), name: z.string() });
const ExactSchema = z.strictObject({ exact: z.record(z.string(), z.string()) });

/** A Subscriptions API filter expression (`spec.filters`), recursively; dialects other than these are rejected. */
export type SubscriptionsFilter =
  | { exact: Record<string, string> }
  | { prefix: Record<string, string> }
  | { suffix: Record<string, string> }
  | { all: SubscriptionsFilter[] }
  | { any: SubscriptionsFilter[] }
  | { not: SubscriptionsFilter }
  | { cesql: string };

export const SubscriptionsFilterSchema: z.ZodType<SubscriptionsFilter> = z.lazy(() =>
  z.union([
    ExactSchema,
    z.strictObject({ prefix: z.record(z.string(), z.string()) }),
    z.strictObject({ suffix: z.record(z.string(), z.string()) }),
    z.strictObject({ all: z.array(SubscriptionsFilterSchema).min(1) }),
    z.strictObject({ any: z.array(SubscriptionsFilterSchema).min(1) }),
    z.strictObject({ not: SubscriptionsFilterSchema }),
    z.strictObject({ cesql: z.string().min(1) }),
  ]),
);

export const TriggerSchema = z.looseObject({
  metadata: z.looseObject({ name: z.string() }),
  spec: z.strictObject({
    broker: z.string(),
    filter: z.strictObject({ attributes: z.record(z.string(), z.string()) }).optional(),
    filters: z.array(SubscriptionsFilterSchema).min(1).optional(),
    subscriber: DestinationSchema,
    delivery: DeliverySchema.optional(),
  }),
});
export type TriggerView = z.infer<typeof TriggerSchema>;

/**
 * The event types a Trigger lets through, read the way a broker evaluates them: `filters` when present
 * (it takes precedence), else `filter.attributes.type`. Only exact matches on `type` count, at the top level
 * or under `all`; a Trigger whose type is not pinned that way yields [].
 */
export function triggerTypes(trigger: TriggerView): string[] {
  const { filter, filters } = trigger.spec;
  if (filters) return filters.flatMap(exactTypes);
  const type = filter?.attributes.type;
  return type === undefined ? [] : [type];
}

function exactTypes(f: SubscriptionsFilter): string[] {
  if ('exact' in f) return f.exact.type === undefined ? [] : [f.exact.type];
  if ('all' in f) return f.all.flatMap(exactTypes);
  return [];
}

export const KnativeServiceSchema = z.looseObject({
  metadata: z.looseObject({ name: z.string(), labels: z.record(z.string(), z.string()).optional() }),
  spec: z.looseObject({
    template: z.looseObject({
      metadata: z.looseObject({
        labels: z.record(z.string(), z.string()),
        annotations: z.record(z.string(), z.string()),
      }),
      spec: z.looseObject({
        serviceAccountName: z.string().optional(),
        automountServiceAccountToken: z.boolean().optional(),
        containerConcurrency: z.int(),
        timeoutSeconds: z.int().optional(),
        containers: z.array(
          z.looseObject({
            name: z.string(),
            image: z.string(),
            command: z.array(z.string()).optional(),
            env: z
              .array(
                z.looseObject({
                  name: z.string(),
                  value: z.string().optional(),
                  valueFrom: z
                    .looseObject({
                      secretKeyRef: z.looseObject({ name: z.string(), key: z.string() }).optional(),
                    })
                    .optional(),
                }),
              )
              .default([]),
            envFrom: z
              .array(
                z.looseObject({
                  configMapRef: z.looseObject({ name: z.string() }).optional(),
                  secretRef: z.looseObject({ name: z.string() }).optional(),
                }),
              )
              .default([]),
            readinessProbe: z.looseObject({ httpGet: z.looseObject({ path: z.string() }) }),
            livenessProbe: z.looseObject({ httpGet: z.looseObject({ path: z.string() }) }),
            resources: z.looseObject({
              requests: z.record(z.string(), z.string()),
              limits: z.record(z.string(), z.string()),
            }),
            securityContext: z.looseObject({}).optional(),
          }),
        ),
      }),
    }),
  }),
});
export type KnativeServiceView = z.infer<typeof KnativeServiceSchema>;

export const SourceSchema = z.looseObject({
  metadata: z.looseObject({ name: z.string() }),
  spec: z.looseObject({ sink: z.looseObject({ ref: RefSchema }) }),
});

const RefOnlySchema = z.looseObject({ ref: RefSchema });

/**
 * The EventTransform a source's sink leads to: the sink itself, or the last step of the Sequence it names (whose
 * steps carry the delivery a PingSource lacks); undefined when it leads to neither.
 */
function transformBehind(
  objects: readonly K8sObject[],
  sink: z.infer<typeof RefSchema>,
): K8sObject | undefined {
  const find = (ref: z.infer<typeof RefSchema>) =>
    objects.find(
      (o) => o.apiVersion === ref.apiVersion && o.kind === ref.kind && o.metadata.name === ref.name,
    );
  const target = find(sink);
  if (target?.kind === 'EventTransform') return target;
  if (target?.kind !== 'Sequence') return undefined;
  const steps = z.looseObject({ spec: z.looseObject({ steps: z.array(RefOnlySchema) }) }).parse(target)
    .spec.steps;
  const last = steps.at(-1);
  const transform = last && find(last.ref);
  return transform?.kind === 'EventTransform' ? transform : undefined;
}

/** PingSources for both models feed (through a Sequence) an EventTransform that emits training.requested to the broker. */
export function scheduleProducesTrainingRequests(objects: readonly K8sObject[]): boolean {
  const pings = ofKind(objects, {
    apiVersion: 'sources.knative.dev/v1',
    kind: 'PingSource',
    schema: z.looseObject({
      spec: z.looseObject({ schedule: z.string(), data: z.string(), sink: RefOnlySchema }),
    }),
  });
  const models = pings.map((p) =>
    z.object({ model: z.string(), reason: z.string() }).parse(JSON.parse(p.spec.data)),
  );
  if (
    models
      .map((m) => m.model)
      .sort()
      .join() !== 'risk,segment'
  )
    return false;
  return pings.every((p) => {
    const transform = transformBehind(objects, p.spec.sink.ref);
    if (!transform) return false;
    const spec = z
      .looseObject({
        spec: z.looseObject({
          sink: z.looseObject({ ref: z.looseObject({}) }),
          jsonata: z.looseObject({ expression: z.string() }),
        }),
      })
      .parse(transform).spec;
    return (
      JSON.stringify(spec.sink.ref) === JSON.stringify(BROKER_REF) &&
      spec.jsonata.expression.includes('"type": "dev.flywheel.training.requested"')
    );
  });
}

/** A SinkBinding gives Jobs labelled flywheel.dev/role=trainer the broker as K_SINK. */
export function trainerJobsReachTheBroker(objects: readonly K8sObject[]): boolean {
  return objects.some((o) => {
    if (o.kind !== 'SinkBinding') return false;
    const text = JSON.stringify(o);
    return (
      text.includes('"kind":"Job"') &&
      text.includes('"flywheel.dev/role":"trainer"') &&
      text.includes('"kind":"Broker"')
    );
  });
}
