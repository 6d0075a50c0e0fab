// NetworkPolicy ingress semantics (networking.k8s.io/v1), evaluated over modelled pods: who may open a connection to whom.
import { z } from 'zod';
import { type K8sObject, ofKind } from './manifests.ts';
import { selects } from './values.ts';

const SelectorSchema = z.strictObject({
  matchLabels: z.record(z.string(), z.string()).optional(),
  matchExpressions: z
    .array(
      z.strictObject({
        key: z.string(),
        operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist']),
        values: z.array(z.string()).optional(),
      }),
    )
    .optional(),
});

const PeerSchema = z.strictObject({
  namespaceSelector: SelectorSchema.optional(),
  podSelector: SelectorSchema.optional(),
  ipBlock: z.looseObject({ cidr: z.string() }).optional(),
});

const PortSchema = z.strictObject({
  protocol: z.enum(['TCP', 'UDP', 'SCTP']).optional(),
  port: z.union([z.int(), z.string()]).optional(),
  endPort: z.int().optional(),
});

const RuleSchema = z.strictObject({
  from: z.array(PeerSchema).optional(),
  ports: z.array(PortSchema).optional(),
});

export const NetworkPolicySchema = z.looseObject({
  metadata: z.looseObject({ name: z.string(), namespace: z.string() }),
  spec: z.strictObject({
    podSelector: SelectorSchema,
    policyTypes: z.array(z.enum(['Ingress', 'Egress'])).optional(),
    ingress: z.array(RuleSchema).optional(),
    egress: z.array(z.looseObject({})).optional(),
  }),
});
export type NetworkPolicyView = z.infer<typeof NetworkPolicySchema>;
type Peer = z.infer<typeof PeerSchema>;
type Port = z.infer<typeof PortSchema>;

/** The NetworkPolicies among rendered objects. */
export function networkPolicies(objects: readonly K8sObject[]): NetworkPolicyView[] {
  return ofKind(objects, {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    schema: NetworkPolicySchema,
  });
}

/** A TCP port a pod listens on; `name` is the container port's name, which a policy may use instead of the number. */
export interface PodPort {
  port: number;
  name?: string;
}

/** A pod as NetworkPolicies see it: its namespace, its labels, and the TCP ports it serves. */
export interface Pod {
  name: string;
  namespace: string;
  labels: Readonly<Record<string, string>>;
  ports: readonly PodPort[];
}

/**
 * The policy types of a policy: as written, or the API server's default when omitted (Ingress always, Egress when
 * the policy has egress rules).
 */
export function policyTypes(policy: NetworkPolicyView): readonly ('Ingress' | 'Egress')[] {
  return policy.spec.policyTypes ?? (policy.spec.egress ? ['Ingress', 'Egress'] : ['Ingress']);
}

/** The labels of a namespace as selectors see them: Kubernetes sets kubernetes.io/metadata.name on every namespace. */
export type NamespaceLabels = (namespace: string) => Record<string, string>;
export const namespaceNameLabel: NamespaceLabels = (namespace) => ({
  'kubernetes.io/metadata.name': namespace,
});

/** The namespaces the policies' namespaceSelectors name by kubernetes.io/metadata.name, sorted. */
export function namespacesNamedBy(policies: readonly NetworkPolicyView[]): string[] {
  const names = new Set<string>();
  for (const p of policies)
    for (const rule of p.spec.ingress ?? [])
      for (const peer of rule.from ?? []) {
        const selector = peer.namespaceSelector;
        const label = selector?.matchLabels?.['kubernetes.io/metadata.name'];
        if (label !== undefined) names.add(label);
        for (const e of selector?.matchExpressions ?? [])
          if (e.key === 'kubernetes.io/metadata.name' && e.operator === 'In')
            for (const v of e.values ?? []) names.add(v);
      }
  return [...names].sort();
}

function peerMatches(peer: Peer, policyNamespace: string, from: Pod, nsLabels: NamespaceLabels): boolean {
  if (peer.ipBlock) throw new Error('ipBlock peers are not modelled: pod addresses are not known here');
  // A peer without namespaceSelector means the policy's own namespace; with it, every namespace it selects.
  const namespaceOk = peer.namespaceSelector
    ? selects(peer.namespaceSelector, nsLabels(from.namespace))
    : from.namespace === policyNamespace;
  const podOk = peer.podSelector ? selects(peer.podSelector, from.labels) : true;
  return namespaceOk && podOk;
}

