// The local executor: the trainer as a child process, one at a time, its lines in the logs, its exit reported.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { defaultConfig } from '../../shared/config/index.ts';
import { DependencyError, OverCapacityError } from '../../shared/errors/index.ts';
import { EventTypes } from '../../shared/events/index.ts';
import { trainingJobName } from '../../shared/k8s/job.ts';
import { createLogger, type Logger, serve } from '../../shared/runtime/index.ts';
import type { LaunchRequest } from '../../functions/launch-training/executor.ts';
import { launchTrainingFunction } from '../../functions/launch-training/function.ts';
import {
  DEFAULT_TRAINER_ARGS,
  type LocalExecutorOptions,
  localExecutor,
  type TrainerExit,
} from '../../functions/launch-training/local-executor.ts';

const FAKE_TRAINER = fileURLToPath(new URL('../support/fake-trainer.ts', import.meta.url));
const FROM = Date.parse('2025-01-01T00:00:00Z');
const TO = Date.parse('2025-02-01T00:00:00Z');
const DAY = 86_400_000;

/** A logger whose JSON lines are kept for assertions. */
function capturedLogger(): { log: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString('utf8').split('\n')) if (l.trim()) lines.push(JSON.parse(l));
      done();
    },
  });
  return { log: createLogger({ name: 'launch-training', level: 'info', destination }), lines };
}

function request(id: string, model: 'risk' | 'segment' = 'risk'): LaunchRequest {
  return {
    model,
    range: { from: FROM, to: TO },
    reason: 'test',
    triggeredBy: { id, source: 'test', type: EventTypes.trainingRequested },
  };
}

