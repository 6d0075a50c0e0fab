// An HTTP fake of the Kubernetes API server's batch/v1 Job endpoints, validating every Job like the real one.
import { randomUUID } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type IJob, Job } from 'kubernetes-models/batch/v1/Job';
import { stringify } from 'yaml';
import { isDnsLabel, isLabelValue } from '../../shared/k8s/names.ts';

export type Verb = 'create' | 'get' | 'list' | 'patch' | 'delete';

/** A failure the fake answers instead of serving a request. */
export type Fault =
  | { kind: 'forbidden' }
  | { kind: 'error'; status?: number }
  /** Destroys the socket without answering. */
  | { kind: 'close' }
  /** Never answers (until the fake stops). */
  | { kind: 'hang' };

export interface RecordedRequest {
  method: string;
  path: string;
  verb: Verb | 'other';
  labelSelector?: string;
  status: number;
  authorization?: string;
}

export interface K8sFake {
  url: string;
  port: number;
  /** The stored Jobs of a namespace, as the server holds them (metadata and status included). */
  jobs(namespace?: string): IJob[];
  job(name: string, namespace?: string): IJob | undefined;
  requests: RecordedRequest[];
  /** The next `times` requests (of `verb`, when given) get `fault` instead of an answer. */
  failNext(fault: Fault, opts?: { times?: number; verb?: Verb }): void;
  /** Moves a Job's status as the Job controller would. */
  setJobState(name: string, state: 'active' | 'succeeded' | 'failed', namespace?: string): void;
  /** Stops listening and drops every open connection; the port then refuses connections. */
  stop(): Promise<void>;
}

export interface K8sFakeOptions {
  /** The identity named in 403 answers. */
  user?: string;
  /** When set, requests without `Authorization: Bearer <token>` get 401. */
  token?: string;
}

interface PendingFault {
  fault: Fault;
  times: number;
  verb?: Verb;
}

const JOBS = /^\/apis\/batch\/v1\/namespaces\/([a-z0-9-]+)\/jobs(?:\/([^/]+))?$/;

