// The local executor (no cluster): runs the trainer as child processes, one per model, queued and retried.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as delay } from 'node:timers/promises';
import { FlywheelError, OverCapacityError } from '../../shared/errors/index.ts';
import { trainingJobName } from '../../shared/k8s/job.ts';
import type { Logger } from '../../shared/runtime/logger.ts';
import { TRAINER_EXIT_RETRIABLE } from '../../shared/training/result.ts';
import type { LaunchOutcome, LaunchRequest, TrainingExecutor } from './executor.ts';
import { behindOf, nextToStart, type PlannedRun, place } from './placement.ts';

/** The namespace the local executor reports in training.launched. */
export const LOCAL_NAMESPACE = 'local';

/** The trainer CLI's arguments; `{model}`, `{from}`, `{to}` (ISO-8601), `{output}` and `{jobName}` are filled in. */
export const DEFAULT_TRAINER_ARGS: readonly string[] = [
  '--import',
  'tsx',
  'shared/training/cli.ts',
  'train',
  '--model',
  '{model}',
  '--from',
  '{from}',
  '--to',
  '{to}',
  '--output',
  '{output}',
];

/** How a local training run ended for good; the runner registers the result file from here. */
export interface TrainerExit {
  model: string;
  jobName: string;
  /** The exit code, or null when a signal ended the process. */
  code: number | null;
  signal: NodeJS.Signals | null;
  outputPath: string;
  /** Trainer processes this run took (retriable failures are retried with backoff). */
  attempts: number;
}

export interface LocalExecutorOptions {
  /** Directory the result files go to (one `<jobName>.json` per run). */
  outputDir: string;
  log: Logger;
  /** Executable; defaults to this Node binary. */
  command?: string;
  args?: readonly string[];
  cwd?: string;
  /** The child's whole environment; inherited when omitted. */
  env?: NodeJS.ProcessEnv;
  /**
   * Called once per run when it ends for good: the trainer succeeded (code 0) or failed on its merits. A retriable
   * FlywheelError thrown from it (the registry or the broker down) is retried with backoff, so it must be idempotent.
   */
  onExit?: (exit: TrainerExit) => void | Promise<void>;
  /** Called when a queued run starts: the event that asked for it was answered long before. */
  onLaunched?: (request: LaunchRequest, jobName: string) => void | Promise<void>;
  /** Runs at once across models (TRAINING_MAX_RUNS); default 2. */
  maxRuns?: number;
  /** Requests waiting across models (TRAINING_MAX_QUEUED); default 16. */
  maxQueued?: number;
  /** First retry delay after a retriable failure, doubled each time up to retryBackoffMaxMs. */
  retryBackoffMs?: number;
  retryBackoffMaxMs?: number;
  /** How many past run names are remembered to recognise a redelivered event. */
  remember?: number;
  /** How long close() waits after SIGTERM before SIGKILL. */
  killGraceMs?: number;
}

/** A run's name and model, as running() and queued() list them. */
export interface RunName {
  jobName: string;
  model: string;
}

export interface LocalExecutor extends TrainingExecutor {
  /** The runs in progress (a run waiting out a retry's backoff is in progress). */
  running(): RunName[];
  /** The runs waiting for their model's run or for a free slot, oldest first. */
  queued(): RunName[];
  /** Resolves once nothing runs and nothing is queued (after the last onExit). */
  idle(): Promise<void>;
  close(): Promise<void>;
}

interface Entry {
  planned: PlannedRun;
  request: LaunchRequest;
}

interface Run extends Entry {
  child?: ChildProcess;
  /** Settles when the run ended for good and onExit ran. */
  done: Promise<void>;
}

/** How one trainer process ended. */
interface Ended {
  code: number | null;
  signal: NodeJS.Signals | null;
  outputPath: string;
}

/** Told whether the first trainer process of a run started (launch() waits on it for a run it starts itself). */
interface FirstStart {
  started(): void;
  failed(err: unknown): void;
}

/**
 * Runs the trainer as child processes: one run per model and at most maxRuns at once, requests that cannot start
 * placed by placement.ts (queued, coalesced, or refused with 429 when the queue is full), queued runs started as
 * slots free up. A trainer that exits with TRAINER_EXIT_RETRIABLE, or is killed by a signal the executor did not
 * send, is started again with exponential backoff; the run keeps its slot meanwhile. Each stdout/stderr line is
 * logged with the run's name.
 */
