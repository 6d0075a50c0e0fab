// Configuration: every environment variable Flywheel reads, parsed once with zod; the only module that reads process.env.
import { z } from 'zod';
import { parseRedisUrl } from '../store/redis-url.ts';

const int = (def: number) => z.coerce.number().int().nonnegative().default(def);
/** `true` or `false` (any case); anything else is refused rather than read as false. */
const bool = (def: boolean) =>
  z
    .string()
    .trim()
    .toLowerCase()
    .pipe(z.enum(['true', 'false']))
    .transform((v) => v === 'true')
    .default(def);
const num = (def: number) => z.coerce.number().finite().nonnegative().default(def);
const optionalUrl = z
  .string()
  .trim()
  .transform((v) => (v === '' ? undefined : v))
  .pipe(z.url().optional())
  .optional();
const optionalText = z
  .string()
  .trim()
  .transform((v) => (v === '' ? undefined : v))
  .optional();
/** REDIS_URL: `redis://` or `rediss://` for one server, `redis+cluster://host:port,host:port` for a cluster. */
const redisUrl = optionalText.superRefine((v, ctx) => {
  if (v === undefined) return;
  try {
    parseRedisUrl(v);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
  }
});
const jsonOf = <S extends z.ZodType>(schema: S, def: z.input<S>) =>
  z
    .string()
    .default(JSON.stringify(def))
    .transform((text, ctx) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'must be JSON' });
        return z.NEVER;
      }
    })
    .pipe(schema);

const TolerationSchema = z.object({
  key: z.string().optional(),
  operator: z.enum(['Exists', 'Equal']).optional(),
  value: z.string().optional(),
  effect: z.enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute']).optional(),
});