describe('localExecutor', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'flywheel-local-trainer-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  function executor(
    extra: { exitCode?: number; release?: string } & Partial<LocalExecutorOptions>,
    log: Logger,
    exits: TrainerExit[],
  ) {
    return localExecutor({
      outputDir: join(dir, 'out'),
      log,
      args: ['--import', 'tsx', FAKE_TRAINER, ...DEFAULT_TRAINER_ARGS.slice(3)],
      env: {
        ...process.env,
        FAKE_TRAINER_EXIT: String(extra.exitCode ?? 0),
        ...(extra.release ? { FAKE_TRAINER_RELEASE: extra.release } : {}),
      },
      onExit: (e) => {
        exits.push(e);
      },
      ...extra,
    });
  }

  it('runs different models in parallel, one run per model; a later request for a busy model is queued, not skipped', async () => {
    const { log, lines } = capturedLogger();
    const exits: TrainerExit[] = [];
    const launched: string[] = [];
    const release = join(dir, 'release-parallel-{model}');
    const ex = executor({ release, onLaunched: (_r, jobName) => void launched.push(jobName) }, log, exits);
    const name = (id: string, model: 'risk' | 'segment' = 'risk') =>
      trainingJobName(model, { id, source: 'test' });
    // segment drifted first and its run started: risk's drift must still get a run (it was once skipped).
    assert.deepEqual(await ex.launch(request('seg-1', 'segment'), { log }), {
      kind: 'launched',
      jobName: name('seg-1', 'segment'),
      namespace: 'local',
    });
    assert.deepEqual(await ex.launch(request('run-1'), { log }), {
      kind: 'launched',
      jobName: name('run-1'),
      namespace: 'local',
    });
    assert.deepEqual(
      ex.running().map((r) => r.model),
      ['segment', 'risk'],
    );
    // The same evidence again (a second window inside the running range) rides on the run in progress.
    assert.deepEqual(await ex.launch(request('run-2'), { log }), { kind: 'coalesced', into: name('run-1') });
    // Newer evidence than the running run has seen waits for it, and is announced when it starts.
    const later = { ...request('run-3'), range: { from: FROM + DAY, to: TO + DAY } };
    assert.deepEqual(await ex.launch(later, { log }), {
      kind: 'queued',
      jobName: name('run-3'),
      behind: name('run-1'),
    });
    assert.deepEqual(await ex.launch(later, { log }), {
      kind: 'queued',
      jobName: name('run-3'),
      behind: name('run-1'),
    });
    assert.deepEqual(await ex.launch(request('run-1'), { log }), {
      kind: 'already-exists',
      jobName: name('run-1'),
      namespace: 'local',
    });
    await writeFile(join(dir, 'release-parallel-risk'), '');
    await writeFile(join(dir, 'release-parallel-segment'), '');
    await ex.idle();
    assert.deepEqual(ex.running(), []);
    assert.deepEqual(ex.queued(), []);
    assert.deepEqual(launched, [name('run-3')]);
    assert.deepEqual(exits.map((e) => [e.jobName, e.code, e.attempts]).sort(), [
      [name('run-1'), 0, 1],
      [name('run-3'), 0, 1],
      [name('seg-1', 'segment'), 0, 1],
    ]);

    const outputPath = join(dir, 'out', `${name('run-1')}.json`);
    assert.deepEqual(JSON.parse(await readFile(outputPath, 'utf8')), {
      model: 'risk',
      from: '2025-01-01T00:00:00.000Z',
      to: '2025-02-01T00:00:00.000Z',
      metrics: { auc: 0.9 },
    });
    const trainerLines = lines.filter((l) => l.jobName === name('run-1') && l.stream !== undefined);
    // Each stream keeps its order; the two pipes may interleave either way.
    const of = (stream: string) =>
      trainerLines.filter((l) => l.stream === stream).map((l) => [l.level, l.msg]);
    assert.deepEqual(of('stdout'), [
      [30, 'fake-trainer train model=risk from=2025-01-01T00:00:00.000Z to=2025-02-01T00:00:00.000Z'],
      [30, 'fake-trainer done exit=0'],
    ]);
    assert.deepEqual(of('stderr'), [[40, 'fake-trainer: backend cpu (stderr line)']]);
  });

  it('with one slot, a second model waits for it; a newer request replaces the queued one it covers', async () => {
    const { log } = capturedLogger();
    const exits: TrainerExit[] = [];
    const launched: string[] = [];
    const release = join(dir, 'release-one-slot-{model}');
    const ex = executor(
      { release, maxRuns: 1, onLaunched: (_r, jobName) => void launched.push(jobName) },
      log,
      exits,
    );
    const name = (id: string, model: 'risk' | 'segment' = 'risk') =>
      trainingJobName(model, { id, source: 'test' });
    assert.equal((await ex.launch(request('one-1'), { log })).kind, 'launched');
    assert.deepEqual(await ex.launch(request('seg-a', 'segment'), { log }), {
      kind: 'queued',
      jobName: name('seg-a', 'segment'),
      behind: name('one-1'),
    });
    const newer = { ...request('seg-b', 'segment'), range: { from: FROM + DAY, to: TO + DAY } };
    assert.equal((await ex.launch(newer, { log })).kind, 'queued');
    assert.deepEqual(ex.queued(), [{ jobName: name('seg-b', 'segment'), model: 'segment' }]);
    await writeFile(join(dir, 'release-one-slot-risk'), '');
    await writeFile(join(dir, 'release-one-slot-segment'), '');
    await ex.idle();
    assert.deepEqual(launched, [name('seg-b', 'segment')]);
    assert.deepEqual(
      exits.map((e) => e.jobName),
      [name('one-1'), name('seg-b', 'segment')],
    );
  });

  it('refuses with OverCapacityError (429) when the queue is full, and queues again once it drains', async () => {
    const { log } = capturedLogger();
    const exits: TrainerExit[] = [];
    const release = join(dir, 'release-full-{model}');
    const ex = executor({ release, maxRuns: 1, maxQueued: 1 }, log, exits);
    assert.equal((await ex.launch(request('full-1'), { log })).kind, 'launched');
    assert.equal((await ex.launch(request('full-2', 'segment'), { log })).kind, 'queued');
    const third = { ...request('full-3'), range: { from: FROM + DAY, to: TO + DAY } };
    await assert.rejects(ex.launch(third, { log }), (err: unknown) => {
      assert.ok(err instanceof OverCapacityError);
      assert.equal(err.status, 429);
      assert.match(err.message, /training queue full: 1 requests wait/);
      return true;
    });
    await writeFile(join(dir, 'release-full-risk'), '');
    await writeFile(join(dir, 'release-full-segment'), '');
    await ex.idle();
    // The refused request was not remembered: its redelivery is placed like a new one.
    assert.equal((await ex.launch(third, { log })).kind, 'launched');
    await ex.idle();
    assert.equal(exits.length, 3);
  });

  it('retries a trainer that exits 75 (a dependency down) with backoff until it succeeds', async () => {
    const { log } = capturedLogger();
    const exits: TrainerExit[] = [];
    const counter = join(dir, 'retry-counter');
    const retried = executor(
      {
        retryBackoffMs: 10,
        env: { ...process.env, FAKE_TRAINER_COUNTER: counter, FAKE_TRAINER_FAIL_TIMES: '2' },
      },
      log,
      exits,
    );
    assert.equal((await retried.launch(request('retry-1'), { log })).kind, 'launched');
    await retried.idle();
    assert.deepEqual(
      exits.map((e) => [e.code, e.attempts]),
      [[0, 3]],
    );
    assert.equal(await readFile(counter, 'utf8'), '3');
  });

  it('retries onExit while it fails retriably (registry down), and not when it fails on its merits', async () => {
    const { log } = capturedLogger();
    const calls: string[] = [];
    let failures = 2;
    const ex = localExecutor({
      outputDir: join(dir, 'out'),
      log,
      args: ['--import', 'tsx', FAKE_TRAINER, ...DEFAULT_TRAINER_ARGS.slice(3)],
      retryBackoffMs: 10,
      onExit: (e) => {
        calls.push(e.jobName);
        if (e.model === 'risk' && failures-- > 0) throw new DependencyError('redis', 'not connected');
        if (e.model === 'segment') throw new Error('result file is corrupt');
      },
    });
    await ex.launch(request('exit-1'), { log });
    await ex.launch(request('exit-2', 'segment'), { log });
    await ex.idle();
    const risk = trainingJobName('risk', { id: 'exit-1', source: 'test' });
    const segment = trainingJobName('segment', { id: 'exit-2', source: 'test' });
    assert.deepEqual(calls.filter((c) => c === risk).length, 3);
    assert.deepEqual(calls.filter((c) => c === segment).length, 1);
  });

  it('reports the trainer’s exit code to onExit', async () => {
    const { log } = capturedLogger();
    const exits: TrainerExit[] = [];
    const ex = executor({ exitCode: 3 }, log, exits);
    await ex.launch(request('fail-1'), { log });
    await ex.idle();
    assert.equal(exits.length, 1);
    assert.equal(exits[0]?.code, 3);
    assert.equal(exits[0]?.jobName, trainingJobName('risk', { id: 'fail-1', source: 'test' }));
  });

  it('fails the launch when the trainer cannot be started, and frees the slot for the next one', async () => {
    const { log } = capturedLogger();
    const exits: TrainerExit[] = [];
    const broken = executor({ command: join(dir, 'no-such-trainer') }, log, exits);
    await assert.rejects(broken.launch(request('broken-1'), { log }), /could not start the trainer/);
    assert.deepEqual(broken.running(), []);
    assert.deepEqual(exits, []);
  });

  it('stops a running trainer on close', async () => {
    const { log } = capturedLogger();
    const exits: TrainerExit[] = [];
    const ex = executor({ release: join(dir, 'never-created') }, log, exits);
    await ex.launch(request('close-1'), { log });
    await ex.close();
    assert.deepEqual(ex.running(), []);
    assert.equal(exits[0]?.signal, 'SIGTERM');
  });
});

