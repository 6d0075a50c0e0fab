// `flywheel train`: the program a training Job (or the local executor) runs.
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/index.ts';
import { FlywheelError } from '../errors/index.ts';
import { ModelNameSchema } from '../events/index.ts';
import { customerFeatures } from '../features/index.ts';
import { eventLogFromConfig } from '../log/index.ts';
import { ModelRegistry } from '../registry/index.ts';
import { sinkFromConfig } from '../runtime/boot.ts';
import { createLogger } from '../runtime/logger.ts';
import { storeFromConfig } from '../store/index.ts';
import { parseBackendName } from './backend.ts';
import {
  modelTrained,
  registerResult,
  TRAINER_EXIT_RETRIABLE,
  trainingFailed,
  writeResult,
} from './result.ts';
import { requestTraining } from './request.ts';
import { train } from './trainer.ts';
import { brokerUrl, scoreUrl } from '../send/urls.ts';

const USAGE = `usage: flywheel train --model risk|segment --from ISO --to ISO [--output result.json] [--backend wasm|cpu|tensorflow|tensorflow-gpu]

Reads the event log (KAFKA_BROKERS or the file log in FLYWHEEL_DATA_DIR) for the range, trains, checks the ONNX
export, then either writes the result to --output (local runs) or registers it in the registry (REDIS_URL) and
sends model.trained to K_SINK. A dependency that is down exits 75 (retried by the executor); any other failure
sends training.failed and exits 1.

usage: flywheel train --model risk|segment [--since ISO [--until ISO]] [--wait] [--timeout S] [--url BROKER] [--score-url URL]

Without --from/--to: asks the running loop to train (training.requested to its broker, the local loop's by default:
http://127.0.0.1:<FLYWHEEL_PORT_BASE>/); launch-training runs the trainer and promote decides, as on drift. The
dataset is --since to --until (default now), or without --since the loop's TRAINING_LOOKBACK_MS up to now. With
--wait, prints the run's progress and exits once score (default the local loop's) serves a new champion: 0, or 1
when the run failed, was rejected or --timeout (default 900 s) passed; 3 when the broker cannot be reached. The risk
model needs fraud labels among the rows (flywheel send labels.csv); segment needs transactions only.`;

