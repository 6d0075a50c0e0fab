// Which pods the rendered NetworkPolicies let reach which: exactly the connections the event flow needs, nothing more.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEPLOYMENTS, FUNCTIONS, overlayOf, render } from './support/manifests.ts';
import {
  admitsIngress,
  type Need,
  type NetworkPolicyView,
  neededPaths,
  networkPolicies,
  openPaths,
  type Pod,
  pathDifference,
  policyTypes,
} from './support/network-policies.ts';
import {
  ELSEWHERE_POD,
  EVENT_TRANSFORM_PORTS,
  eventTransformPodLabels,
  FLYWHEEL_NAMESPACE,
  flywheelPods,
  KNATIVE_PODS,
  outsidePods,
  QUEUE_PROXY_PORT,
} from './support/pods.ts';

/** The ingress gateways' namespaces of the networking layers knative/README.md supports. */
const GATEWAY_NAMESPACES = ['kourier-system', 'istio-system', 'contour-internal', 'contour-external'];

const inNamespace =
  (...namespaces: string[]) =>
  (pod: Pod) =>
    namespaces.includes(pod.namespace);
const flywheel =
  (...names: string[]) =>
  (pod: Pod) =>
    pod.namespace === FLYWHEEL_NAMESPACE && names.includes(pod.name);
const revision = (pod: Pod) =>
  pod.namespace === FLYWHEEL_NAMESPACE && pod.labels['serving.knative.dev/service'] !== undefined;
const eventTransform = (pod: Pod) =>
  pod.namespace === FLYWHEEL_NAMESPACE &&
  pod.labels['eventing.knative.dev/event-transform-name'] !== undefined;
const redis = flywheel('redis-master', 'redis-replica');

/**
 * The connections into the namespace the event flow needs. Knative's pods are admitted by namespace, never by their
 * labels (Knative's to change between releases), so every pod of a Knative namespace shares what any of them needs.
 * Egress is not restricted (the policies are ingress-only): functions reach the broker ingress, Kafka, Redis and
 * the API server, and training Jobs the broker, by their own egress.
 */
const NEEDS: readonly Need[] = [
  {
    why: 'the activator proxies requests to revisions that scale from zero or burst; the autoscaler scrapes them',
    from: inNamespace('knative-serving'),
    to: revision,
    ports: [QUEUE_PROXY_PORT.port],
  },
  {
    why: "the networking layer's gateway routes public and cluster-local requests to revisions",
    from: inNamespace(...GATEWAY_NAMESPACES),
    to: revision,
    ports: [QUEUE_PROXY_PORT.port],
  },
  {
    why: 'the broker filter and dispatchers deliver Trigger events and dead letters, the KafkaSource dispatcher feeds ingest',
    from: inNamespace('knative-eventing'),
    to: revision,
    ports: [QUEUE_PROXY_PORT.port],
  },
  {
    why: "the schedule's channel dispatcher delivers the nightly pings to the EventTransform, over HTTP or HTTPS",
    from: inNamespace('knative-eventing'),
    to: eventTransform,
    ports: EVENT_TRANSFORM_PORTS.map((p) => p.port),
  },
  {
    why: 'functions and training Jobs read and write the online store and the registry',
    from: flywheel(...FUNCTIONS, 'trainer'),
    to: redis,
    ports: [6379],
  },
  {
    why: 'Redis replicas follow their master, and Sentinel watches both',
    from: redis,
    to: redis,
    ports: [6379, 26379],
  },
];

for (const dir of ['knative/base', ...DEPLOYMENTS] as const) {
  describe(`network paths of ${dir}`, () => {
    const objects = render(dir);
    const policies = networkPolicies(objects);
    const targets = flywheelPods(objects);
    const sources = [...targets, ...outsidePods(policies)];
    const needed = neededPaths(NEEDS, sources, targets);
    const open = openPaths(policies, sources, targets);

    it('models every Flywheel pod: the functions, the EventTransform, a training Job, Redis', () => {
      const names = targets.map((p) => p.name);
      for (const fn of FUNCTIONS) assert.ok(names.includes(fn), `no pod for ${fn}`);
      for (const name of ['training-requested-jsonata', 'trainer', 'redis-master', 'unlabelled'])
        assert.ok(names.includes(name), `no pod ${name} in ${names.join(', ')}`);
      assert.equal(names.includes('dead-letters'), overlayOf(dir) !== 'knative/overlays/production');
      assert.ok(needed.size > 50, `only ${needed.size} needed paths`);
    });

    it('opens every connection the event flow needs', () => {
      assert.deepEqual(pathDifference(needed, open).closed, []);
    });

    it('opens no other connection into the namespace', () => {
      assert.deepEqual(pathDifference(needed, open).extra, []);
    });

    it("admits the EventTransform's pods from knative-eventing only, on the transform's ports", () => {
      const transform = targets.find(eventTransform);
      assert.ok(transform);
      assert.deepEqual(transform.labels, eventTransformPodLabels('training-requested'));
      const eventing = KNATIVE_PODS.filter(inNamespace('knative-eventing'));
      const admittedFrom = sources.filter((from) =>
        EVENT_TRANSFORM_PORTS.every((port) => admitsIngress(policies, from, transform, port)),
      );
      assert.deepEqual(admittedFrom, eventing);
      for (const from of eventing)
        assert.ok(
          !admitsIngress(policies, from, transform, { port: 9090 }),
          'a port the transform does not serve',
        );
    });

    it('restricts ingress only: every policy is of type Ingress, none restricts egress', () => {
      assert.ok(policies.length > 0);
      for (const p of policies) assert.deepEqual(policyTypes(p), ['Ingress'], p.metadata.name);
    });
  });
}