describe('launch-training with the local executor', () => {
  it('replies training.launched for the local run and answers 202 queued for newer evidence while it runs', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'flywheel-local-fn-'));
    const { log } = capturedLogger();
    const release = join(dir, 'release');
    const exits: TrainerExit[] = [];
    const executor = localExecutor({
      outputDir: dir,
      log,
      args: ['--import', 'tsx', FAKE_TRAINER, ...DEFAULT_TRAINER_ARGS.slice(3)],
      env: { ...process.env, FAKE_TRAINER_RELEASE: release },
      onExit: (e) => {
        exits.push(e);
      },
    });
    const fn = await serve(launchTrainingFunction({ executor, config: defaultConfig() }), {
      port: 0,
      host: '127.0.0.1',
      log,
      maxBodyBytes: 64 * 1024,
      shutdownGraceMs: 1000,
    });
    try {
      const send = (id: string, to = TO) =>
        fetch(fn.url, {
          method: 'POST',
          headers: {
            'ce-specversion': '1.0',
            'ce-id': id,
            'ce-source': 'operator',
            'ce-type': EventTypes.trainingRequested,
            'content-type': 'application/json',
          },
          body: JSON.stringify({ model: 'risk', reason: 'manual', range: { from: FROM, to } }),
        });
      const res = await send('local-1');
      assert.equal(res.status, 200);
      const data = (await res.json()) as { executor: string; namespace: string; jobName: string };
      assert.equal(data.executor, 'local');
      assert.equal(data.namespace, 'local');
      const detail = async (res: Response) => {
        assert.equal(res.status, 202);
        return ((await res.json()) as { results: { detail?: string }[] }).results[0]?.detail;
      };
      assert.equal(
        await detail(await send('local-2')),
        `training.coalesced: ${data.jobName} trains on this evidence`,
      );
      const queued = trainingJobName('risk', { id: 'local-3', source: 'operator' });
      assert.equal(
        await detail(await send('local-3', TO + DAY)),
        `training.queued: ${queued} starts after ${data.jobName}`,
      );
      await writeFile(release, '');
      await executor.idle();
      assert.deepEqual(
        exits.map((e) => [e.jobName, e.code]),
        [
          [data.jobName, 0],
          [queued, 0],
        ],
      );
      assert.ok(existsSync(exits[0]?.outputPath ?? ''));
    } finally {
      await fn.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