/** The command line's options; throws on an unknown option or a missing value. */
function parseTrainArgs(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      model: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      output: { type: 'string' },
      backend: { type: 'string' },
      since: { type: 'string' },
      until: { type: 'string' },
      wait: { type: 'boolean' },
      timeout: { type: 'string' },
      url: { type: 'string' },
      'score-url': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

/** Runs the trainer and returns the exit code. */
export async function runTrainerCli(argv: readonly string[]): Promise<number> {
  let parsed: ReturnType<typeof parseTrainArgs>;
  try {
    parsed = parseTrainArgs(argv);
  } catch (err) {
    console.error(`${USAGE}\n\nerror: ${(err as Error).message}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help || (positionals[0] !== undefined && positionals[0] !== 'train')) {
    console.log(USAGE);
    return values.help ? 0 : 2;
  }
  const config = loadConfig();
  if (values.from === undefined && values.to === undefined) return throughLoop(values, config);
  const loopOnly = ['since', 'until', 'wait', 'timeout', 'url', 'score-url'].filter((k) => k in values);
  if (loopOnly.length > 0) {
    console.error(
      `${USAGE}\n\nerror: --${loopOnly.join(', --')} only ask the running loop (without --from/--to)`,
    );
    return 2;
  }
  const log = createLogger({ name: 'trainer', level: config.LOG_LEVEL });
  const model = ModelNameSchema.safeParse(values.model);
  const from = Date.parse(values.from ?? '');
  const to = Date.parse(values.to ?? '');
  if (!model.success || !Number.isFinite(from) || !Number.isFinite(to) || from >= to) {
    console.error(`${USAGE}\n\nerror: --model, --from and --to (from < to) are required`);
    return 2;
  }
  const sink = sinkFromConfig(config, log);
  const eventLog = eventLogFromConfig(config, log, {
    clientSuffix: '-trainer',
    timeoutMs: Math.max(config.DEPENDENCY_TIMEOUT_MS, 10_000),
  });
  try {
    const result = await train({
      model: model.data,
      range: { from, to },
      eventLog,
      featureSet: customerFeatures,
      log,
      codeVersion: config.FLYWHEEL_CODE_VERSION,
      backend: parseBackendName(
        values.backend ?? (config.TRAINING_BACKEND === 'auto' ? undefined : config.TRAINING_BACKEND),
      ),
      cudaVisibleDevices: config.CUDA_VISIBLE_DEVICES,
      labelMaturityMs: model.data === 'risk' ? config.TRAINING_LABEL_MATURITY_MS : 0,
    });
    log.info(
      { model: result.model, metrics: result.lineage.metrics, backend: result.lineage.backend },
      'trained',
    );
    if (values.output) {
      await writeResult(values.output, result);
      return 0;
    }
    const store = storeFromConfig(config, log);
    try {
      const record = await registerResult(
        new ModelRegistry({ store, artifactDir: `${config.FLYWHEEL_DATA_DIR}/models` }),
        result,
      );
      log.info({ model: record.name, version: record.version }, 'registered');
      await sink.publish(modelTrained(record));
    } finally {
      await store.close();
    }
    return 0;
  } catch (err) {
    if (err instanceof FlywheelError && err.retriable) {
      log.warn({ err }, 'training interrupted by a dependency: the executor retries the run');
      return TRAINER_EXIT_RETRIABLE;
    }
    const reason = err instanceof Error ? err.message : String(err);
    log.error({ err }, 'training failed');
    await sink
      .publish(trainingFailed({ model: model.data, reason, jobName: process.env.FLYWHEEL_JOB_NAME }))
      .catch(() => {});
    return 1;
  } finally {
    await eventLog.close();
  }
}

/** `flywheel train` without --from/--to: training.requested to the loop's broker, and optionally a wait. */
async function throughLoop(
  values: {
    model?: string;
    since?: string;
    until?: string;
    wait?: boolean;
    timeout?: string;
    url?: string;
    'score-url'?: string;
    output?: string;
    backend?: string;
  },
  config: ReturnType<typeof loadConfig>,
): Promise<number> {
  const fail = (why: string) => {
    console.error(`${USAGE}\n\nerror: ${why}`);
    return 2;
  };
  const model = ModelNameSchema.safeParse(values.model);
  if (!model.success) return fail('--model risk or --model segment is required');
  if (values.output !== undefined || values.backend !== undefined)
    return fail('--output and --backend run the trainer here: they need --from and --to');
  const since = values.since === undefined ? undefined : Date.parse(values.since);
  const until = values.until === undefined ? Date.now() : Date.parse(values.until);
  if (since !== undefined && !Number.isFinite(since))
    return fail(`--since ${values.since}: not an ISO 8601 time`);
  if (!Number.isFinite(until)) return fail(`--until ${values.until}: not an ISO 8601 time`);
  if (values.until !== undefined && since === undefined) return fail('--until needs --since');
  if (since !== undefined && since >= until) return fail('--since must be before --until');
  const timeout = Number(values.timeout ?? 900);
  if (!(timeout > 0)) return fail(`--timeout ${values.timeout}: expected seconds above 0`);
  for (const key of ['url', 'score-url'] as const) {
    const v = values[key];
    if (v !== undefined && !URL.canParse(v)) return fail(`--${key} ${v}: not a URL`);
  }
  return requestTraining({
    model: model.data,
    brokerUrl: values.url ?? brokerUrl(config),
    scoreUrl: values['score-url'] ?? scoreUrl(config),
    range: since === undefined ? undefined : { from: since, to: Math.round(until) },
    wait: values.wait === true,
    timeoutMs: timeout * 1000,
    say: (line) => console.log(line),
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.exitCode = await runTrainerCli(process.argv.slice(2));
}
