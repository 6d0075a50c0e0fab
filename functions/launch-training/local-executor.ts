// The local executor (no cluster): runs the trainer as a child process, one at a time, its output in the logs.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { Logger } from '../../shared/runtime/logger.ts';
import { trainingJobName } from '../../shared/k8s/job.ts';
import type { LaunchOutcome, LaunchRequest, TrainingExecutor } from './executor.ts';

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

/** How a local training run ended; the runner registers the result file from here. */
export interface TrainerExit {
  model: string;
  jobName: string;
  /** The exit code, or null when a signal ended the process. */
  code: number | null;
  signal: NodeJS.Signals | null;
  outputPath: string;
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
  onExit?: (exit: TrainerExit) => void | Promise<void>;
  /** How many past run names are remembered to recognise a redelivered event. */
  remember?: number;
  /** How long close() waits after SIGTERM before SIGKILL. */
  killGraceMs?: number;
}

export interface LocalExecutor extends TrainingExecutor {
  /** The run in progress, if any. */
  running(): { jobName: string; model: string } | undefined;
  /** Resolves once no run is in progress (after its onExit callback). */
  idle(): Promise<void>;
  close(): Promise<void>;
}

interface Run {
  child: ChildProcess;
  /** Settles after the process closed and onExit ran. */
  done: Promise<void>;
}

/** The run in progress; `run` is unset while the process is being started. */
interface Slot {
  jobName: string;
  model: string;
  run?: Run;
}

/**
 * One trainer process at a time for the whole process: a launch while one runs is skipped, a launch for an event
 * already run (same job name) is already-exists. Each stdout/stderr line is logged with the run's name; onExit gets
 * the exit code and the result file's path.
 */
export function localExecutor(opts: LocalExecutorOptions): LocalExecutor {
  const command = opts.command ?? process.execPath;
  const template = opts.args ?? DEFAULT_TRAINER_ARGS;
  const remember = opts.remember ?? 1000;
  const seen = new Set<string>();
  let current: Slot | undefined;

  const start = async (request: LaunchRequest, jobName: string): Promise<Run> => {
    const outputPath = resolve(opts.outputDir, `${jobName}.json`);
    await mkdir(opts.outputDir, { recursive: true });
    const values: Record<string, string> = {
      model: request.model,
      from: new Date(request.range.from).toISOString(),
      to: new Date(request.range.to).toISOString(),
      output: outputPath,
      jobName,
    };
    const args = template.map((a) => a.replace(/\{(\w+)\}/g, (m, k: string) => values[k] ?? m));
    const log = opts.log.child({ jobName, model: request.model });
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
    const done = closed.then(async ([code, signal]) => {
      log.info({ code, signal, outputPath }, 'trainer exited');
      try {
        await opts.onExit?.({ model: request.model, jobName, code, signal, outputPath });
      } catch (err) {
        log.error({ err }, 'onExit failed');
      }
    });
    return { child, done };
  };

  return {
    kind: 'local',
    async launch(request): Promise<LaunchOutcome> {
      const jobName = trainingJobName(request.model, request.triggeredBy);
      if (seen.has(jobName)) return { kind: 'already-exists', jobName, namespace: LOCAL_NAMESPACE };
      if (current) return { kind: 'skipped', running: current.jobName };
      // Claimed before the first await so that a concurrent launch sees it.
      const slot: Slot = { jobName, model: request.model };
      current = slot;
      try {
        const run = await start(request, jobName);
        slot.run = run;
        seen.add(jobName);
        if (seen.size > remember) seen.delete(seen.values().next().value ?? '');
        void run.done.finally(() => {
          if (current === slot) current = undefined;
        });
        return { kind: 'launched', jobName, namespace: LOCAL_NAMESPACE };
      } catch (err) {
        if (current === slot) current = undefined;
        throw err;
      }
    },
    running: () => (current ? { jobName: current.jobName, model: current.model } : undefined),
    async idle() {
      while (current) await (current.run?.done ?? new Promise((r) => setTimeout(r, 10)));
    },
    async close() {
      const run = current?.run;
      if (!run) return;
      run.child.kill('SIGTERM');
      const timer = setTimeout(() => run.child.kill('SIGKILL'), opts.killGraceMs ?? 5_000);
      await run.done;
      clearTimeout(timer);
    },
  };
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
