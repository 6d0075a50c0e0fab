// Validates manifests: kubernetes-models / @kubernetes-models/knative schemas per kind, zod mirrors of the Kafka CRDs, and unknown kinds rejected.
import { EventTransform } from '@kubernetes-models/knative/eventing.knative.dev/v1alpha1/EventTransform';
import { Broker } from '@kubernetes-models/knative/eventing.knative.dev/v1/Broker';
import { Trigger } from '@kubernetes-models/knative/eventing.knative.dev/v1/Trigger';
import { Sequence } from '@kubernetes-models/knative/flows.knative.dev/v1/Sequence';
import { Service as KnativeService } from '@kubernetes-models/knative/serving.knative.dev/v1/Service';
import { PingSource } from '@kubernetes-models/knative/sources.knative.dev/v1/PingSource';
import { SinkBinding } from '@kubernetes-models/knative/sources.knative.dev/v1/SinkBinding';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { CronJob } from 'kubernetes-models/batch/v1/CronJob';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { ClusterRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole';
import { ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding';
import { Role } from 'kubernetes-models/rbac.authorization.k8s.io/v1/Role';
import { RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { z } from 'zod';

type ModelClass = new (data: never) => { validate(): void };

/** Kinds validated by the generated JSON schemas of kubernetes-models and @kubernetes-models/knative. */
const MODELS: Record<string, ModelClass> = {
  'v1/Namespace': Namespace,
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'v1/ServiceAccount': ServiceAccount,
  'apps/v1/Deployment': Deployment,
  'batch/v1/Job': Job,
  'batch/v1/CronJob': CronJob,
  'rbac.authorization.k8s.io/v1/Role': Role,
  'rbac.authorization.k8s.io/v1/RoleBinding': RoleBinding,
  'rbac.authorization.k8s.io/v1/ClusterRole': ClusterRole,
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': ClusterRoleBinding,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'serving.knative.dev/v1/Service': KnativeService,
  'eventing.knative.dev/v1/Broker': Broker,
  'eventing.knative.dev/v1/Trigger': Trigger,
  'eventing.knative.dev/v1alpha1/EventTransform': EventTransform,
  'flows.knative.dev/v1/Sequence': Sequence,
  'sources.knative.dev/v1/PingSource': PingSource,
  'sources.knative.dev/v1/SinkBinding': SinkBinding,
};

/**
 * Kinds whose generated schema requires `status` (the Go field lacks omitempty) although the API server
 * never does on create: validated with an empty status added when the manifest has none.
 */
const STATUS_NOT_REQUIRED = new Set(['sources.knative.dev/v1/SinkBinding']);

function withStatus(key: string, value: object): object {
  return STATUS_NOT_REQUIRED.has(key) && !('status' in value) ? { ...value, status: {} } : value;
}

/** ISO-8601 durations as Knative parses them for delivery (e.g. PT0.5S, PT2M). */
export const IsoDurationSchema = z
  .string()
  .regex(
    /^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$/,
    'an ISO-8601 duration',
  );

const NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** duck/v1 Destination: a ref, a uri, or both (uri relative to the ref). */
export const DestinationSchema = z
  .strictObject({
    ref: z
      .strictObject({
        apiVersion: z.string().min(1),
        kind: z.string().min(1),
        name: z.string().regex(NAME),
        namespace: z.string().optional(),
      })
      .optional(),
    uri: z.string().min(1).optional(),
    CACerts: z.string().optional(),
    audience: z.string().optional(),
  })
  .refine((d) => d.ref !== undefined || d.uri !== undefined, 'a destination needs ref or uri');

/** duck/v1 DeliverySpec with the enums and formats the generated schema leaves open. */
export const DeliverySchema = z.strictObject({
  retry: z.int().nonnegative().optional(),
  backoffPolicy: z.enum(['linear', 'exponential']).optional(),
  backoffDelay: IsoDurationSchema.optional(),
  timeout: IsoDurationSchema.optional(),
  retryAfterMax: IsoDurationSchema.optional(),
  deadLetterSink: DestinationSchema.optional(),
});

const MetadataSchema = z.looseObject({
  name: z.string().regex(NAME),
  namespace: z.string().regex(NAME).optional(),
});

/**
 * KafkaSource (sources.knative.dev/v1beta1, knative-extensions/eventing-kafka-broker): not in
 * @kubernetes-models/knative, so its CRD's required fields (bootstrapServers, topics) and the webhook's
 * (sink) are checked here, with the types of the optional fields the manifests use.
 */
const KafkaSourceSchema = z.looseObject({
  metadata: MetadataSchema,
  spec: z.looseObject({
    bootstrapServers: z.array(z.string().min(1)).min(1),
    topics: z.array(z.string().min(1)).min(1),
    consumerGroup: z.string().min(1).optional(),
    initialOffset: z.enum(['earliest', 'latest']).optional(),
    consumers: z.int().positive().optional(),
    ordering: z.enum(['ordered', 'unordered']).optional(),
    sink: DestinationSchema,
    delivery: DeliverySchema.optional(),
  }),
});

/** KafkaSink (eventing.knative.dev/v1alpha1, eventing-kafka-broker): CRD-required topic and bootstrapServers. */
const KafkaSinkSchema = z.looseObject({
  metadata: MetadataSchema,
  spec: z.strictObject({
    topic: z.string().min(1),
    bootstrapServers: z.array(z.string().min(1)).min(1),
    contentMode: z.enum(['binary', 'structured']).optional(),
    numPartitions: z.int().positive().optional(),
    replicationFactor: z.int().positive().optional(),
    auth: z.looseObject({}).optional(),
  }),
});

/** Kinds no model package covers, validated by hand with zod. */
const HAND_CHECKED: Record<string, z.ZodType> = {
  'sources.knative.dev/v1beta1/KafkaSource': KafkaSourceSchema,
  'eventing.knative.dev/v1alpha1/KafkaSink': KafkaSinkSchema,
};

/** Every apiVersion/kind this validator knows; anything else is an error. */
export const KNOWN_KINDS: readonly string[] = [...Object.keys(MODELS), ...Object.keys(HAND_CHECKED)];

function typeKey(value: unknown): string | undefined {
  if (!isObject(value)) return undefined;
  const apiVersion: unknown = Reflect.get(value, 'apiVersion');
  const kind: unknown = Reflect.get(value, 'kind');
  return typeof apiVersion === 'string' && typeof kind === 'string' ? `${apiVersion}/${kind}` : undefined;
}

function isObject(value: unknown): value is object {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Problems with one object: [] when it validates; an unknown or missing apiVersion/kind is a problem. */
export function validateObject(value: unknown): string[] {
  const key = typeKey(value);
  if (key === undefined || !isObject(value)) {
    return ['not a Kubernetes object: apiVersion and kind are required strings'];
  }
  const model = MODELS[key];
  if (model) {
    try {
      new model(withStatus(key, value) as never).validate();
      return [];
    } catch (err) {
      return [`${key}: ${err instanceof Error ? err.message : String(err)}`];
    }
  }
  const schema = HAND_CHECKED[key];
  if (schema) {
    const result = schema.safeParse(value);
    return result.success ? [] : [`${key}: ${z.prettifyError(result.error)}`];
  }
  return [
    `${key}: no schema for this kind (add it to test/deploy/support/validate.ts if it is meant to be here)`,
  ];
}
