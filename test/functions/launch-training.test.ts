// launch-training over real HTTP with the Kubernetes executor against the API server fake: launch, redelivery,
// one run per model, and the status each API server failure is answered with.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { defaultConfig } from '../../shared/config/index.ts';
import { EventTypes } from '../../shared/events/index.ts';
import { createLogger, type RunningFunction } from '../../shared/runtime/index.ts';
import { type K8sFake, startK8sFake, writeKubeconfig } from '../support/k8s-fake.ts';
import { DAY, driftDetected, NOW, post, serveLaunchTraining } from '../support/launch-training.ts';

const log = createLogger({ name: 'launch-training-test', level: process.env.TEST_LOG_LEVEL ?? 'silent' });

describe('launch-training with the Kubernetes executor', () => {
  let fake: K8sFake;
  let fn: RunningFunction;

  beforeEach(async () => {
    fake = await startK8sFake();
    const config = defaultConfig({
      TRAINING_EXECUTOR: 'kubernetes',
      TRAINING_NAMESPACE: 'flywheel',
      TRAINING_LOOKBACK_MS: String(30 * DAY),
      DEPENDENCY_TIMEOUT_MS: '500',
    });
    fn = await serveLaunchTraining({ config, log, kubeconfigPath: await writeKubeconfig(fake.url) });
  });
  afterEach(async () => {
    await fn.close();
    await fake.stop();
  });

  it('answers drift.detected with training.launched, and the API server holds exactly one labelled Job', async () => {
    const event = driftDetected('drift-1');
    const res = await post(fn.url, event);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('ce-type'), EventTypes.trainingLaunched);
    assert.equal(res.headers.get('ce-source'), 'flywheel/launch-training');
    assert.equal(res.headers.get('ce-flywheelmodel'), 'risk');
    const data = (await res.json()) as Record<string, unknown>;
    const jobs = fake.jobs('flywheel');
    assert.equal(jobs.length, 1);
    // The Job is named and labelled by sha256 of the event's source, a NUL, and its id.
    const digest = createHash('sha256').update('flywheel/detect-drift\u0000drift-1').digest('hex');
    const name = jobs[0]?.metadata?.name ?? '';
    assert.equal(name, `train-risk-${digest.slice(0, 10)}`);
    assert.equal(res.headers.get('ce-id'), `flywheel/${name}`);
    assert.deepEqual(data, {
      model: 'risk',
      jobName: name,
      namespace: 'flywheel',
      executor: 'kubernetes',
      reason: 'PSI above 0.2 on amount for 3 windows',
      range: { from: NOW - 60_000 - 30 * DAY, to: NOW - 60_000 },
      triggeredBy: { id: 'drift-1', source: 'flywheel/detect-drift', type: EventTypes.driftDetected },
    });
    const labels = jobs[0]?.metadata?.labels ?? {};
    assert.equal(labels['flywheel.dev/role'], 'trainer');
    assert.equal(labels['flywheel.dev/model'], 'risk');
    assert.equal(labels['flywheel.dev/reason'], 'PSI-above-0.2-on-amount-for-3-windows');
    assert.equal(labels['flywheel.dev/event-id'], digest.slice(0, 32));
    const list = fake.requests.find((r) => r.verb === 'list');
    assert.equal(list?.labelSelector, 'flywheel.dev/role=trainer');
  });

  it('acknowledges a redelivered event with the same reply and no second Job', async () => {
    const event = driftDetected('drift-2');
    const first = await post(fn.url, event);
    const firstBody = await first.text();
    const second = await post(fn.url, event);
    assert.equal(second.status, 200);
    assert.equal(second.headers.get('ce-id'), first.headers.get('ce-id'));
    assert.equal(await second.text(), firstBody);
    assert.equal(fake.jobs('flywheel').length, 1);
    // The redelivery finds its own Job in the list and creates nothing.
    assert.deepEqual(
      fake.requests.filter((r) => r.verb === 'create').map((r) => r.status),
      [201],
    );
  });

  it('coalesces a drift whose window the active Job already trains on: 202, still one Job, counter moved', async () => {
    await post(fn.url, driftDetected('drift-3'));
    const running = fake.jobs('flywheel')[0]?.metadata?.name ?? '';
    fake.setJobState(running, 'active');
    const res = await post(fn.url, driftDetected('drift-4'));
    assert.equal(res.status, 202);
    const { results } = (await res.json()) as { results: { outcome: string; detail?: string }[] };
    assert.equal(results[0]?.outcome, 'accepted');
    assert.equal(results[0]?.detail, `training.coalesced: ${running} trains on this evidence`);
    assert.equal(fake.jobs('flywheel').length, 1);
    const metrics = await (await fetch(`${fn.url}/metrics`)).text();
    assert.match(metrics, /flywheel_training_coalesced_total\{[^}]*model="risk"[^}]*\} 1\b/);
  });

  it('queues newer evidence as a suspended Job, and resumes it once the running Job has finished', async () => {
    await post(fn.url, driftDetected('q-1'));
    const running = fake.jobs('flywheel')[0]?.metadata?.name ?? '';
    fake.setJobState(running, 'active');
    const later = driftDetected('q-2', 'risk', NOW);
    const queued = await post(fn.url, later);
    assert.equal(queued.status, 202);
    const { results } = (await queued.json()) as { results: { detail?: string }[] };
    const waiting = fake.jobs('flywheel').find((j) => j.metadata?.name !== running);
    const name = waiting?.metadata?.name ?? '';
    assert.equal(results[0]?.detail, `training.queued: ${name} starts after ${running}`);
    assert.equal(waiting?.spec?.suspend, true);
    // A redelivery of the queued request finds its own suspended Job: queued again, no third Job.
    assert.equal((await post(fn.url, later)).status, 202);
    assert.equal(fake.jobs('flywheel').length, 2);
    // The trainer announces model.trained just before its Job completes: the queue cannot move yet → 429, retried.
    const trained = {
      id: 'risk-v4',
      source: 'flywheel/trainer',
      type: EventTypes.modelTrained,
      data: {
        model: { name: 'risk', version: 4 },
        featureSet: { name: 'customer', version: '1' },
        range: { from: NOW - 30 * DAY, to: NOW },
        holdout: { from: NOW - DAY, to: NOW },
        metrics: { rocAuc: 0.9 },
        backend: 'cpu',
        artifact: 'registry://risk/4',
      },
    };
    const early = await post(fn.url, trained);
    assert.equal(early.status, 429);
    assert.match(await early.text(), new RegExp(`${name} waits for ${running} to finish`));
    fake.setJobState(running, 'succeeded');
    const moved = await post(fn.url, trained);
    assert.equal(moved.status, 202);
    assert.equal(fake.job(name)?.spec?.suspend, false);
    const patch = fake.requests.find((r) => r.verb === 'patch');
    assert.equal(patch?.status, 200);
  });

  it('replaces a queued Job with a newer request that covers it, and refuses with 429 when the queue is full', async () => {
    const hour = 3_600_000;
    await post(fn.url, driftDetected('r-1', 'risk', NOW - 3 * hour));
    fake.setJobState(fake.jobs('flywheel')[0]?.metadata?.name ?? '', 'active');
    assert.equal((await post(fn.url, driftDetected('r-2', 'risk', NOW - 2 * hour))).status, 202);
    assert.equal((await post(fn.url, driftDetected('r-3', 'risk', NOW - hour))).status, 202);
    const suspended = fake.jobs('flywheel').filter((j) => j.spec?.suspend === true);
    assert.equal(suspended.length, 1);
    assert.equal(suspended[0]?.metadata?.annotations?.['flywheel.dev/event-id'], 'r-3');
    assert.equal(fake.requests.filter((r) => r.verb === 'delete').length, 1);
  });

  it('starts one Job when two events for the same model arrive together; the other is coalesced into it', async () => {
    const answers = await Promise.all([
      post(fn.url, driftDetected('burst-1')),
      post(fn.url, driftDetected('burst-2')),
    ]);
    assert.deepEqual(answers.map((r) => r.status).sort(), [200, 202]);
    assert.equal(fake.jobs('flywheel').length, 1);
  });

  it('launches for another model while one model trains, and again once the running Job has finished', async () => {
    await post(fn.url, driftDetected('drift-5'));
    const first = fake.jobs('flywheel')[0]?.metadata?.name ?? '';
    fake.setJobState(first, 'active');
    assert.equal((await post(fn.url, driftDetected('drift-6', 'segment'))).status, 200);
    fake.setJobState(first, 'succeeded');
    assert.equal((await post(fn.url, driftDetected('drift-7'))).status, 200);
    const models = fake.jobs('flywheel').map((j) => j.metadata?.labels?.['flywheel.dev/model']);
    assert.deepEqual(models.sort(), ['risk', 'risk', 'segment']);
  });

  it('trains on the range a training.requested names', async () => {
    const from = Date.parse('2024-12-01T00:00:00Z');
    const to = Date.parse('2025-01-01T00:00:00Z');
    const res = await post(fn.url, {
      id: 'req-1',
      source: 'operator',
      type: EventTypes.trainingRequested,
      data: { model: 'segment', reason: 'quarterly refresh', range: { from, to } },
    });
    assert.equal(res.status, 200);
    const data = (await res.json()) as { range: unknown };
    assert.deepEqual(data.range, { from, to });
    const command = fake.jobs('flywheel')[0]?.spec?.template.spec?.containers[0]?.command;
    assert.deepEqual(command?.slice(-4), [
      '--from',
      '2024-12-01T00:00:00.000Z',
      '--to',
      '2025-01-01T00:00:00.000Z',
    ]);
  });

  it('answers a 403 from the API server with a non-retriable 403 naming the missing permission', async () => {
    fake.failNext({ kind: 'forbidden' }, { verb: 'create' });
    const res = await post(fn.url, driftDetected('drift-8'));
    assert.equal(res.status, 403);
    assert.equal(res.headers.get('content-type'), 'application/problem+json');
    const problem = (await res.json()) as { retriable: boolean; detail: string };
    assert.equal(problem.retriable, false);
    assert.match(
      problem.detail,
      /serviceaccount flywheel\/launch-training cannot create jobs\.batch in namespace flywheel: grant "create" on "jobs" in apiGroup "batch"/,
    );
    assert.equal(fake.jobs('flywheel').length, 0);
  });

  it('answers a 500 from the API server with 503 so the broker retries', async () => {
    fake.failNext({ kind: 'error', status: 500 }, { verb: 'create' });
    const res = await post(fn.url, driftDetected('drift-9'));
    assert.equal(res.status, 503);
    const problem = (await res.json()) as { retriable: boolean; detail: string };
    assert.equal(problem.retriable, true);
    assert.match(problem.detail, /^kubernetes: API server answered 500/);
    // The retry succeeds once the API server recovers.
    assert.equal((await post(fn.url, driftDetected('drift-9'))).status, 200);
    assert.equal(fake.jobs('flywheel').length, 1);
  });

  it('answers 503 when the API server never answers, after the request timeout', {
    timeout: 10_000,
  }, async () => {
    fake.failNext({ kind: 'hang' });
    const res = await post(fn.url, driftDetected('drift-10'));
    assert.equal(res.status, 503);
    const problem = (await res.json()) as { detail: string };
    assert.match(problem.detail, /no answer from .* within 500 ms/);
  });

  it('answers 503 when the API server refuses connections', { timeout: 10_000 }, async () => {
    await fake.stop();
    const res = await post(fn.url, driftDetected('drift-11'));
    assert.equal(res.status, 503);
    const problem = (await res.json()) as { detail: string; retriable: boolean };
    assert.equal(problem.retriable, true);
    assert.match(problem.detail, /unreachable \(ECONNREFUSED\)/);
  });
});
