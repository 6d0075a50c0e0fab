// RBAC, service-account tokens, NetworkPolicies and the Secret template of the rendered overlays and chart.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { z } from 'zod';
import {
  DEPLOYMENTS,
  fileDocs,
  FUNCTIONS,
  type K8sObject,
  ofKind,
  ROOT,
  render,
} from './support/manifests.ts';
import { KnativeServiceSchema } from './support/wiring.ts';
import {
  admitsIngress,
  type NetworkPolicyView,
  networkPolicies,
  type Pod,
} from './support/network-policies.ts';
import { FLYWHEEL_NAMESPACE, QUEUE_PROXY_PORT } from './support/pods.ts';

const RuleSchema = z.strictObject({
  apiGroups: z.array(z.string()),
  resources: z.array(z.string()),
  verbs: z.array(z.string()),
  resourceNames: z.array(z.string()).optional(),
});
const RoleSchema = z.looseObject({
  metadata: z.looseObject({ name: z.string() }),
  rules: z.array(RuleSchema),
});

/** The permissions launch-training needs, and no others: `group/resource verb`. */
const LAUNCH_TRAINING_PERMISSIONS = [
  'batch/jobs create',
  'batch/jobs get',
  'batch/jobs list',
  'batch/jobs patch',
  'batch/jobs delete',
];

/** The namespaces of the Knative data path (serving, eventing, the supported ingress layers). */
const KNATIVE_NAMESPACES = [
  'knative-serving',
  'knative-eventing',
  'kourier-system',
  'istio-system',
  'contour-internal',
  'contour-external',
];

/** Does any policy let a pod with these labels, in this namespace, connect to a pod with those labels on a port? */
function admits(
  policies: readonly NetworkPolicyView[],
  to: Record<string, string>,
  from: { namespace: string; labels: Record<string, string> },
  port = QUEUE_PROXY_PORT.port,
): boolean {
  const pod = (namespace: string, labels: Record<string, string>): Pod => ({
    name: 'pod',
    namespace,
    labels,
    ports: [{ port }],
  });
  return admitsIngress(policies, pod(from.namespace, from.labels), pod(FLYWHEEL_NAMESPACE, to), { port });
}

