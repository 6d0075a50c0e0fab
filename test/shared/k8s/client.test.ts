// The Jobs client through @kubernetes/client-node against the API server fake: the real endpoints and every error path.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { defaultConfig } from '../../../shared/config/index.ts';
import {
  ConflictError,
  DependencyError,
  FlywheelError,
  ForbiddenError,
  UnauthorizedError,
} from '../../../shared/errors/index.ts';
import { createJobsClient, type JobsClient } from '../../../shared/k8s/client.ts';
import { buildTrainingJob } from '../../../shared/k8s/job.ts';
import { jobPhase } from '../../../shared/k8s/summary.ts';
import { type K8sFake, startK8sFake, writeKubeconfig } from '../../support/k8s-fake.ts';

const config = defaultConfig();
const TOKEN = 'launch-training-token';

function job(id: string, model: 'risk' | 'segment' = 'risk') {
  return buildTrainingJob({
    model,
    range: { from: Date.parse('2025-01-01T00:00:00Z'), to: Date.parse('2025-02-01T00:00:00Z') },
    reason: 'drift on amount',
    triggeredBy: { id, source: 'test', type: 'dev.flywheel.drift.detected' },
    config,
  });
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  assert.fail('expected the call to fail');
}

describe('createJobsClient against the API server fake', () => {
  let fake: K8sFake;
  let jobs: JobsClient;
  before(async () => {
    fake = await startK8sFake({ token: TOKEN });
    jobs = createJobsClient({
      kubeconfigPath: await writeKubeconfig(fake.url, { token: TOKEN }),
      namespace: 'flywheel',
      timeoutMs: 300,
    });
  });
  after(() => fake.stop());

  it('creates a Job with POST, and the server stores exactly what was built', async () => {
    const built = job('create-1');
    const created = await jobs.create(built);
    assert.equal(created.name, built.metadata?.name);
    assert.equal(created.namespace, 'flywheel');
    assert.match(created.uid ?? '', /^[0-9a-f-]{36}$/);
    assert.equal(jobPhase(created), 'running');
    const stored = fake.job(created.name);
    assert.deepEqual(stored?.spec?.template.spec, built.spec?.template.spec);
    assert.deepEqual(stored?.metadata?.labels, built.metadata?.labels);
    assert.deepEqual(stored?.metadata?.annotations, built.metadata?.annotations);
    assert.equal(stored?.spec?.ttlSecondsAfterFinished, built.spec?.ttlSecondsAfterFinished);
    const post = fake.requests.find((r) => r.verb === 'create' && r.status === 201);
    assert.equal(post?.path, '/apis/batch/v1/namespaces/flywheel/jobs');
    assert.equal(post?.authorization, `Bearer ${TOKEN}`);
  });

  it('answers a second create of the same name with ConflictError (409 AlreadyExists)', async () => {
    const built = job('dup-1');
    await jobs.create(built);
    const err = await rejection(jobs.create(built));
    assert.ok(err instanceof ConflictError, String(err));
    assert.match(err.message, /already exists/);
    assert.equal(fake.jobs('flywheel').filter((j) => j.metadata?.name === built.metadata?.name).length, 1);
    assert.equal(fake.requests.at(-1)?.status, 409);
  });

  it('reads a Job by name, and answers undefined for one that does not exist', async () => {
    const built = job('get-1');
    await jobs.create(built);
    const got = await jobs.get(built.metadata?.name ?? '');
    assert.equal(got?.labels['flywheel.dev/model'], 'risk');
    assert.equal(await jobs.get('train-risk-0000000000'), undefined);
  });

  it('lists by label selector, and listActive leaves out Jobs that completed or failed', async () => {
    const a = (await jobs.create(job('list-a', 'segment'))).name;
    const b = (await jobs.create(job('list-b', 'segment'))).name;
    const c = (await jobs.create(job('list-c', 'segment'))).name;
    fake.setJobState(a, 'active');
    fake.setJobState(b, 'succeeded');
    fake.setJobState(c, 'failed');
    const all = await jobs.listByLabel('flywheel.dev/model=segment');
    assert.deepEqual(all.map((j) => j.name).sort(), [a, b, c].sort());
    const active = await jobs.listActive('flywheel.dev/role=trainer,flywheel.dev/model=segment');
    assert.deepEqual(
      active.map((j) => [j.name, j.active]),
      [[a, 1]],
    );
    assert.deepEqual(await jobs.listByLabel('flywheel.dev/model=nope'), []);
    assert.equal(fake.requests.at(-1)?.labelSelector, 'flywheel.dev/model=nope');
  });

  it('turns a 403 into a ForbiddenError naming the identity, verb, resource and namespace to grant', async () => {
    fake.failNext({ kind: 'forbidden' }, { verb: 'create' });
    const err = await rejection(jobs.create(job('forbidden-1')));
    assert.ok(err instanceof ForbiddenError, String(err));
    assert.equal(err.retriable, false);
    assert.equal(err.status, 403);
    assert.match(
      err.message,
      /^serviceaccount flywheel\/launch-training cannot create jobs\.batch in namespace flywheel: grant "create" on "jobs" in apiGroup "batch"/,
    );
    fake.failNext({ kind: 'forbidden' }, { verb: 'list' });
    const listErr = await rejection(jobs.listActive('flywheel.dev/model=risk'));
    assert.ok(listErr instanceof ForbiddenError);
    assert.match(listErr.message, /cannot list jobs\.batch in namespace flywheel: grant "list"/);
  });

  it('turns a 500 into a retriable DependencyError (503)', async () => {
    fake.failNext({ kind: 'error', status: 500 });
    const err = await rejection(jobs.create(job('error-1')));
    assert.ok(err instanceof DependencyError, String(err));
    assert.equal(err.status, 503);
    assert.equal(err.retriable, true);
    assert.match(err.message, /answered 500 to create jobs\.batch .*etcdserver/);
  });

  it('turns a connection closed without an answer into a DependencyError', async () => {
    fake.failNext({ kind: 'close' });
    const err = await rejection(jobs.listByLabel('flywheel.dev/model=risk'));
    assert.ok(err instanceof DependencyError, String(err));
    assert.match(err.message, /unreachable \(ECONNRESET\)/);
  });

  it('gives up on an API server that never answers after the request timeout', async () => {
    fake.failNext({ kind: 'hang' });
    const err = await rejection(jobs.listByLabel('flywheel.dev/model=risk'));
    assert.ok(err instanceof DependencyError, String(err));
    assert.match(err.message, /no answer from http:\/\/127\.0\.0\.1:\d+ within 300 ms/);
  });

  it('surfaces a Job the server finds invalid (422) as a non-Flywheel error with the server’s reason', async () => {
    const bad = job('invalid-1');
    if (bad.metadata) bad.metadata.name = 'Train_Risk';
    const err = await rejection(jobs.create(bad));
    assert.ok(err instanceof Error);
    assert.ok(!(err instanceof FlywheelError));
    assert.match(err.message, /answered 422 .*is invalid: metadata\.name/);
  });

  it('turns a rejected token into UnauthorizedError (401)', async () => {
    const wrong = createJobsClient({
      kubeconfigPath: await writeKubeconfig(fake.url, { token: 'wrong' }),
      namespace: 'flywheel',
      timeoutMs: 300,
    });
    const err = await rejection(wrong.listByLabel(''));
    assert.ok(err instanceof UnauthorizedError, String(err));
  });

  it('turns a refused connection (the API server is gone) into a DependencyError', async () => {
    const gone = await startK8sFake();
    const client = createJobsClient({
      kubeconfigPath: await writeKubeconfig(gone.url),
      namespace: 'flywheel',
      timeoutMs: 300,
    });
    await gone.stop();
    const err = await rejection(client.create(job('refused-1')));
    assert.ok(err instanceof DependencyError, String(err));
    assert.match(err.message, /unreachable \(ECONNREFUSED\)/);
  });
});