describe('the reachability check', () => {
  const objects = render('knative/overlays/dev');
  const policies = networkPolicies(objects);
  const targets = flywheelPods(objects);
  const sources = [...targets, ...outsidePods(policies)];
  const needed = neededPaths(NEEDS, sources, targets);
  const difference = (changed: readonly NetworkPolicyView[]) =>
    pathDifference(needed, openPaths(changed, sources, targets));

  it('reports a needed connection that a policy no longer opens', () => {
    const withoutTransformPolicy = policies.filter(
      (p) => !p.spec.podSelector.matchLabels?.['eventing.knative.dev/event-transform-name'],
    );
    assert.equal(withoutTransformPolicy.length, policies.length - 1);
    const { closed, extra } = difference(withoutTransformPolicy);
    assert.ok(
      closed.some((p) =>
        p.startsWith('knative-eventing/imc-dispatcher → flywheel/training-requested-jsonata:8080: '),
      ),
      closed.join('\n'),
    );
    assert.deepEqual(extra, []);
  });

  it('reports a connection that no need asks for', () => {
    const functionsFromEverywhere: NetworkPolicyView = {
      metadata: { name: 'functions-from-everywhere', namespace: FLYWHEEL_NAMESPACE },
      spec: {
        podSelector: { matchLabels: { 'flywheel.dev/role': 'function' } },
        policyTypes: ['Ingress'],
        ingress: [{ from: [{ namespaceSelector: {} }] }],
      },
    };
    const { closed, extra } = difference([...policies, functionsFromEverywhere]);
    assert.deepEqual(closed, []);
    assert.ok(extra.includes('elsewhere/flywheel-lookalike → flywheel/score:8012'), extra.join('\n'));
  });

  it('leaves a pod that no policy selects open to everyone', () => {
    const onlyRedisPolicy = policies.filter((p) => p.metadata.name === 'redis-from-flywheel');
    const score = targets.find((p) => p.name === 'score');
    assert.ok(score);
    assert.ok(admitsIngress(onlyRedisPolicy, ELSEWHERE_POD, score, QUEUE_PROXY_PORT));
  });

  it('matches ports by number, range and name, and refuses to guess at ipBlock peers', () => {
    const to: Pod = { name: 't', namespace: 'ns', labels: {}, ports: [] };
    const from: Pod = { name: 'f', namespace: 'ns', labels: {}, ports: [] };
    const policy = (rule: NetworkPolicyView['spec']['ingress']): NetworkPolicyView[] => [
      { metadata: { name: 'p', namespace: 'ns' }, spec: { podSelector: {}, ingress: rule } },
    ];
    const ranged = policy([{ ports: [{ port: 8000, endPort: 8100 }] }]);
    assert.ok(admitsIngress(ranged, from, to, { port: 8012 }));
    assert.ok(!admitsIngress(ranged, from, to, { port: 8443 }));
    const byName = policy([{ ports: [{ port: 'redis' }] }]);
    assert.ok(admitsIngress(byName, from, to, { port: 6379, name: 'redis' }));
    assert.ok(!admitsIngress(byName, from, to, { port: 6379 }));
    assert.ok(!admitsIngress(policy([{ ports: [{ protocol: 'UDP' }] }]), from, to, { port: 53 }));
    assert.ok(!admitsIngress(policy([]), from, to, { port: 1 }), 'selected with no rule: isolated');
    assert.throws(
      () => admitsIngress(policy([{ from: [{ ipBlock: { cidr: '10.0.0.0/8' } }] }]), from, to, { port: 1 }),
      /ipBlock/,
    );
  });
});