function portMatches(rulePort: Port, port: PodPort): boolean {
  if ((rulePort.protocol ?? 'TCP') !== 'TCP') return false;
  if (rulePort.port === undefined) return true;
  if (typeof rulePort.port === 'string') return rulePort.port === port.name;
  return port.port >= rulePort.port && port.port <= (rulePort.endPort ?? rulePort.port);
}

/**
 * May `from` open a TCP connection to `to` on `port`, by the ingress side of NetworkPolicy? A pod no Ingress policy
 * selects is not isolated and takes everything; an isolated pod takes what the union of the rules of every policy
 * selecting it allows. A rule without `from` admits every source, a rule without `ports` every port.
 */
export function admitsIngress(
  policies: readonly NetworkPolicyView[],
  from: Pod,
  to: Pod,
  port: PodPort,
  nsLabels: NamespaceLabels = namespaceNameLabel,
): boolean {
  const selecting = policies.filter(
    (p) =>
      p.metadata.namespace === to.namespace &&
      policyTypes(p).includes('Ingress') &&
      selects(p.spec.podSelector, to.labels),
  );
  if (selecting.length === 0) return true;
  return selecting.some((p) =>
    (p.spec.ingress ?? []).some(
      (rule) =>
        (rule.from === undefined ||
          rule.from.length === 0 ||
          rule.from.some((peer) => peerMatches(peer, p.metadata.namespace, from, nsLabels))) &&
        (rule.ports === undefined ||
          rule.ports.length === 0 ||
          rule.ports.some((rp) => portMatches(rp, port))),
    ),
  );
}

/** One connection: `from` → `to` on a port, written `namespace/pod → namespace/pod:port`. */
export function pathName(from: Pod, to: Pod, port: PodPort): string {
  return `${from.namespace}/${from.name} → ${to.namespace}/${to.name}:${port.port}`;
}

/**
 * Every connection the policies admit from any of `sources` into any port of any of `targets` (a pod's connections to
 * itself never leave it and are left out), sorted.
 */
export function openPaths(
  policies: readonly NetworkPolicyView[],
  sources: readonly Pod[],
  targets: readonly Pod[],
  nsLabels: NamespaceLabels = namespaceNameLabel,
): string[] {
  const open: string[] = [];
  for (const to of targets)
    for (const from of sources) {
      if (from === to) continue;
      for (const port of to.ports)
        if (admitsIngress(policies, from, to, port, nsLabels)) open.push(pathName(from, to, port));
    }
  return open.sort();
}

/** A connection the system needs: from which pods, to which pods, on which of the target's ports. */
export interface Need {
  why: string;
  from: (pod: Pod) => boolean;
  to: (pod: Pod) => boolean;
  ports: readonly number[];
}

/** Every connection some need asks for, among these sources and targets, named as openPaths names them, with why. */
export function neededPaths(
  needs: readonly Need[],
  sources: readonly Pod[],
  targets: readonly Pod[],
): Map<string, string> {
  const needed = new Map<string, string>();
  for (const need of needs)
    for (const to of targets.filter(need.to))
      for (const from of sources.filter(need.from)) {
        if (from === to) continue;
        for (const port of to.ports) {
          const path = pathName(from, to, port);
          if (need.ports.includes(port.port) && !needed.has(path)) needed.set(path, need.why);
        }
      }
  return new Map([...needed].sort(([a], [b]) => a.localeCompare(b)));
}

/** The connections needed but not open (each with why it is needed), and open but not needed. */
export function pathDifference(
  needed: ReadonlyMap<string, string>,
  open: readonly string[],
): { closed: string[]; extra: string[] } {
  const isOpen = new Set(open);
  return {
    closed: [...needed].filter(([path]) => !isOpen.has(path)).map(([path, why]) => `${path}: ${why}`),
    extra: open.filter((path) => !needed.has(path)),
  };
}
