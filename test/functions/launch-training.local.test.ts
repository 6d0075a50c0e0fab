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

  it('runs one trainer at a time: a second launch while it runs is skipped, the same event is already-exists', async () => {
    const { log, lines } = capturedLogger();
    const exits: TrainerExit[] = [];
    const release = join(dir, 'release-1');
    const ex = executor({ release }, log, exits);
    const first = await ex.launch(request('run-1'), { log });
    const jobName = trainingJobName('risk', { id: 'run-1', source: 'test' });
    assert.deepEqual(first, { kind: 'launched', jobName, namespace: 'local' });
    assert.deepEqual(ex.running(), { jobName, model: 'risk' });
    assert.deepEqual(await ex.launch(request('run-2', 'segment'), { log }), {
      kind: 'skipped',
      running: jobName,
    });
    assert.deepEqual(await ex.launch(request('run-1'), { log }), {
      kind: 'already-exists',
      jobName,
      namespace: 'local',
    });
    await writeFile(release, '');
    await ex.idle();
    assert.equal(ex.running(), undefined);

    const outputPath = join(dir, 'out', `${jobName}.json`);
    assert.deepEqual(exits, [{ model: 'risk', jobName, code: 0, signal: null, outputPath }]);
    assert.deepEqual(JSON.parse(await readFile(outputPath, 'utf8')), {
      model: 'risk',
      from: '2025-01-01T00:00:00.000Z',
      to: '2025-02-01T00:00:00.000Z',
      metrics: { auc: 0.9 },
    });
    const trainerLines = lines.filter((l) => l.jobName === jobName && l.stream !== undefined);
    // Each stream keeps its order; the two pipes may interleave either way.
    const of = (stream: string) =>
      trainerLines.filter((l) => l.stream === stream).map((l) => [l.level, l.msg]);
    assert.deepEqual(of('stdout'), [
      [30, 'fake-trainer train model=risk from=2025-01-01T00:00:00.000Z to=2025-02-01T00:00:00.000Z'],
      [30, 'fake-trainer done exit=0'],
    ]);
    assert.deepEqual(of('stderr'), [[40, 'fake-trainer: backend cpu (stderr line)']]);
    // Once the run is over, the next event starts a new one.
    const next = await ex.launch(request('run-3'), { log });
    assert.equal(next.kind, 'launched');
    await ex.idle();
    assert.equal(exits.length, 2);
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
    assert.equal(broken.running(), undefined);
    assert.deepEqual(exits, []);
  });

  it('stops a running trainer on close', async () => {
    const { log } = capturedLogger();
    const exits: TrainerExit[] = [];
    const ex = executor({ release: join(dir, 'never-created') }, log, exits);
    await ex.launch(request('close-1'), { log });
    await ex.close();
    assert.equal(ex.running(), undefined);
    assert.equal(exits[0]?.signal, 'SIGTERM');
  });
});

describe('launch-training with the local executor', () => {
  it('replies training.launched for the local run and answers 202 skipped while it runs', async () => {
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
      const send = (id: string) =>
        fetch(fn.url, {
          method: 'POST',
          headers: {
            'ce-specversion': '1.0',
            'ce-id': id,
            'ce-source': 'operator',
            'ce-type': EventTypes.trainingRequested,
            'content-type': 'application/json',
          },
          body: JSON.stringify({ model: 'risk', reason: 'manual', range: { from: FROM, to: TO } }),
        });
      const res = await send('local-1');
      assert.equal(res.status, 200);
      const data = (await res.json()) as { executor: string; namespace: string; jobName: string };
      assert.equal(data.executor, 'local');
      assert.equal(data.namespace, 'local');
      const skipped = await send('local-2');
      assert.equal(skipped.status, 202);
      const { results } = (await skipped.json()) as { results: { detail?: string }[] };
      assert.equal(results[0]?.detail, `training.skipped: ${data.jobName} is still running for model risk`);
      await writeFile(release, '');
      await executor.idle();
      assert.equal(exits[0]?.code, 0);
      assert.ok(existsSync(exits[0]?.outputPath ?? ''));
    } finally {
      await fn.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
