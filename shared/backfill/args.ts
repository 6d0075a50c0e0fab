// `flywheel backfill` arguments: parsed and checked without touching anything, so every usage error exits 2 at once.
import { parseArgs } from 'node:util';
import type { FeatureSet } from '../features/index.ts';
import type { TimeWindow } from '../log/index.ts';
import { DEFAULT_CHUNK_SIZE } from './backfill.ts';

export const USAGE = `usage: flywheel backfill --from ISO --to ISO [--feature-set VERSION] [--resume | --restart] [--chunk N]

Rebuilds the online store's features from the event log: every accepted transaction with from <= time < to is
applied through featurize's own update, into the keys of the feature-set version this code defines (--feature-set
names it, to be sure the right code runs). Events already applied (by live featurize or an earlier run) are
duplicates and change nothing, so it runs beside live traffic and can be rerun. Progress is checkpointed in the
store per version and range: a rerun of the same command continues where the last one stopped, and one that
completed reports so and reads nothing (--restart replays anyway; --resume insists on an unfinished checkpoint).
Reads REDIS_URL, the event log's settings (KAFKA_BROKERS, KAFKA_TOPIC, or the file log in FLYWHEEL_DATA_DIR) and
ALLOWED_LATENESS_MS, as featurize does. Exit codes: 0 done, 2 usage error, 75 a dependency failed (retry), 130
interrupted (rerun to resume), 1 anything else.`;

export type BackfillArgs =
  | { kind: 'help' }
  | { kind: 'usage'; message: string }
  | {
      kind: 'run';
      range: TimeWindow;
      featureSet: FeatureSet;
      resume: boolean;
      restart: boolean;
      chunkSize: number;
    };

/** Parses argv; `featureSets` are the versions this code defines (the first is the default). */
export function parseBackfillArgs(argv: readonly string[], featureSets: readonly FeatureSet[]): BackfillArgs {
  let values: ReturnType<typeof parse>['values'];
  try {
    ({ values } = parse(argv));
  } catch (err) {
    return { kind: 'usage', message: (err as Error).message };
  }
  if (values.help) return { kind: 'help' };
  if (values.from === undefined || values.to === undefined) {
    return { kind: 'usage', message: '--from and --to are required' };
  }
  const from = isoTime(values.from);
  const to = isoTime(values.to);
  if (from === undefined) return { kind: 'usage', message: `--from is not an ISO-8601 time: ${values.from}` };
  if (to === undefined) return { kind: 'usage', message: `--to is not an ISO-8601 time: ${values.to}` };
  if (from >= to)
    return { kind: 'usage', message: `--from must be before --to (${values.from} >= ${values.to})` };
  const known = featureSets.map((s) => `${s.name} version ${s.version}`).join(', ');
  const featureSet =
    values['feature-set'] === undefined
      ? featureSets[0]
      : featureSets.find((s) => s.version === values['feature-set']);
  if (featureSet === undefined) {
    return {
      kind: 'usage',
      message: `unknown feature-set version ${values['feature-set']}: this code defines ${known || 'none'}`,
    };
  }
  if (values.resume && values.restart) {
    return { kind: 'usage', message: '--resume and --restart exclude each other' };
  }
  const chunkSize = values.chunk === undefined ? DEFAULT_CHUNK_SIZE : Number(values.chunk);
  if (!Number.isSafeInteger(chunkSize) || chunkSize < 1) {
    return { kind: 'usage', message: `--chunk must be a positive integer, got ${values.chunk}` };
  }
  return {
    kind: 'run',
    range: { from, to },
    featureSet,
    resume: values.resume === true,
    restart: values.restart === true,
    chunkSize,
  };
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: false,
    strict: true,
    options: {
      from: { type: 'string' },
      to: { type: 'string' },
      'feature-set': { type: 'string' },
      resume: { type: 'boolean' },
      restart: { type: 'boolean' },
      chunk: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

/** Epoch ms of an ISO-8601 date or date-time (a date alone is midnight UTC), undefined for anything else. */
function isoTime(text: string): number | undefined {
  if (!/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(text))
    return undefined;
  const t = Date.parse(text);
  return Number.isFinite(t) ? t : undefined;
}
