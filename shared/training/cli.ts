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
import { train } from './trainer.ts';

const USAGE = `usage: flywheel train --model risk|segment --from ISO --to ISO [--output result.json] [--backend wasm|cpu|tensorflow|tensorflow-gpu]

Reads the event log (KAFKA_BROKERS or the file log in FLYWHEEL_DATA_DIR) for the range, trains, checks the ONNX
export, then either writes the result to --output (local runs) or registers it in the registry (REDIS_URL) and
sends model.trained to K_SINK. A dependency that is down exits 75 (retried by the executor); any other failure
sends training.failed and exits 1.`;

/** Runs the trainer and returns the exit code. */
export async function runTrainerCli(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      model: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      output: { type: 'string' },
      backend: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help || (positionals[0] !== undefined && positionals[0] !== 'train')) {
    console.log(USAGE);
    return values.help ? 0 : 2;
  }
  const config = loadConfig();
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

if (import.meta.url === `file://${process.argv[1]}`) {
  process.exitCode = await runTrainerCli(process.argv.slice(2));
}
