// The expected event wiring (DESIGN §2) and typed views of the Knative objects the wiring tests read.
import { z } from 'zod';
import { DeliverySchema, DestinationSchema } from './validate.ts';

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
  [T('model.trained')]: ['promote'],
};

/** Produced but only observed (event log, dashboards): no Trigger may route them. */
export const OBSERVED_ONLY: readonly string[] = [
  T('label.accepted'),
  T('drift.measured'),
  T('training.launched'),
  T('training.failed'),
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
};

const RefSchema = z.looseObject({ apiVersion: z.string(), kind: z.string(), name: z.string() });
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

/** A Kubernetes quantity (`250m`, `1`, `512Mi`, `1Gi`) as a number of base units. */
export function quantity(q: string): number {
  const match = /^(\d+(?:\.\d+)?)(m|k|M|G|Ki|Mi|Gi|Ti)?$/.exec(q);
  if (!match) throw new Error(`not a quantity: ${q}`);
  const factors: Record<string, number> = {
    m: 1e-3,
    k: 1e3,
    M: 1e6,
    G: 1e9,
    Ki: 2 ** 10,
    Mi: 2 ** 20,
    Gi: 2 ** 30,
    Ti: 2 ** 40,
  };
  return Number(match[1]) * (match[2] ? (factors[match[2]] ?? Number.NaN) : 1);
}

/** Seconds in a Knative/Go duration such as `30s`, `2m`, `1h30m`. */
export function goDurationSeconds(d: string): number {
  const parts = [...d.matchAll(/(\d+(?:\.\d+)?)(h|m|s)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== d) throw new Error(`not a duration: ${d}`);
  const unit: Record<string, number> = { h: 3600, m: 60, s: 1 };
  return parts.reduce((sum, p) => sum + Number(p[1]) * (unit[p[2] ?? 's'] ?? Number.NaN), 0);
}

/** Seconds in an ISO-8601 duration limited to the PTnHnMnS forms Knative delivery uses. */
export function isoDurationSeconds(d: string): number {
  const match = /^PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?$/.exec(d);
  if (!match || d === 'PT') throw new Error(`not a PTnHnMnS duration: ${d}`);
  return Number(match[1] ?? 0) * 3600 + Number(match[2] ?? 0) * 60 + Number(match[3] ?? 0);
}

/** Does a Kubernetes label selector (matchLabels + matchExpressions) select these labels? */
export function selects(
  selector: {
    matchLabels?: Record<string, string> | undefined;
    matchExpressions?: { key: string; operator: string; values?: string[] | undefined }[] | undefined;
  },
  labels: Record<string, string>,
): boolean {
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const value = labels[e.key];
    const values = e.values ?? [];
    const ok =
      e.operator === 'In'
        ? value !== undefined && values.includes(value)
        : e.operator === 'NotIn'
          ? value === undefined || !values.includes(value)
          : e.operator === 'Exists'
            ? value !== undefined
            : e.operator === 'DoesNotExist'
              ? value === undefined
              : false;
    if (!ok) return false;
  }
  return true;
}
