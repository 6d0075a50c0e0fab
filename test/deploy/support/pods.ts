// The pods of the event flow as NetworkPolicies see them: Flywheel's, read from a rendered overlay, and Knative's own.
import { z } from 'zod';
import { defaultConfig } from '../../../shared/config/index.ts';
import { buildTrainingJob } from '../../../shared/k8s/job.ts';
import { type K8sObject, named, ofKind } from './manifests.ts';
import { type NetworkPolicyView, namespacesNamedBy, type Pod, type PodPort } from './network-policies.ts';

/** The part of a Knative Service that its revision pods' labels come from. */
const RevisionTemplateSchema = z.looseObject({
  metadata: z.looseObject({ name: z.string() }),
  spec: z.looseObject({
    template: z.looseObject({
      metadata: z.looseObject({ labels: z.record(z.string(), z.string()).default({}) }),
    }),
  }),
});

/** The namespace every Flywheel object is rendered into. */
export const FLYWHEEL_NAMESPACE = 'flywheel';

/**
 * The queue-proxy's request port on every Knative revision pod: the activator, the ingress gateways and (under a
 * mesh) the eventing data plane connect there (knative.dev/serving pkg/networking, BackendHTTPPort).
 */
export const QUEUE_PROXY_PORT: PodPort = { port: 8012, name: 'queue-port' };

/** The JSONata transform's HTTP and HTTPS ports (knative-extensions/eventing-integrations transform-jsonata). */
export const EVENT_TRANSFORM_PORTS: readonly PodPort[] = [{ port: 8080 }, { port: 8443 }];

/** Redis and its Sentinel, as the Bitnami chart names the container ports. */
export const REDIS_PORTS: readonly PodPort[] = [
  { port: 6379, name: 'redis' },
  { port: 26379, name: 'redis-sentinel' },
];

/**
 * The labels Knative Eventing puts on the pods of an EventTransform's JSONata Deployment, and nothing else
 * (knative.dev/eventing pkg/reconciler/eventtransform: jsonataDeployment's pod template, with
 * JsonataResourcesLabelKey in resources_jsonata.go and NameLabelKey in controller.go).
 */
export function eventTransformPodLabels(transform: string): Record<string, string> {
  return {
    'eventing.knative.dev/event-transform-jsonata': 'true',
    'eventing.knative.dev/event-transform-name': transform,
  };
}

/** A revision pod of a Knative Service: its template's labels plus those Knative Serving adds to every revision pod. */
function revisionPod(service: z.infer<typeof RevisionTemplateSchema>): Pod {
  const name = service.metadata.name;
  return {
    name,
    namespace: FLYWHEEL_NAMESPACE,
    labels: {
      ...service.spec.template.metadata.labels,
      'serving.knative.dev/service': name,
      'serving.knative.dev/configuration': name,
      'serving.knative.dev/revision': `${name}-00001`,
      app: `${name}-00001`,
    },
    ports: [QUEUE_PROXY_PORT],
  };
}

/** A training Job's pod, labelled as launch-training labels it (shared/k8s/job.ts) with the overlay's configuration. */
function trainerPod(objects: readonly K8sObject[]): Pod {
  const data = z
    .record(z.string(), z.string())
    .parse(Reflect.get(named(objects, 'ConfigMap', 'flywheel-config'), 'data'));
  const job = buildTrainingJob({
    model: 'risk',
    range: { from: 0, to: 86_400_000 },
    reason: 'schedule',
    triggeredBy: { id: 'nightly', source: '/schedule', type: 'dev.flywheel.training.requested' },
    config: defaultConfig(data),
  });
  const labels = z.record(z.string(), z.string()).parse(job.spec?.template.metadata?.labels);
  return { name: 'trainer', namespace: job.metadata?.namespace ?? FLYWHEEL_NAMESPACE, labels, ports: [] };
}

/** Redis as the Bitnami chart labels its pods (`helm install redis … -n flywheel`): the master and a replica. */
function redisPods(): Pod[] {
  const chart = {
    'app.kubernetes.io/name': 'redis',
    'app.kubernetes.io/instance': 'redis',
    'app.kubernetes.io/managed-by': 'Helm',
  };
  return ['master', 'replica'].map((component) => ({
    name: `redis-${component}`,
    namespace: FLYWHEEL_NAMESPACE,
    labels: { ...chart, 'app.kubernetes.io/component': component },
    ports: REDIS_PORTS,
  }));
}