for (const overlay of DEPLOYMENTS) {
  describe(`security of ${overlay}`, () => {
    const objects = render(overlay);
    const policies = networkPolicies(objects);
    const fnServices = ofKind(
      objects.filter((o: K8sObject) => (FUNCTIONS as readonly string[]).includes(o.metadata.name)),
      { apiVersion: 'serving.knative.dev/v1', kind: 'Service', schema: KnativeServiceSchema },
    );

    it('grants launch-training exactly jobs create/get/list/patch/delete, in its namespace', () => {
      assert.equal(
        objects.filter((o) => o.kind === 'ClusterRole' || o.kind === 'ClusterRoleBinding').length,
        0,
      );
      const roles = ofKind(objects, {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'Role',
        schema: RoleSchema,
      });
      assert.deepEqual(
        roles.map((r) => r.metadata.name),
        ['launch-training'],
      );
      const granted = (roles[0]?.rules ?? []).flatMap((r) =>
        r.apiGroups.flatMap((g) => r.resources.flatMap((res) => r.verbs.map((v) => `${g}/${res} ${v}`))),
      );
      assert.deepEqual(granted.sort(), [...LAUNCH_TRAINING_PERMISSIONS].sort());
      const binding = z
        .looseObject({
          metadata: z.looseObject({ namespace: z.string() }),
          roleRef: z.looseObject({ kind: z.string(), name: z.string() }),
          subjects: z.array(z.looseObject({ kind: z.string(), name: z.string(), namespace: z.string() })),
        })
        .parse(objects.find((o) => o.kind === 'RoleBinding'));
      assert.deepEqual(binding.roleRef, {
        apiGroup: 'rbac.authorization.k8s.io',
        kind: 'Role',
        name: 'launch-training',
      });
      assert.deepEqual(binding.subjects, [
        { kind: 'ServiceAccount', name: 'launch-training', namespace: 'flywheel' },
      ]);
    });

    it('runs launch-training as its ServiceAccount and every other function without an API token', () => {
      assert.equal(fnServices.length, FUNCTIONS.length);
      for (const svc of fnServices) {
        const pod = svc.spec.template.spec;
        if (svc.metadata.name === 'launch-training') {
          assert.equal(pod.serviceAccountName, 'launch-training');
          assert.notEqual(pod.automountServiceAccountToken, false);
        } else {
          assert.equal(pod.serviceAccountName, undefined, svc.metadata.name);
          assert.equal(pod.automountServiceAccountToken, false, svc.metadata.name);
        }
        const sc = z
          .looseObject({
            runAsNonRoot: z.literal(true),
            allowPrivilegeEscalation: z.literal(false),
            capabilities: z.looseObject({ drop: z.array(z.string()) }),
          })
          .parse(svc.spec.template.spec.containers[0]?.securityContext);
        assert.deepEqual(sc.capabilities.drop, ['ALL']);
      }
    });

    it('denies ingress by default and admits function traffic only from the Knative data path', () => {
      const deny = policies.find((p) => p.metadata.name === 'default-deny-ingress');
      assert.ok(deny);
      assert.deepEqual(deny.spec.podSelector, {});
      assert.deepEqual(deny.spec.ingress ?? [], []);
      for (const svc of fnServices) {
        const pod = svc.spec.template.metadata.labels;
        for (const ns of KNATIVE_NAMESPACES) {
          assert.ok(admits(policies, pod, { namespace: ns, labels: {} }), `${svc.metadata.name} from ${ns}`);
        }
        const peer = { 'app.kubernetes.io/part-of': 'flywheel', 'flywheel.dev/role': 'function' };
        assert.ok(
          !admits(policies, pod, { namespace: 'flywheel', labels: peer }),
          `${svc.metadata.name} from another function`,
        );
        assert.ok(
          !admits(policies, pod, { namespace: 'default', labels: {} }),
          `${svc.metadata.name} from default`,
        );
        assert.ok(
          !admits(policies, pod, { namespace: 'flywheel', labels: { app: 'other' } }),
          'from a stranger pod',
        );
        assert.ok(
          !admits(policies, pod, { namespace: 'kafka', labels: peer }),
          'from flywheel-looking pods elsewhere',
        );
      }
    });

    it('admits Redis connections only from functions and trainer pods', () => {
      const redis = { 'app.kubernetes.io/name': 'redis' };
      const from = (role: string) => ({ namespace: 'flywheel', labels: { 'flywheel.dev/role': role } });
      assert.ok(admits(policies, redis, from('function'), 6379));
      assert.ok(admits(policies, redis, from('trainer'), 6379));
      assert.ok(!admits(policies, redis, from('dead-letters'), 6379));
      assert.ok(!admits(policies, redis, { namespace: 'knative-eventing', labels: {} }, 6379));
      assert.ok(!admits(policies, redis, { namespace: 'flywheel', labels: {} }, 6379));
    });

    it('ships no Secret: flywheel-secrets is created with kubectl, never overwritten by apply', () => {
      assert.equal(objects.filter((o) => o.kind === 'Secret').length, 0);
    });
  });
}

describe('the Secret template', () => {
  it('holds placeholders only and says to create the real Secret with kubectl', () => {
    const file = 'knative/base/secret.template.yaml';
    const [doc, ...rest] = fileDocs(file);
    assert.equal(rest.length, 0);
    const secret = z
      .looseObject({
        metadata: z.looseObject({ name: z.literal('flywheel-secrets') }),
        stringData: z.record(z.string(), z.string()),
      })
      .parse(doc?.value);
    assert.deepEqual(Object.keys(secret.stringData).sort(), [
      'PROMOTE_TOKEN',
      'REDIS_URL',
      'REGISTRY_READ_TOKEN',
    ]);
    for (const value of Object.values(secret.stringData)) assert.match(value, /CHANGE-ME/);
    assert.match(
      readFileSync(path.join(ROOT, file), 'utf8'),
      /^# .*kubectl create secret generic flywheel-secrets/m,
    );
  });
});