export function localExecutor(opts: LocalExecutorOptions): LocalExecutor {
  const command = opts.command ?? process.execPath;
  const template = opts.args ?? DEFAULT_TRAINER_ARGS;
  const remember = opts.remember ?? 1000;
  const maxRuns = opts.maxRuns ?? 2;
  const maxQueued = opts.maxQueued ?? 16;
  const backoffMs = opts.retryBackoffMs ?? 1_000;
  const backoffMaxMs = opts.retryBackoffMaxMs ?? 60_000;
  const seen = new Set<string>();
  const runs = new Map<string, Run>();
  let queue: Entry[] = [];
  const closing = new AbortController();

  const occupancy = () => ({
    running: [...runs.values()].map((r) => r.planned),
    queued: queue.map((q) => q.planned),
    maxRuns,
    maxQueued,
  });
  const note = (jobName: string) => {
    seen.add(jobName);
    if (seen.size > remember) seen.delete(seen.values().next().value ?? '');
  };
  /** Waits `ms` unless the executor closes first; false when it closed. */
  const pause = (ms: number) => delay(ms, true, { signal: closing.signal }).catch(() => false);
  const backoff = (attempt: number) => Math.min(backoffMaxMs, backoffMs * 2 ** (attempt - 1));

  /** Starts one trainer process; resolves once it runs, to a promise of how it ended. */
  const spawnTrainer = async (run: Run, attempt: number): Promise<{ ended: Promise<Ended> }> => {
    const { request, planned } = run;
    const outputPath = resolve(opts.outputDir, `${planned.jobName}.json`);
    await mkdir(opts.outputDir, { recursive: true });
    const values: Record<string, string> = {
      model: request.model,
      from: new Date(request.range.from).toISOString(),
      to: new Date(request.range.to).toISOString(),
      output: outputPath,
      jobName: planned.jobName,
    };
    const args = template.map((a) => a.replace(/\{(\w+)\}/g, (m, k: string) => values[k] ?? m));
    const log = opts.log.child({ jobName: planned.jobName, model: request.model, attempt });
    const child = spawn(command, args, {
      cwd: opts.cwd ?? process.cwd(),
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(opts.env ? { env: opts.env } : {}),
    });
    const closed = new Promise<[number | null, NodeJS.Signals | null]>((done) => {
      child.on('close', (code, signal) => done([code, signal]));
    });
    try {
      await new Promise<void>((started, failed) => {
        child.once('spawn', started);
        child.once('error', failed);
      });
    } catch (err) {
      throw new Error(`could not start the trainer (${command} ${args.join(' ')})`, { cause: err });
    }
    child.on('error', (err) => log.error({ err }, 'trainer process error'));
    forward(child.stdout, (line) => log.info({ stream: 'stdout' }, line));
    forward(child.stderr, (line) => log.warn({ stream: 'stderr' }, line));
    log.info({ pid: child.pid, command, args }, 'trainer started');
    run.child = child;
    const ended = closed.then(([code, signal]) => {
      delete run.child;
      log.info({ code, signal, outputPath }, 'trainer exited');
      return { code, signal, outputPath };
    });
    return { ended };
  };

  /** onExit, retried with backoff while it fails retriably. */
  const report = async (exit: TrainerExit) => {
    const log = opts.log.child({ jobName: exit.jobName, model: exit.model });
    for (let attempt = 1; ; attempt++) {
      try {
        await opts.onExit?.(exit);
        return;
      } catch (err) {
        if (!(err instanceof FlywheelError && err.retriable) || closing.signal.aborted) {
          log.error({ err }, 'onExit failed');
          return;
        }
        log.warn({ err, retryInMs: backoff(attempt) }, 'onExit failed retriably: retrying');
        if (!(await pause(backoff(attempt)))) return;
      }
    }
  };

  /** One run from its first trainer process to its last, retrying retriable failures. */
  const drive = async (run: Run, first: FirstStart) => {
    const { planned } = run;
    const log = opts.log.child({ jobName: planned.jobName, model: planned.model });
    for (let attempt = 1; ; attempt++) {
      let ended: Ended;
      try {
        const trainer = await spawnTrainer(run, attempt);
        if (attempt === 1) first.started();
        ended = await trainer.ended;
      } catch (err) {
        if (attempt === 1) {
          first.failed(err);
          return;
        }
        ended = { code: null, signal: null, outputPath: '' };
        log.error({ err }, 'trainer could not be started again');
      }
      const exit: TrainerExit = {
        model: planned.model,
        jobName: planned.jobName,
        ...ended,
        attempts: attempt,
      };
      const retriable = ended.code === TRAINER_EXIT_RETRIABLE || ended.code === null;
      if (retriable && !closing.signal.aborted) {
        log.warn(
          { code: ended.code, signal: ended.signal, retryInMs: backoff(attempt) },
          'training run retried',
        );
        if (await pause(backoff(attempt))) continue;
      }
      await report(exit);
      return;
    }
  };

  /** Registers the run as in progress at once (so a concurrent placement sees it) and drives it. */
  const begin = (entry: Entry, first: FirstStart) => {
    const run: Run = { ...entry, done: Promise.resolve() };
    runs.set(entry.planned.jobName, run);
    run.done = drive(run, first).finally(() => {
      runs.delete(entry.planned.jobName);
      drain();
    });
  };

  /** Starts queued runs while slots are free. */
  const drain = () => {
    for (
      let next = nextToStart(occupancy());
      next && !closing.signal.aborted;
      next = nextToStart(occupancy())
    ) {
      const jobName = next.jobName;
      const entry = queue.find((q) => q.planned.jobName === jobName);
      queue = queue.filter((q) => q.planned.jobName !== jobName);
      if (!entry) return;
      begin(entry, {
        started: () => {
          Promise.resolve(opts.onLaunched?.(entry.request, jobName)).catch((err: unknown) =>
            opts.log.error({ err, jobName }, 'announcing a queued run failed'),
          );
        },
        failed: (err) => {
          seen.delete(jobName);
          opts.log.error({ err, jobName }, 'a queued run could not start');
        },
      });
    }
  };

  return {
    kind: 'local',
    async launch(request, ctx): Promise<LaunchOutcome> {
      const jobName = trainingJobName(request.model, request.triggeredBy);
      const waiting = queue.find((q) => q.planned.jobName === jobName);
      if (waiting) return { kind: 'queued', jobName, behind: behindOf(waiting.planned.model, occupancy()) };
      if (seen.has(jobName)) return { kind: 'already-exists', jobName, namespace: LOCAL_NAMESPACE };
      const planned: PlannedRun = { jobName, model: request.model, range: request.range };
      const placement = place(planned, occupancy());
      switch (placement.kind) {
        case 'start': {
          note(jobName);
          const started = new Promise<void>((ok, failed) =>
            begin({ planned, request }, { started: ok, failed }),
          );
          try {
            await started;
          } catch (err) {
            seen.delete(jobName);
            throw err;
          }
          return { kind: 'launched', jobName, namespace: LOCAL_NAMESPACE };
        }
        case 'coalesced':
          return { kind: 'coalesced', into: placement.into.jobName };
        case 'queued': {
          const dropped = new Set(placement.supersedes.map((s) => s.jobName));
          queue = queue.filter((q) => !dropped.has(q.planned.jobName));
          queue.push({ planned, request });
          note(jobName);
          if (dropped.size > 0)
            ctx.log.info({ jobName, supersedes: [...dropped] }, 'queued run replaces older ones');
          return { kind: 'queued', jobName, behind: placement.behind };
        }
        case 'full':
          throw new OverCapacityError(
            `training queue full: ${placement.queued} requests wait (TRAINING_MAX_QUEUED ${maxQueued}); retry later`,
          );
        default:
          return unreachable(placement);
      }
    },
    running: () => [...runs.values()].map((r) => ({ jobName: r.planned.jobName, model: r.planned.model })),
    queued: () => queue.map((q) => ({ jobName: q.planned.jobName, model: q.planned.model })),
    async idle() {
      while (runs.size > 0) await Promise.all([...runs.values()].map((r) => r.done));
    },
    async close() {
      closing.abort();
      queue = [];
      const all = [...runs.values()];
      const timers = all.map((run) => {
        run.child?.kill('SIGTERM');
        return setTimeout(() => run.child?.kill('SIGKILL'), opts.killGraceMs ?? 5_000);
      });
      await Promise.all(all.map((r) => r.done));
      for (const t of timers) clearTimeout(t);
    },
  };
}

function unreachable(placement: never): never {
  throw new Error(`unhandled placement ${JSON.stringify(placement)}`);
}

function forward(stream: NodeJS.ReadableStream | null, write: (line: string) => void): void {
  if (!stream) return;
  const lines = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
  lines.on('line', (line) => {
    if (line.trim() !== '') write(line);
  });
}

/** The default result directory under FLYWHEEL_DATA_DIR. */
export function localOutputDir(dataDir: string): string {
  return join(dataDir, 'training');
}
