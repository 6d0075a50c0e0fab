// The deployment on a real kube-apiserver (built from the Go module proxy) with Knative's CRDs: every overlay
// applied server-side with strict field validation, RBAC as the real authorizer sees it, launch-training with
// its own ServiceAccount's token, and the training Job's pod under PodSecurity "restricted".
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Config, defaultConfig } from '../../shared/config/index.ts';
import { ForbiddenError } from '../../shared/errors/index.ts';
import { createJobsClient, JOBS_CLIENT_PERMISSIONS } from '../../shared/k8s/client.ts';
import { buildTrainingJob, modelSelector } from '../../shared/k8s/job.ts';
import { createLogger, type RunningFunction } from '../../shared/runtime/index.ts';
import {
  differences,
  type K8sObject,
  RENDERED,
  type RenderedDir,
  render,
} from '../deploy/support/manifests.ts';
import { type KubeApiServer, type ServiceAccountRef, startKubeApiServer } from '../support/kube-apiserver.ts';
import { installKnativeCrds } from '../support/knative-crds.ts';
import { DAY, driftDetected, NOW, post, serveLaunchTraining } from '../support/launch-training.ts';

const log = createLogger({ name: 'cluster-test', level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const NAMESPACE = 'flywheel';
const account = (name: string): ServiceAccountRef => ({ namespace: NAMESPACE, name });
const LAUNCH_TRAINING = account('launch-training');
/** The ServiceAccount of every pod that names none: the functions other than launch-training. */
const DEFAULT = account('default');
/** Bound to nothing: what any authenticated identity may do, subtracted from the others. */
const NOBODY = account('nobody');

/**
 * What each ServiceAccount of the manifests may do in the namespace, exactly: launch-training what its
 * JobsClient calls, every other identity nothing.
 */
const EXPECTED_GRANTS: Record<string, readonly string[]> = {
  'launch-training': JOBS_CLIENT_PERMISSIONS.verbs.map(
    (verb) => `${JOBS_CLIENT_PERMISSIONS.group}/${JOBS_CLIENT_PERMISSIONS.resource}:${verb}`,
  ),
  default: [],
};

/** A training Job of the day before NOW for `model`, as launch-training builds one, triggered by a test event `id`. */
const trainingJob = (config: Config, id: string, more: { model?: string; suspend?: boolean } = {}) =>
  buildTrainingJob({
    model: more.model ?? 'risk',
    range: { from: NOW - DAY, to: NOW },
    reason: id,
    triggeredBy: { id, source: 'flywheel/test', type: 'dev.flywheel.drift.detected' },
    config,
    ...(more.suspend ? { suspend: true } : {}),
  });

const list = (items: readonly unknown[]) => JSON.stringify({ apiVersion: 'v1', kind: 'List', items });
const idOf = (o: Pick<K8sObject, 'kind' | 'metadata'>) =>
  `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;

describe('the deployment on a real Kubernetes API server', { timeout: 900_000 }, () => {
  let server: KubeApiServer;
  const applied = new Set<RenderedDir>();
  /** Applies an overlay server-side, strictly validated, as one field manager; resolves with what was read back. */
  const apply = (dir: RenderedDir): Map<string, unknown> => {
    const objects = render(dir);
    const flags = ['--server-side', '--field-manager=flywheel', '--validate=strict', '--force-conflicts'];
    const result = server.kubectl(['apply', ...flags, '-f', '-'], list(objects));
    assert.equal(result.code, 0, `kubectl apply of ${dir} was refused:\n${result.stderr}`);
    applied.add(dir);
    const read = server.kubectl(['get', '-f', '-', '-o', 'json'], list(objects));
    assert.equal(read.code, 0, `reading ${dir} back failed:\n${read.stderr}`);
    const parsed = JSON.parse(read.stdout) as { kind: string; items?: K8sObject[] } & K8sObject;
    const items = parsed.kind === 'List' ? (parsed.items ?? []) : [parsed];
    return new Map(items.map((o) => [idOf(o), o]));
  };
  const ensureApplied = (dir: RenderedDir) => {
    if (!applied.has(dir)) apply(dir);
  };

  before(async () => {
    server = await startKubeApiServer({ serviceAccounts: [LAUNCH_TRAINING, DEFAULT, NOBODY] });
    installKnativeCrds(server);
  });
  after(() => server?.stop());

  describe('every kustomize overlay', () => {
    for (const dir of RENDERED) {
      it(`${dir}: accepted by server-side apply with strict field validation, and read back as sent`, () => {
        const read = apply(dir);
        const mismatches = render(dir).flatMap((sent) => {
          const got = read.get(idOf(sent));
          if (!got) return [`${idOf(sent)}: not read back`];
          return differences(sent, got).map((d) => `${idOf(sent)}${d}`);
        });
        assert.deepEqual(mismatches, []);
      });
    }
  });

  describe('RBAC, as the real authorizer answers it', () => {
    /** `kubectl auth can-i --list` for one identity: its SelfSubjectRulesReview, as `group/resource:verb`. */
    const grantsOf = async (identity: ServiceAccountRef): Promise<Set<string>> => {
      const res = await server.request('POST', '/apis/authorization.k8s.io/v1/selfsubjectrulesreviews', {
        as: identity,
        body: {
          apiVersion: 'authorization.k8s.io/v1',
          kind: 'SelfSubjectRulesReview',
          spec: { namespace: NAMESPACE },
        },
      });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      const rules = (
        res.body as {
          status: { resourceRules: { verbs: string[]; apiGroups?: string[]; resources?: string[] }[] };
        }
      ).status.resourceRules;
      return new Set(
        rules.flatMap((r) =>
          (r.apiGroups ?? ['']).flatMap((g) =>
            (r.resources ?? []).flatMap((res) => r.verbs.map((v) => `${g}/${res}:${v}`)),
          ),
        ),
      );
    };

    it('names every ServiceAccount of the manifests in the expected grants', () => {
      ensureApplied('knative/overlays/production');
      const accounts = render('knative/overlays/production')
        .filter((o) => o.kind === 'ServiceAccount')
        .map((o) => o.metadata.name);
      assert.ok(accounts.length > 0);
      for (const name of accounts) assert.ok(name in EXPECTED_GRANTS, `no expected grants for ${name}`);
    });

    for (const [name, expected] of Object.entries(EXPECTED_GRANTS)) {
      it(`${name} may do exactly what its code calls, nothing missing and nothing more`, async () => {
        ensureApplied('knative/overlays/production');
        const everyone = await grantsOf(NOBODY);
        const granted = [...(await grantsOf(account(name)))].filter((g) => !everyone.has(g)).sort();
        assert.deepEqual(granted, [...expected].sort());
      });
    }
  });

  describe('launch-training with its own ServiceAccount token', () => {
    let fn: RunningFunction;
    const config = defaultConfig({
      TRAINING_EXECUTOR: 'kubernetes',
      TRAINING_NAMESPACE: NAMESPACE,
      TRAINING_LOOKBACK_MS: String(30 * DAY),
      DEPENDENCY_TIMEOUT_MS: '10000',
    });
    const jobPath = (name = '') => `/apis/batch/v1/namespaces/${NAMESPACE}/jobs${name ? `/${name}` : ''}`;
    const trainerJobs = async () => {
      const res = await server.request(
        'GET',
        `${jobPath()}?labelSelector=${encodeURIComponent('flywheel.dev/role=trainer')}`,
      );
      return (res.body as { items: K8sObject[] }).items;
    };

    before(async () => {
      ensureApplied('knative/overlays/production');
      fn = await serveLaunchTraining({ config, log, kubeconfigPath: server.kubeconfig(LAUNCH_TRAINING) });
    });
    after(() => fn?.close());

    it('creates the training Job as built (GPU, node selector, tolerations, TTL, podFailurePolicy), once per event', async () => {
      // Jobs the function must not take for its own: another model's run, and a Job that is no training run
      for (const job of [
        trainingJob(config, 'segment-run', { model: 'segment' }),
        {
          apiVersion: 'batch/v1',
          kind: 'Job',
          metadata: { name: 'unrelated', namespace: NAMESPACE },
          spec: {
            template: {
              metadata: { labels: { app: 'unrelated' } },
              spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'busybox:1.37' }] },
            },
          },
        },
      ]) {
        const created = await server.request('POST', jobPath(), { body: job });
        assert.equal(created.status, 201, JSON.stringify(created.body));
      }

      const event = driftDetected('cluster-drift-1');
      const first = await post(fn.url, event);
      assert.equal(first.status, 200, await first.clone().text());
      const reply = (await first.json()) as { jobName: string };
      const risk = (await trainerJobs()).filter((j) => j.metadata.labels?.['flywheel.dev/model'] === 'risk');
      assert.deepEqual(
        risk.map((j) => j.metadata.name),
        [reply.jobName],
      );

      const stored = (await server.request('GET', jobPath(reply.jobName))).body as K8sObject & {
        spec: Record<string, unknown>;
      };
      const expected = buildTrainingJob({
        model: 'risk',
        range: { from: NOW - 60_000 - 30 * DAY, to: NOW - 60_000 },
        reason: event.data.reason,
        triggeredBy: { id: event.id, source: event.source, type: event.type },
        config,
      });
      assert.deepEqual(differences(expected.spec, stored.spec), []);
      const pod = expected.spec?.template.spec;
      assert.ok(pod?.containers[0]?.resources?.limits?.['nvidia.com/gpu'], 'a GPU limit');
      assert.ok(Object.keys(pod?.nodeSelector ?? {}).length > 0, 'a node selector');
      assert.ok((pod?.tolerations ?? []).length > 0, 'tolerations');
      assert.ok(expected.spec?.ttlSecondsAfterFinished !== undefined, 'a TTL');
      assert.ok((expected.spec?.podFailurePolicy?.rules ?? []).length > 0, 'a podFailurePolicy');

      // the broker redelivers: the same reply, no second Job
      const again = await post(fn.url, event);
      assert.equal(again.status, 200);
      assert.deepEqual(await again.json(), reply);
      const riskAfter = (await trainerJobs()).filter(
        (j) => j.metadata.labels?.['flywheel.dev/model'] === 'risk',
      );
      assert.equal(riskAfter.length, 1);
    });

    it('calls every JobsClient method with that token, and is refused (403) outside its Role', async () => {
      const kubeconfigPath = server.kubeconfig(LAUNCH_TRAINING);
      const jobs = createJobsClient({ namespace: NAMESPACE, kubeconfigPath, timeoutMs: 10_000 });
      const job = trainingJob(config, 'cluster-queued', { suspend: true });
      const name = job.metadata?.name ?? '';
      assert.equal((await jobs.create(job)).suspended, true);
      assert.equal((await jobs.get(name))?.name, name);
      const mine = await jobs.listByLabel(modelSelector('risk'));
      assert.ok(mine.some((j) => j.name === name));
      assert.ok(mine.every((j) => j.labels['flywheel.dev/model'] === 'risk'));
      assert.equal((await jobs.resume(name)).suspended, false);
      await jobs.remove(name);
      assert.equal(await jobs.get(name), undefined);

      // another namespace, and other resources in its own: refused by the authorizer
      const elsewhere = createJobsClient({ namespace: 'default', kubeconfigPath, timeoutMs: 10_000 });
      await assert.rejects(elsewhere.listByLabel(modelSelector('risk')), ForbiddenError);
      await assert.rejects(
        elsewhere.create({ ...job, metadata: { ...job.metadata, namespace: 'default' } }),
        ForbiddenError,
      );
      for (const path of [
        `/api/v1/namespaces/${NAMESPACE}/pods`,
        `/api/v1/namespaces/${NAMESPACE}/pods/x/log`,
        `/api/v1/namespaces/${NAMESPACE}/secrets`,
        `${jobPath()}?watch=true&timeoutSeconds=1`,
      ]) {
        const res = await server.request('GET', path, { as: LAUNCH_TRAINING });
        assert.equal(res.status, 403, `${path}: ${JSON.stringify(res.body)}`);
      }
    });
  });

  describe('the training Job under PodSecurity', () => {
    const restricted = 'trainers-restricted';
    const podFrom = (spec: unknown, name: string) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: restricted },
      spec,
    });

    before(async () => {
      const ns = await server.request('POST', '/api/v1/namespaces', {
        body: {
          apiVersion: 'v1',
          kind: 'Namespace',
          metadata: {
            name: restricted,
            labels: {
              'pod-security.kubernetes.io/enforce': 'restricted',
              'pod-security.kubernetes.io/enforce-version': 'latest',
            },
          },
        },
      });
      assert.equal(ns.status, 201, JSON.stringify(ns.body));
      // kube-controller-manager would create the namespace's default ServiceAccount, which a pod needs to be admitted;
      // launch-training's pods run as their own
      for (const name of ['default', LAUNCH_TRAINING.name]) {
        const sa = await server.request('POST', `/api/v1/namespaces/${restricted}/serviceaccounts`, {
          body: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace: restricted } },
        });
        assert.equal(sa.status, 201, JSON.stringify(sa.body));
      }
    });

    it('admits a pod of the training Job’s template in a namespace enforcing "restricted", and refuses a weakened one', async () => {
      const config = defaultConfig({ TRAINING_NAMESPACE: restricted });
      const job = trainingJob(config, 'pod-security');
      const spec = job.spec?.template.spec;
      assert.ok(spec);
      const admitted = await server.request('POST', `/api/v1/namespaces/${restricted}/pods`, {
        body: podFrom(spec, 'trainer'),
      });
      assert.equal(admitted.status, 201, JSON.stringify(admitted.body));

      // the control: the same pod without its container securityContext is refused, so the check is live
      const weakened = structuredClone(spec);
      for (const c of weakened.containers) delete c.securityContext;
      const refused = await server.request('POST', `/api/v1/namespaces/${restricted}/pods`, {
        body: podFrom(weakened, 'trainer-weakened'),
      });
      assert.equal(refused.status, 403, JSON.stringify(refused.body));
      assert.match((refused.body as { message: string }).message, /violates PodSecurity "restricted:latest"/);
    });

    it('admits a pod of every function’s revision template there too (the containers Flywheel writes)', async () => {
      // A Knative revision template is a PodSpec plus revision fields; Knative adds its queue-proxy, not checked here.
      const revisionOnly = [
        'containerConcurrency',
        'timeoutSeconds',
        'responseStartTimeoutSeconds',
        'idleTimeoutSeconds',
      ];
      const services = render('knative/overlays/production').filter(
        (o) => o.apiVersion === 'serving.knative.dev/v1' && o.kind === 'Service',
      );
      assert.ok(services.length > 0);
      const refused: string[] = [];
      for (const service of services) {
        const template = (service as { spec?: { template?: { spec?: Record<string, unknown> } } }).spec
          ?.template?.spec;
        const spec = Object.fromEntries(
          Object.entries(template ?? {}).filter(([k]) => !revisionOnly.includes(k)),
        );
        const res = await server.request('POST', `/api/v1/namespaces/${restricted}/pods`, {
          body: podFrom(spec, `fn-${service.metadata.name}`),
        });
        if (res.status !== 201)
          refused.push(`${service.metadata.name}: ${(res.body as { message?: string }).message}`);
      }
      assert.deepEqual(refused, []);
    });
  });
});
