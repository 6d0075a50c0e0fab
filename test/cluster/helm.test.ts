// The chart's life cycle on a real kube-apiserver with Knative's CRDs: helm install, upgrade, rollback and
// uninstall, each checked on the objects the server holds. No controller runs, so nothing is garbage-collected
// or finalised: what helm deletes is gone at once, and what it leaves is still there.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { z } from 'zod';
import { CHART, differences, type K8sObject, render, renderChart } from '../deploy/support/manifests.ts';
import { helm } from '../support/helm.ts';
import { type KubeApiServer, startKubeApiServer } from '../support/kube-apiserver.ts';
import { installKnativeCrds } from '../support/knative-crds.ts';

const NAMESPACE = 'flywheel';
const RELEASE = 'flywheel';
const idOf = (o: Pick<K8sObject, 'kind' | 'metadata'>) =>
  `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
const list = (items: readonly unknown[]) => JSON.stringify({ apiVersion: 'v1', kind: 'List', items });

describe('the Helm chart on a real Kubernetes API server', { timeout: 900_000 }, () => {
  let server: KubeApiServer;
  /** What `helm template` renders with the chart's own values: what the release must hold after install. */
  const objects = renderChart();
  const run = (...args: string[]) => {
    const result = helm([...args, '--namespace', NAMESPACE], { kubeconfig: server.kubeconfig() });
    assert.equal(result.code, 0, `helm ${args.join(' ')}:\n${result.stdout}\n${result.stderr}`);
    return result.stdout;
  };
  /** The object the server holds for `o`, or undefined when it answers 404. */
  const read = async (o: K8sObject): Promise<(K8sObject & Record<string, unknown>) | undefined> => {
    const [group, version] = o.apiVersion.includes('/') ? o.apiVersion.split('/') : ['', o.apiVersion];
    const plural = (await server.request('GET', group ? `/apis/${group}/${version}` : `/api/${version}`))
      .body as { resources: { kind: string; name: string }[] };
    const resource = plural.resources.find((r) => r.kind === o.kind && !r.name.includes('/'));
    assert.ok(resource, `the server serves no ${o.apiVersion} ${o.kind}`);
    const base = group ? `/apis/${group}/${version}` : `/api/${version}`;
    const scope = o.metadata.namespace ? `/namespaces/${o.metadata.namespace}` : '';
    const res = await server.request('GET', `${base}${scope}/${resource.name}/${o.metadata.name}`);
    if (res.status === 404) return undefined;
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body as K8sObject & Record<string, unknown>;
  };
  const scoreMaxScale = async () => {
    const score = objects.find((o) => o.kind === 'Service' && o.metadata.name === 'score');
    assert.ok(score);
    const annotations = z
      .looseObject({
        spec: z.looseObject({
          template: z.looseObject({
            metadata: z.looseObject({ annotations: z.record(z.string(), z.string()) }),
          }),
        }),
      })
      .parse(await read(score)).spec.template.metadata.annotations;
    return annotations['autoscaling.knative.dev/max-scale'];
  };
  const pingSources = objects.filter((o) => o.kind === 'PingSource');

  before(async () => {
    server = await startKubeApiServer();
    installKnativeCrds(server);
    // As knative/README.md's steps do before the chart: the namespace (Redis goes there) and the Secret.
    const made = server.kubectl(
      ['apply', '-f', '-'],
      list([
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } },
        {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name: 'flywheel-secrets', namespace: NAMESPACE },
          stringData: { REDIS_URL: 'redis://redis:6379', PROMOTE_TOKEN: 'token' },
        },
      ]),
    );
    assert.equal(made.code, 0, made.stderr);
  });
  after(() => server?.stop());

  it('helm install creates every object the chart renders, as rendered, and adopts the namespace made before', async () => {
    assert.ok(objects.length > 30 && pingSources.length === 2);
    run('install', RELEASE, CHART, '--take-ownership');
    const missing: string[] = [];
    const changed: string[] = [];
    for (const o of objects) {
      const got = await read(o);
      if (!got) missing.push(idOf(o));
      else changed.push(...differences(o, got).map((d) => `${idOf(o)}${d}`));
      assert.equal(got?.metadata.labels?.['app.kubernetes.io/managed-by'], 'Helm', idOf(o));
      assert.equal(got?.metadata.annotations?.['meta.helm.sh/release-name'], RELEASE, idOf(o));
    }
    assert.deepEqual(missing, []);
    assert.deepEqual(changed, []);
    assert.match(run('status', RELEASE), /^STATUS: deployed$/m);
  });

  it('helm upgrade with changed values changes the objects: a scale bound, and the schedules left out', async () => {
    run('upgrade', RELEASE, CHART, '--set', 'functions.score.maxScale=7', '--set', 'schedules.enabled=false');
    assert.equal(await scoreMaxScale(), '7');
    for (const ping of pingSources) assert.equal(await read(ping), undefined, `${idOf(ping)} is still there`);
  });

  it('helm rollback to the first revision brings the first values back', async () => {
    run('rollback', RELEASE, '1');
    assert.equal(await scoreMaxScale(), '2');
    for (const ping of pingSources) assert.ok(await read(ping), `${idOf(ping)} did not come back`);
    const history = JSON.parse(run('history', RELEASE, '--output', 'json')) as {
      revision: number;
      status: string;
      description: string;
    }[];
    assert.deepEqual(
      history.map((h) => [h.revision, h.status]),
      [
        [1, 'superseded'],
        [2, 'superseded'],
        [3, 'deployed'],
      ],
    );
    assert.match(history[2]?.description ?? '', /Rollback to 1/);
  });

  it('helm uninstall deletes every object but the Namespace, which the chart keeps, and never the Secret', async () => {
    const output = run('uninstall', RELEASE);
    assert.match(output, /These resources were kept due to the resource policy:\n\[Namespace\] flywheel/);
    const left: string[] = [];
    for (const o of objects) if (o.kind !== 'Namespace' && (await read(o))) left.push(idOf(o));
    assert.deepEqual(left, []);
    const namespace = await read({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } });
    assert.equal(namespace?.metadata.annotations?.['helm.sh/resource-policy'], 'keep');
    assert.ok(
      await read({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'flywheel-secrets', namespace: NAMESPACE },
      }),
      'flywheel-secrets is gone',
    );
    const releases = await server.request(
      'GET',
      `/api/v1/namespaces/${NAMESPACE}/secrets?labelSelector=${encodeURIComponent(`owner=helm,name=${RELEASE}`)}`,
    );
    assert.deepEqual((releases.body as { items: unknown[] }).items, [], 'release records are left');
  });

  it('helm install --take-ownership --force-conflicts adopts an install made with kubectl apply from the dev overlay', async () => {
    const applied = server.kubectl(['apply', '-f', '-'], list(render('knative/overlays/dev')));
    assert.equal(applied.code, 0, applied.stderr);
    // Knative's CRD defaults ports[].protocol, so the atomic containers list kubectl owns differs from the chart's:
    // taking it over needs --force-conflicts (same values; helm becomes its manager).
    run('install', RELEASE, CHART, '--take-ownership', '--force-conflicts');
    const notHelms: string[] = [];
    for (const o of objects) {
      const got = await read(o);
      if (got?.metadata.annotations?.['meta.helm.sh/release-name'] !== RELEASE) notHelms.push(idOf(o));
    }
    assert.deepEqual(notHelms, []);
    assert.match(run('status', RELEASE), /^STATUS: deployed$/m);
    assert.match(run('get', 'manifest', RELEASE), /kind: Trigger/);
  });
});