/**
 * The pods an overlay runs in the flywheel namespace: one revision pod per Knative Service (the functions, and the
 * dead-letter display where the overlay has it), one pod per EventTransform, a training Job's pod, Redis, and a pod
 * without labels (anything else someone runs there).
 */
export function flywheelPods(objects: readonly K8sObject[]): Pod[] {
  const services = ofKind(objects, {
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Service',
    schema: RevisionTemplateSchema,
  });
  const transforms = objects.filter(
    (o) => o.apiVersion === 'eventing.knative.dev/v1alpha1' && o.kind === 'EventTransform',
  );
  return [
    ...services.map(revisionPod),
    ...transforms.map((t) => ({
      name: `${t.metadata.name}-jsonata`,
      namespace: FLYWHEEL_NAMESPACE,
      labels: eventTransformPodLabels(t.metadata.name),
      ports: EVENT_TRANSFORM_PORTS,
    })),
    trainerPod(objects),
    ...redisPods(),
    { name: 'unlabelled', namespace: FLYWHEEL_NAMESPACE, labels: {}, ports: [{ port: 8080 }] },
  ];
}

/** A pod that only opens connections (it serves nothing the policies are asked about). */
const client = (namespace: string, name: string, labels: Record<string, string>): Pod => ({
  name,
  namespace,
  labels,
  ports: [],
});

/** Knative's data-plane pods that connect into the namespace, with the labels their releases give them. */
export const KNATIVE_PODS: readonly Pod[] = [
  client('knative-serving', 'activator', { app: 'activator', role: 'activator' }),
  client('knative-serving', 'autoscaler', { app: 'autoscaler' }),
  client('kourier-system', 'kourier-gateway', { app: '3scale-kourier-gateway' }),
  client('istio-system', 'istio-ingressgateway', { app: 'istio-ingressgateway', istio: 'ingressgateway' }),
  client('contour-internal', 'envoy', { app: 'envoy' }),
  client('contour-external', 'envoy', { app: 'envoy' }),
  client('knative-eventing', 'mt-broker-filter', {
    'eventing.knative.dev/brokerRole': 'filter',
    'app.kubernetes.io/component': 'broker-filter',
  }),
  client('knative-eventing', 'kafka-broker-dispatcher', { app: 'kafka-broker-dispatcher' }),
  client('knative-eventing', 'kafka-source-dispatcher', { app: 'kafka-source-dispatcher' }),
  client('knative-eventing', 'imc-dispatcher', {
    'messaging.knative.dev/channel': 'in-memory-channel',
    'messaging.knative.dev/role': 'dispatcher',
  }),
  client('knative-eventing', 'pingsource-mt-adapter', {
    'eventing.knative.dev/source': 'ping-source-controller',
    'sources.knative.dev/role': 'adapter',
  }),
];

/** A pod in another namespace wearing every Flywheel label a policy might select on. */
export function lookalikeIn(namespace: string): Pod {
  return client(namespace, 'flywheel-lookalike', {
    'app.kubernetes.io/part-of': 'flywheel',
    'flywheel.dev/role': 'function',
    'app.kubernetes.io/name': 'redis',
  });
}

/** A Flywheel-looking pod in a namespace no policy names. */
export const ELSEWHERE_POD: Pod = lookalikeIn('elsewhere');

/**
 * The pods that may try to connect into the namespace: Knative's, the pod elsewhere, and a Flywheel-looking pod in
 * every other namespace the policies name, so that admitting one more namespace shows as a path.
 */
export function outsidePods(policies: readonly NetworkPolicyView[]): Pod[] {
  const modelled = new Set([...KNATIVE_PODS, ELSEWHERE_POD].map((p) => p.namespace));
  const named = namespacesNamedBy(policies).filter((ns) => !modelled.has(ns) && ns !== FLYWHEEL_NAMESPACE);
  return [...KNATIVE_PODS, ELSEWHERE_POD, ...named.map(lookalikeIn)];
}