/** Starts the fake on 127.0.0.1 and a free port. */
export async function startK8sFake(opts: K8sFakeOptions = {}): Promise<K8sFake> {
  const user = opts.user ?? 'system:serviceaccount:flywheel:launch-training';
  const store = new Map<string, IJob>();
  const faults: PendingFault[] = [];
  const requests: RecordedRequest[] = [];
  let version = 1000;
  const key = (ns: string, name: string) => `${ns}/${name}`;

  const server = createServer((req, res) => {
    void handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) send(res, 500, status(500, 'InternalError', String(err)));
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const match = JOBS.exec(url.pathname);
    const method = req.method ?? 'GET';
    const verb: Verb | 'other' = !match ? 'other' : verbOf(method, match[2] !== undefined);
    const body = await readBody(req);
    const record: RecordedRequest = { method, path: url.pathname, verb, status: 0 };
    const selector = url.searchParams.get('labelSelector');
    if (selector !== null) record.labelSelector = selector;
    if (req.headers.authorization) record.authorization = req.headers.authorization;
    requests.push(record);
    const reply = (code: number, payload: unknown) => {
      record.status = code;
      send(res, code, payload);
    };

    const fault = takeFault(verb);
    if (fault?.kind === 'close') {
      record.status = -1;
      req.socket.destroy();
      return;
    }
    if (fault?.kind === 'hang') return;
    if (opts.token && req.headers.authorization !== `Bearer ${opts.token}`) {
      return reply(401, status(401, 'Unauthorized', 'Unauthorized'));
    }
    if (!match || verb === 'other') {
      return reply(404, status(404, 'NotFound', 'the server could not find the requested resource'));
    }
    const ns = match[1] ?? '';
    const name = match[2] === undefined ? undefined : decodeURIComponent(match[2]);
    if (fault?.kind === 'forbidden') {
      const what = name ? `jobs.batch "${name}"` : 'jobs.batch';
      const message =
        `${what} is forbidden: User "${user}" cannot ${verb} resource "jobs" in API group "batch" ` +
        `in the namespace "${ns}"`;
      return reply(
        403,
        status(403, 'Forbidden', message, { group: 'batch', kind: 'jobs', ...(name ? { name } : {}) }),
      );
    }
    if (fault?.kind === 'error') {
      const code = fault.status ?? 500;
      return reply(
        code,
        status(code, 'InternalError', 'Internal error occurred: etcdserver: request timed out'),
      );
    }

    if (verb === 'list') {
      const parsed = parseSelector(selector ?? '');
      if (!parsed.ok) return reply(400, status(400, 'BadRequest', parsed.message));
      const items = [...store.values()].filter(
        (j) => j.metadata?.namespace === ns && parsed.matches(j.metadata?.labels ?? {}),
      );
      return reply(200, {
        kind: 'JobList',
        apiVersion: 'batch/v1',
        metadata: { resourceVersion: String(version) },
        items,
      });
    }
    if (verb === 'get') {
      const job = store.get(key(ns, name ?? ''));
      if (!job) return reply(404, notFound(name ?? ''));
      return reply(200, job);
    }
    if (verb === 'delete') {
      const job = store.get(key(ns, name ?? ''));
      if (!job) return reply(404, notFound(name ?? ''));
      store.delete(key(ns, name ?? ''));
      return reply(200, {
        kind: 'Status',
        apiVersion: 'v1',
        status: 'Success',
        details: { name, kind: 'jobs' },
      });
    }
    if (verb === 'patch') {
      const job = store.get(key(ns, name ?? ''));
      if (!job) return reply(404, notFound(name ?? ''));
      if (req.headers['content-type'] !== 'application/merge-patch+json') {
        return reply(
          415,
          status(415, 'UnsupportedMediaType', `the body of the request was in an unknown format`),
        );
      }
      // Only what launch-training patches: spec.suspend (batch/v1 lets it change on an unfinished Job).
      const patch = JSON.parse(body) as { spec?: { suspend?: boolean } };
      const keys = Object.keys(patch.spec ?? {});
      if (Object.keys(patch).some((k) => k !== 'spec') || keys.some((k) => k !== 'suspend')) {
        return reply(422, status(422, 'Invalid', 'the fake patches spec.suspend only'));
      }
      if (job.spec && patch.spec?.suspend !== undefined) job.spec.suspend = patch.spec.suspend;
      version += 1;
      if (job.metadata) job.metadata.resourceVersion = String(version);
      return reply(200, job);
    }
    // create
    const created = validateJob(body, ns);
    if (!created.ok) return reply(created.code, created.status);
    const job = created.job;
    const jobName = job.metadata?.name ?? '';
    if (store.has(key(ns, jobName))) {
      return reply(
        409,
        status(409, 'AlreadyExists', `jobs.batch "${jobName}" already exists`, {
          name: jobName,
          group: 'batch',
          kind: 'jobs',
        }),
      );
    }
    const stored = persist(job, ns);
    store.set(key(ns, jobName), stored);
    return reply(201, stored);
  }

  function takeFault(verb: Verb | 'other'): Fault | undefined {
    const i = faults.findIndex((f) => f.verb === undefined || f.verb === verb);
    const f = faults[i];
    if (!f) return undefined;
    f.times -= 1;
    if (f.times <= 0) faults.splice(i, 1);
    return f.fault;
  }

  function persist(job: IJob, ns: string): IJob {
    const uid = randomUUID();
    const name = job.metadata?.name ?? '';
    version += 1;
    const controllerLabels = {
      'batch.kubernetes.io/controller-uid': uid,
      'batch.kubernetes.io/job-name': name,
      'controller-uid': uid,
      'job-name': name,
    };
    const spec = job.spec ?? { template: {} };
    return {
      ...job,
      metadata: {
        ...job.metadata,
        name,
        namespace: ns,
        uid,
        resourceVersion: String(version),
        generation: 1,
        creationTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      },
      spec: {
        parallelism: 1,
        completions: 1,
        completionMode: 'NonIndexed',
        suspend: false,
        ...spec,
        selector: { matchLabels: { 'batch.kubernetes.io/controller-uid': uid } },
        template: {
          ...spec.template,
          metadata: {
            ...spec.template.metadata,
            labels: { ...spec.template.metadata?.labels, ...controllerLabels },
          },
        },
      },
      status: {},
    };
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  let stopped: Promise<void> | undefined;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    jobs: (namespace) =>
      [...store.values()].filter((j) => namespace === undefined || j.metadata?.namespace === namespace),
    job: (name, namespace = 'flywheel') => store.get(key(namespace, name)),
    failNext(fault, o = {}) {
      faults.push({ fault, times: o.times ?? 1, ...(o.verb ? { verb: o.verb } : {}) });
    },
    setJobState(name, state, namespace = 'flywheel') {
      const job = store.get(key(namespace, name));
      if (!job) throw new Error(`no job ${namespace}/${name}`);
      const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
      version += 1;
      if (job.metadata) job.metadata.resourceVersion = String(version);
      if (state === 'active') job.status = { active: 1, ready: 1, startTime: now };
      else if (state === 'succeeded') {
        job.status = {
          active: 0,
          succeeded: 1,
          startTime: now,
          completionTime: now,
          conditions: [
            { type: 'SuccessCriteriaMet', status: 'True', lastTransitionTime: now, lastProbeTime: now },
            { type: 'Complete', status: 'True', lastTransitionTime: now, lastProbeTime: now },
          ],
        };
      } else {
        job.status = {
          active: 0,
          failed: (job.spec?.backoffLimit ?? 6) + 1,
          startTime: now,
          conditions: [
            {
              type: 'Failed',
              status: 'True',
              reason: 'BackoffLimitExceeded',
              message: 'Job has reached the specified backoff limit',
              lastTransitionTime: now,
              lastProbeTime: now,
            },
          ],
        };
      }
    },
    stop() {
      stopped ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return stopped;
    },
  };
}