/** Every variable with its default; the README's configuration table documents the same list. */
export const ConfigSchema = z.object({
  PORT: int(8080),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  K_SINK: optionalUrl,
  K_SERVICE: optionalText,
  REDIS_URL: redisUrl,
  KAFKA_BROKERS: optionalText,
  KAFKA_TOPIC: z.string().min(1).default('flywheel.events'),
  KAFKA_CLIENT_ID: z.string().min(1).default('flywheel'),
  KAFKA_PARTITIONS: z.coerce.number().int().min(1).default(4),
  KAFKA_REPLICATION_FACTOR: z.coerce.number().int().min(1).optional(),
  KAFKA_RETENTION_MS: z.coerce.number().int().min(-1).default(-1),
  KAFKA_CREATE_TOPIC: bool(true),
  FLYWHEEL_DATA_DIR: z.string().min(1).default('.flywheel'),
  FILE_LOG_FSYNC: bool(true),
  MAX_BODY_BYTES: int(1024 * 1024),
  SHUTDOWN_GRACE_MS: int(10_000),
  SINK_RETRIES: int(3),
  SINK_BACKOFF_MS: int(100),
  SINK_TIMEOUT_MS: int(2_000),
  SINK_MAX_CONNECTIONS: int(64),
  DEPENDENCY_TIMEOUT_MS: int(1_000),
  MAX_CLOCK_SKEW_MS: int(5 * 60_000),
  // ingest's in-progress claim: renewed every third of it, so at least 1 s to leave room for a store round trip.
  INGEST_CLAIM_TTL_MS: z.coerce.number().int().min(1000).default(5_000),
  // How long ingest's first event of a group waits for others before one append (0: the current event-loop turn).
  INGEST_LINGER_MS: z.coerce.number().int().min(0).max(1_000).default(0),
  ALLOWED_LATENESS_MS: int(60 * 60_000),
  MODEL_ALIAS_TTL_MS: int(5_000),
  MODEL_LOAD_TIMEOUT_MS: int(5_000),
  DRIFT_WINDOW_SIZE: int(500),
  DRIFT_WINDOW_MS: int(5 * 60_000),
  DRIFT_MIN_WINDOW_SIZE: int(200),
  DRIFT_PSI_THRESHOLD: num(0.2),
  DRIFT_CONSECUTIVE_WINDOWS: int(3),
  DRIFT_FEATURE_SHARE: num(0.25),
  DRIFT_COOLDOWN_MS: int(30 * 60_000),
  DRIFT_ALPHA: num(0.01),
  DRIFT_WASSERSTEIN_THRESHOLD: num(0.1),
  DRIFT_JS_THRESHOLD: num(0.1),
  TRAINING_EXECUTOR: z.enum(['local', 'kubernetes']).default('local'),
  TRAINING_BACKEND: z.enum(['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu']).default('auto'),
  CUDA_VISIBLE_DEVICES: optionalText,
  FLYWHEEL_CODE_VERSION: z.string().min(1).default('dev'),
  KUBECONFIG: optionalText,
  TRAINING_NAMESPACE: z.string().min(1).default('flywheel'),
  TRAINING_IMAGE: z.string().min(1).default('ghcr.io/flywheel-dev/flywheel-trainer:latest'),
  TRAINING_GPU_COUNT: int(1),
  TRAINING_NODE_SELECTOR: jsonOf(z.record(z.string(), z.string()), { 'nvidia.com/gpu.present': 'true' }),
  TRAINING_TOLERATIONS: jsonOf(z.array(TolerationSchema), [
    { key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' },
  ]),
  TRAINING_BACKOFF_LIMIT: int(2),
  TRAINING_DEADLINE_SECONDS: int(3600),
  TRAINING_TTL_SECONDS: int(86_400),
  TRAINING_CONFIGMAP: z.string().min(1).default('flywheel-config'),
  TRAINING_SECRET: z.string().min(1).default('flywheel-secrets'),
  TRAINING_LOOKBACK_MS: int(30 * 24 * 3_600_000),
  TRAINING_LABEL_MATURITY_MS: int(24 * 3_600_000),
  TRAINING_MAX_RUNS: int(2),
  TRAINING_MAX_QUEUED: int(16),
  TRAINING_RETRY_BACKOFF_MS: int(1_000),
  TRAINING_RETRY_BACKOFF_MAX_MS: int(60_000),
  FLYWHEEL_PORT_BASE: int(8080),
  // Where `flywheel send` posts rows (default: the local loop's ingest, FLYWHEEL_PORT_BASE + 1).
  FLYWHEEL_INGEST_URL: optionalUrl,
  BROKER_QUEUE_CAPACITY: int(5000),
  BROKER_CONCURRENCY: int(8),
  PROMOTE_TOKEN: optionalText,
  // The registry's read API (promote's GET routes); PROMOTE_TOKEN reads too.
  REGISTRY_READ_TOKEN: optionalText,
  // The `flywheel models` / `flywheel status` client: the promote function's URL (default: the local loop's) and
  // its tokens (default: the ones the local loop wrote to its data dir).
  FLYWHEEL_URL: optionalUrl,
  FLYWHEEL_TOKEN: optionalText,
  FLYWHEEL_PROMOTE_TOKEN: optionalText,
  PROMOTE_AUC_MARGIN: num(0.005),
  PROMOTE_BRIER_MARGIN: num(0.005),
  PROMOTE_LATENCY_RATIO: z.coerce.number().min(1).default(1.5),
  PROMOTE_LATENCY_BUDGET_MS: num(50),
  PROMOTE_MIN_AUC: num(0.7),
  PROMOTE_MIN_SILHOUETTE: z.coerce.number().min(-1).max(1).default(0.25),
  PROMOTE_MIN_HOLDOUT_ROWS: int(100),
});

export type Config = z.infer<typeof ConfigSchema>;

/** Raised when the environment does not parse; its message lists every bad variable. */
export class ConfigError extends Error {}

/** Parses the environment once at start-up; throws ConfigError with a readable list of problems. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const result = ConfigSchema.safeParse(env);
  if (!result.success) {
    throw new ConfigError(`invalid configuration:\n${z.prettifyError(result.error)}`, {
      cause: result.error,
    });
  }
  return result.data;
}

/** The configuration with every default, for tests and tools that start functions in-process. */
export function defaultConfig(overrides: Record<string, string> = {}): Config {
  return loadConfig(overrides);
}
