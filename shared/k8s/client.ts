// The Kubernetes adapter: batch/v1 Jobs through @kubernetes/client-node (the only file importing it), errors mapped.
import {
  BatchV1Api,
  createConfiguration,
  KubeConfig,
  loadYaml,
  PatchStrategy,
  type RequestContext,
  type ResponseContext,
  ServerConfiguration,
  setHeaderOptions,
  type V1Job,
} from '@kubernetes/client-node';
import type { IJob } from 'kubernetes-models/batch/v1/Job';
import { type K8sOperation, mapK8sError } from './errors.ts';
import { type JobSummary, JobSummarySchema, jobPhase } from './summary.ts';

/**
 * Every API permission a JobsClient uses, one verb per method: create, get, listByLabel and listActive (list),
 * resume (patch), remove (delete). knative/base/rbac.yaml grants launch-training exactly these, in its namespace.
 */
export const JOBS_CLIENT_PERMISSIONS = {
  group: 'batch',
  resource: 'jobs',
  verbs: ['create', 'get', 'list', 'patch', 'delete'],
} as const satisfies { group: string; resource: string; verbs: readonly K8sOperation['verb'][] };

/** The Job operations launch-training needs, in one namespace. */
export interface JobsClient {
  readonly namespace: string;
  /** The API server's URL, for messages. */
  readonly server: string;
  /** Creates the Job; ConflictError when one of that name already exists. */
  create(job: IJob): Promise<JobSummary>;
  /** Reads one Job; undefined when there is none of that name. */
  get(name: string): Promise<JobSummary | undefined>;
  /** Every Job matching a label selector (`a=b,c!=d`). */
  listByLabel(labelSelector: string): Promise<JobSummary[]>;
  /** The Jobs matching a label selector that have not reached a terminal condition (Complete or Failed). */
  listActive(labelSelector: string): Promise<JobSummary[]>;
  /** Lets a suspended Job start (`spec.suspend: false`, a JSON merge patch). */
  resume(name: string): Promise<JobSummary>;
  /** Deletes a Job and its pods (background propagation); a Job already gone is not an error. */
  remove(name: string): Promise<void>;
}

export interface JobsClientOptions {
  /** A kubeconfig file; otherwise in-cluster (when `inCluster`) or the client's default discovery. */
  kubeconfigPath?: string;
  /** Use the pod's ServiceAccount token and KUBERNETES_SERVICE_HOST (the client reads them). */
  inCluster?: boolean;
  namespace: string;
  /** Each request is aborted after this long, so a hung API server cannot hang an event. */
  timeoutMs: number;
}

/** Loads credentials the way the options say and returns a JobsClient bound to one namespace. */
export function createJobsClient(opts: JobsClientOptions): JobsClient {
  const kc = new KubeConfig();
  if (opts.kubeconfigPath) kc.loadFromFile(opts.kubeconfigPath);
  else if (opts.inCluster) kc.loadFromCluster();
  else kc.loadFromDefault();
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('kubeconfig has no current cluster');
  const timeout = {
    pre: async (ctx: RequestContext) => {
      ctx.setSignal(AbortSignal.timeout(opts.timeoutMs));
      return ctx;
    },
    post: async (ctx: ResponseContext) => ctx,
  };
  const api = new BatchV1Api(
    createConfiguration({
      baseServer: new ServerConfiguration(cluster.server, {}),
      authMethods: { default: kc },
      promiseMiddleware: [timeout],
    }),
  );
  const { namespace } = opts;
  const op = (verb: K8sOperation['verb'], name?: string): K8sOperation => ({
    verb,
    resource: 'jobs',
    group: 'batch',
    namespace,
    server: cluster.server,
    ...(name === undefined ? {} : { name }),
  });
  const call = async <T>(o: K8sOperation, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      throw mapK8sError(err, o, opts.timeoutMs);
    }
  };
  const list = async (labelSelector: string) => {
    const res = await call(op('list'), () => api.listNamespacedJob({ namespace, labelSelector }));
    return res.items.map(summarize);
  };

  return {
    namespace,
    server: cluster.server,
    async create(job) {
      const name = job.metadata?.name;
      // The plain object becomes the client's model through its own deserializer (JSON is YAML).
      const body = loadYaml<V1Job>(JSON.stringify(job));
      const created = await call(op('create', name), () => api.createNamespacedJob({ namespace, body }));
      return summarize(created);
    },
    async get(name) {
      try {
        return summarize(await api.readNamespacedJob({ name, namespace }));
      } catch (err) {
        if ((err as { code?: unknown }).code === 404) return undefined;
        throw mapK8sError(err, op('get', name), opts.timeoutMs);
      }
    },
    listByLabel: list,
    async resume(name) {
      const body = { spec: { suspend: false } };
      const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
      return summarize(
        await call(op('patch', name), () => api.patchNamespacedJob({ name, namespace, body }, merge)),
      );
    },
    async remove(name) {
      try {
        await api.deleteNamespacedJob({ name, namespace, propagationPolicy: 'Background' });
      } catch (err) {
        if ((err as { code?: unknown }).code === 404) return;
        throw mapK8sError(err, op('delete', name), opts.timeoutMs);
      }
    },
    async listActive(labelSelector) {
      return (await list(labelSelector)).filter((j) => jobPhase(j) === 'running');
    },
  };
}

/** The client's V1Job (Dates, class instances) as a plain, schema-checked summary. */
function summarize(job: V1Job): JobSummary {
  const m = job.metadata;
  const s = job.status;
  return JobSummarySchema.parse({
    name: m?.name,
    namespace: m?.namespace,
    uid: m?.uid,
    labels: m?.labels ?? {},
    annotations: m?.annotations ?? {},
    createdAt: m?.creationTimestamp ? new Date(m.creationTimestamp).toISOString() : undefined,
    suspended: job.spec?.suspend === true,
    active: s?.active ?? 0,
    succeeded: s?.succeeded ?? 0,
    failed: s?.failed ?? 0,
    conditions: (s?.conditions ?? []).map((c) => ({
      type: c.type,
      status: c.status,
      ...(c.reason === undefined ? {} : { reason: c.reason }),
      ...(c.message === undefined ? {} : { message: c.message }),
    })),
  });
}
