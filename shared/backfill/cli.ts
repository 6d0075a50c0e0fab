// `flywheel backfill`: rebuilds a feature-set version's online state from the event log (see args.ts for usage).
import { ConfigError, loadConfig } from '../config/index.ts';
import { FlywheelError, isRetriable } from '../errors/index.ts';
import { customerFeatures, type FeatureSet } from '../features/index.ts';
import { eventLogFromConfig } from '../log/index.ts';
import { createLogger } from '../runtime/logger.ts';
import { createStore } from '../store/index.ts';
import { parseBackfillArgs, USAGE } from './args.ts';
import { type BackfillOutcome, runBackfill } from './backfill.ts';
import { formatDuration, type ProgressStream, progressReporter, rates } from './progress.ts';
import { readCheckpoint } from './records.ts';

/** EX_TEMPFAIL: a dependency failed; the same command may succeed later (and resumes where this one stopped). */
export const BACKFILL_EXIT_RETRIABLE = 75;
/** 128 + SIGINT: stopped by the user or SIGTERM; the checkpoint holds what was done. */
export const BACKFILL_EXIT_INTERRUPTED = 130;

/** The feature-set versions this code defines; `--feature-set` must name one of them. */
export const KNOWN_FEATURE_SETS: readonly FeatureSet[] = [customerFeatures];

export interface BackfillCliIo {
  env?: NodeJS.ProcessEnv;
  /** The final summary. */
  out?: (line: string) => void;
  /** Progress and errors (stderr). */
  err?: ProgressStream;
  /** Stops the run after its chunks in progress, as SIGINT does. */
  signal?: AbortSignal;
  featureSets?: readonly FeatureSet[];
}

/** Runs `flywheel backfill` and returns the exit code; SIGINT and SIGTERM stop it cleanly with a checkpoint. */
export async function runBackfillCli(argv: readonly string[], io: BackfillCliIo = {}): Promise<number> {
  const out = io.out ?? ((line: string) => console.log(line));
  const err = io.err ?? process.stderr;
  const fail = (code: number, message: string) => {
    err.write(`error: ${message}\n`);
    return code;
  };
  const args = parseBackfillArgs(argv, io.featureSets ?? KNOWN_FEATURE_SETS);
  switch (args.kind) {
    case 'help':
      out(USAGE);
      return 0;
    case 'usage':
      err.write(`${USAGE.split('\n')[0]}\n`);
      return fail(2, args.message);
    case 'run':
      break;
  }
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(io.env ?? process.env);
  } catch (e) {
    if (e instanceof ConfigError) return fail(2, e.message);
    throw e;
  }
  if (!config.REDIS_URL) {
    return fail(
      2,
      'REDIS_URL is not set: the embedded store lives inside each process, so there is nothing to fill',
    );
  }
  const log = createLogger({
    name: 'backfill',
    level: config.LOG_LEVEL === 'info' ? 'warn' : config.LOG_LEVEL,
  });
  // a backfill keeps the store and the log busy: allow more than a request's per-call bound
  const timeoutMs = Math.max(config.DEPENDENCY_TIMEOUT_MS, 10_000);
  const store = createStore({ redisUrl: config.REDIS_URL, timeoutMs, log });
  const eventLog = eventLogFromConfig(config, log, { clientSuffix: '-backfill', timeoutMs });
  const stop = new AbortController();
  const onSignal = () => {
    err.write('\nstopping after the chunks in progress…\n');
    stop.abort();
  };
  process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
  io.signal?.addEventListener('abort', () => stop.abort(), { once: true });
  const { featureSet, range } = args;
  const what = `${featureSet.name} version ${featureSet.version}, ${iso(range.from)} to ${iso(range.to)}`;
  try {
    if (!(await store.ping()))
      return fail(BACKFILL_EXIT_RETRIABLE, 'the online store (REDIS_URL) does not answer');
    if (!(await eventLog.ping()))
      return fail(BACKFILL_EXIT_RETRIABLE, `the event log (${eventLog.kind}) does not answer`);
    if (args.resume) {
      const checkpoint = await readCheckpoint(store, featureSet.version, range);
      if (checkpoint === null || checkpoint.done) {
        return fail(1, `--resume: no unfinished backfill of ${what}; run without --resume to start one`);
      }
    }
    const started = Date.now();
    const reporter = progressReporter({ stream: err });
    let last: Parameters<typeof reporter.update>[0] | undefined;
    const outcome: BackfillOutcome = await runBackfill({
      eventLog,
      store,
      featureSet,
      range,
      allowedLatenessMs: config.ALLOWED_LATENESS_MS,
      chunkSize: args.chunkSize,
      restart: args.restart,
      signal: stop.signal,
      onProgress: (p) => {
        last = p;
        reporter.update(p);
      },
      log,
    });
    if (last) reporter.finish(last);
    const c = outcome.checkpoint.counts;
    const counts = `${c.applied} applied, ${c.duplicates} duplicates, ${c.invalid} invalid, ${c.read} records read`;
    switch (outcome.kind) {
      case 'already-complete':
        out(
          `backfill of ${what} already completed at ${iso(outcome.checkpoint.updatedAt)} (${counts}); --restart replays it`,
        );
        return 0;
      case 'stopped':
        out(`backfill of ${what} stopped (${counts} so far); rerun the same command to resume`);
        return BACKFILL_EXIT_INTERRUPTED;
      case 'completed': {
        const elapsed = Date.now() - started;
        const rate = last ? Math.round(rates(last, elapsed).eventsPerSec) : 0;
        out(
          `backfill of ${what} completed${outcome.resumed ? ' (resumed)' : ''}: ${counts}, in ${formatDuration(elapsed)} (${rate} events/s)`,
        );
        return 0;
      }
    }
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    if (e instanceof FlywheelError ? e.retriable : isRetriable(e) && isConnectionError(e)) {
      return fail(BACKFILL_EXIT_RETRIABLE, `${message}; rerun the same command to resume`);
    }
    return fail(1, message);
  } finally {
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
    await Promise.allSettled([store.close(), eventLog.close()]);
  }
}

/** Node's socket errors (ECONNREFUSED…) that escape an adapter are dependency failures too. */
function isConnectionError(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^E(CONN|TIMEDOUT|PIPE|HOSTUNREACH|NOTFOUND|AI_AGAIN)/.test(code);
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.exitCode = await runBackfillCli(process.argv.slice(2));
}