/** The verb of a request on the Jobs endpoints: collection (POST create, GET list) or one Job. */
function verbOf(method: string, named: boolean): Verb | 'other' {
  if (!named) return method === 'POST' ? 'create' : method === 'GET' ? 'list' : 'other';
  return method === 'GET' ? 'get' : method === 'PATCH' ? 'patch' : method === 'DELETE' ? 'delete' : 'other';
}

/** Writes a kubeconfig pointing @kubernetes/client-node at `url` with a bearer token; returns its path. */
export async function writeKubeconfig(
  url: string,
  opts: { token?: string; namespace?: string } = {},
): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'flywheel-kubeconfig-'));
  const path = join(dir, 'config');
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'fake', cluster: { server: url, 'insecure-skip-tls-verify': true } }],
    users: [{ name: 'launch-training', user: { token: opts.token ?? 'fake-token' } }],
    contexts: [
      {
        name: 'fake',
        context: { cluster: 'fake', user: 'launch-training', namespace: opts.namespace ?? 'flywheel' },
      },
    ],
    'current-context': 'fake',
  };
  await writeFile(path, stringify(config));
  return path;
}

type Validated = { ok: true; job: IJob } | { ok: false; code: number; status: unknown };

/** What the API server checks before storing a Job: the schema, the object's name and labels, the namespace. */
function validateJob(body: string, ns: string): Validated {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (err) {
    return { ok: false, code: 400, status: status(400, 'BadRequest', `invalid JSON: ${String(err)}`) };
  }
  if (!Job.is(value)) {
    return { ok: false, code: 400, status: status(400, 'BadRequest', 'the body is not a batch/v1 Job') };
  }
  const obj = value;
  const name = obj.metadata?.name ?? '';
  const invalid = (message: string): Validated => ({
    ok: false,
    code: 422,
    status: status(422, 'Invalid', `Job.batch "${name}" is invalid: ${message}`, {
      name,
      group: 'batch',
      kind: 'Job',
    }),
  });
  if (obj.metadata?.namespace && obj.metadata.namespace !== ns) {
    return {
      ok: false,
      code: 400,
      status: status(
        400,
        'BadRequest',
        'the namespace of the provided object does not match the namespace sent on the request',
      ),
    };
  }
  try {
    new Job(obj).validate();
  } catch (err) {
    return invalid(err instanceof Error ? err.message : String(err));
  }
  if (!name) return invalid('metadata.name: Required value: name or generateName is required');
  if (!isDnsLabel(name)) return invalid(`metadata.name: Invalid value: "${name}": must be a DNS-1123 label`);
  for (const labels of [obj.metadata?.labels, obj.spec?.template.metadata?.labels]) {
    for (const [k, v] of Object.entries(labels ?? {})) {
      if (!isLabelValue(v)) return invalid(`metadata.labels: Invalid value: "${v}" for label ${k}`);
    }
  }
  return { ok: true, job: obj };
}

type Selector =
  | { ok: true; matches: (labels: Record<string, string>) => boolean }
  | { ok: false; message: string };

/** Equality-based label selectors (`a=b`, `a==b`, `a!=b`, `a`, `!a`), as the API server reads them. */
export function parseSelector(text: string): Selector {
  if (/[()]|\s(in|notin)\s/.test(text)) {
    return {
      ok: false,
      message: `unable to parse requirement: set-based selectors are not served by this fake: ${text}`,
    };
  }
  const tests: ((l: Record<string, string>) => boolean)[] = [];
  for (const raw of text.split(',')) {
    const term = raw.trim();
    if (term === '') continue;
    const m = /^(!?)([A-Za-z0-9./_-]+)(?:\s*(!=|==|=)\s*([A-Za-z0-9._-]*))?$/.exec(term);
    if (!m) return { ok: false, message: `unable to parse requirement: ${term}` };
    const [, not, k = '', op, v = ''] = m;
    if (not && op) return { ok: false, message: `unable to parse requirement: ${term}` };
    if (not) tests.push((l) => !Object.hasOwn(l, k));
    else if (!op) tests.push((l) => Object.hasOwn(l, k));
    else if (op === '!=') tests.push((l) => l[k] !== v);
    else tests.push((l) => l[k] === v);
  }
  return { ok: true, matches: (labels) => tests.every((t) => t(labels)) };
}

function status(code: number, reason: string, message: string, details?: Record<string, unknown>) {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    ...(details ? { details } : {}),
    code,
  };
}

function notFound(name: string) {
  return status(404, 'NotFound', `jobs.batch "${name}" not found`, { name, group: 'batch', kind: 'jobs' });
}

function send(res: ServerResponse, code: number, payload: unknown): void {
  const text = JSON.stringify(payload);
  res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
