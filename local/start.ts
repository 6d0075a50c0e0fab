// `npm start`: the whole loop on this machine — history, first champions, live traffic, drift, retraining, promotion.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { ConfigError, defaultConfig, loadConfig } from '../shared/config/index.ts';
import { writeLoopPointer } from '../shared/registry/local-access.ts';
import { createFileLogger } from '../shared/runtime/index.ts';
import { bootstrapChampions } from './bootstrap.ts';
import { dashboardRoutes } from './dashboard/routes.ts';
import { createSource, type Source } from './demo/source.ts';
import { type Loop, startLoop } from './loop.ts';
import { ownDataLines } from './own-data.ts';
import { modelLine, statusLine } from './progress.ts';

const HELP = `npm start [-- options]   the whole Flywheel loop on this machine

  --rate N            live transactions per second (default 20)
  --duration S        seconds of live traffic (default 600); the simulated clock reaches now at the end
  --drift-after S     seconds into the live phase when prices rise and the merchant mix shifts (default 60)
  --seed N            seed of the synthetic customers and transactions (default 7)
  --customers N       synthetic customers (default 300)
  --history-days N    days of history replayed to train the first champions (default 45; the first 30 warm the windows up)
  --invalid-share X   share of live events sent broken on purpose, to show the dead-letter sink (default 0.002)
  --data-dir DIR      where the file log, models, dead letters and logs go (default .flywheel/run-<time>)
  --port-base N       the broker and dashboard port; functions take the next six (default FLYWHEEL_PORT_BASE or 8080)
  --host ADDR         the address the broker, dashboard and functions listen on (default 127.0.0.1; 0.0.0.0 for all)
  --no-demo           no demo source: start the loop and wait for your own events (flywheel send), with no history
                      replay, no first champions and no synthetic traffic (flywheel train asks for champions)
  -h, --help          this text

Environment: REDIS_URL and KAFKA_BROKERS switch to real Redis and Kafka; the other variables of the configuration
table apply too (DRIFT_WINDOW_SIZE, PROMOTE_AUC_MARGIN, …), except TRAINING_EXECUTOR: this loop always trains
with the local trainer, a child process. Logs go to <data-dir>/flywheel.log.`;

const number = (what: string) => z.coerce.number({ error: `expected ${what}` });
/** The options after parseArgs: numbers checked here, so a typo stops the start instead of streaming nothing. */
const OptionsSchema = z.object({
  rate: number('a number above 0').positive({ error: 'expected a number above 0' }),
  duration: number('seconds above 0').positive({ error: 'expected seconds above 0' }),
  'drift-after': number('seconds, 0 or more').nonnegative({ error: 'expected seconds, 0 or more' }),
  seed: number('an integer').int({ error: 'expected an integer' }),
  customers: number('a whole number above 0').int().positive({ error: 'expected a whole number above 0' }),
  'history-days': number('days above 0').positive({ error: 'expected days above 0' }),
  'invalid-share': number('a share from 0 to 1').min(0).max(1, { error: 'expected a share from 0 to 1' }),
  'data-dir': z.string().min(1, { error: 'expected a directory' }).optional(),
  'port-base': number('a port').int().min(1).max(65_529, { error: 'expected a port up to 65529' }).optional(),
  host: z.string().min(1, { error: 'expected an address' }),
  'no-demo': z.boolean().optional(),
  help: z.boolean().optional(),
});

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** Parses and checks the command line; a readable line and exit status 2 for anything it cannot use. */
function readOptions(): z.infer<typeof OptionsSchema> {
  try {
    const { values } = parseArgs({
      options: {
        rate: { type: 'string', default: '20' },
        duration: { type: 'string', default: '600' },
        'drift-after': { type: 'string', default: '60' },
        seed: { type: 'string', default: '7' },
        customers: { type: 'string', default: '300' },
        'history-days': { type: 'string', default: '45' },
        'invalid-share': { type: 'string', default: '0.002' },
        'data-dir': { type: 'string' },
        'port-base': { type: 'string' },
        host: { type: 'string', default: '127.0.0.1' },
        'no-demo': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    const parsed = OptionsSchema.safeParse(values);
    if (parsed.success) return parsed.data;
    const issue = parsed.error.issues[0];
    const key = String(issue?.path[0] ?? '');
    const given = (values as Record<string, unknown>)[key];
    throw new Error(`--${key} ${JSON.stringify(given)}: ${issue?.message ?? 'invalid'}`);
  } catch (err) {
    const line = message(err).replace(/\s*\n\s*/g, ' ');
    console.error(`npm start: ${line} (npm start -- --help lists the options)`);
    process.exit(2);
  }
}

const options = readOptions();
if (options.help) {
  console.log(HELP);
  process.exit(0);
}

const dataDir = path.resolve(
  options['data-dir'] ?? path.join('.flywheel', `run-${new Date().toISOString().replace(/[:.]/g, '-')}`),
);
mkdirSync(dataDir, { recursive: true });
const env = {
  // the demo's simulated clock runs thousands of times faster than real time, and a file sent with flywheel send
  // spans weeks in seconds: a second of broker reordering is hours of event time, so the allowed lateness is
  // widened unless set
  ALLOWED_LATENESS_MS: String(7 * 86_400_000),
  ...process.env,
  FLYWHEEL_DATA_DIR: dataDir,
  ...(options['port-base'] === undefined ? {} : { FLYWHEEL_PORT_BASE: String(options['port-base']) }),
};
let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig(env);
} catch (err) {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(2);
}
const log = createFileLogger({
  name: 'flywheel',
  level: config.LOG_LEVEL,
  file: path.join(dataDir, 'flywheel.log'),
});

const say = (line: string) => process.stdout.write(`${line}\n`);
say(
  `Flywheel local loop — data in ${path.relative(process.cwd(), dataDir)}, logs in ${path.relative(process.cwd(), path.join(dataDir, 'flywheel.log'))}`,
);
if (config.TRAINING_EXECUTOR !== 'local')
  say(
    `TRAINING_EXECUTOR=${config.TRAINING_EXECUTOR} is ignored: this loop always trains with the local trainer`,
  );

let loop: Loop | undefined;
let source: Source | undefined;
let progress: NodeJS.Timeout | undefined;
let stopping = false;
/** Stops the source and the loop (whatever of them started) and exits with `code`. */
const shutdown = async (code: number): Promise<void> => {
  if (stopping) return;
  stopping = true;
  say('stopping…');
  source?.stop();
  clearInterval(progress);
  try {
    await loop?.stop();
    say('stopped.');
  } catch (err) {
    console.error(`npm start: stopping failed: ${message(err)}`);
    log.error({ err }, 'stopping failed');
    process.exit(code === 0 ? 1 : code);
  }
  process.exit(code);
};
process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));

try {
  const running = await startLoop({
    config,
    env,
    log,
    host: options.host,
    routes: (app, snapshot) => dashboardRoutes(app, snapshot, { psiThreshold: config.DRIFT_PSI_THRESHOLD }),
  });
  loop = running;
  await writeLoopPointer(running.access);
  const ports = Object.values(running.urls).map((u) => Number(new URL(u).port));
  say(
    `broker + dashboard: ${running.brokerUrl}dashboard   (functions on ports ${Math.min(...ports)}–${Math.max(...ports)})`,
  );

  let seenModels = 0;
  const report = () => {
    for (const e of running.state.modelsSince(seenModels)) say(modelLine(e));
    seenModels = running.state.modelSeq;
    return running.snapshot();
  };
  progress = setInterval(() => say(statusLine(report())), 3000);

  if (options['no-demo']) {
    // the servers keep the process alive; the progress line shows what arrives
    const lines = await ownDataLines(running, config.FLYWHEEL_PORT_BASE, defaultConfig().FLYWHEEL_PORT_BASE);
    for (const line of lines) say(line);
    say('waiting for events (Ctrl-C stops)');
  } else {
    const live = createSource({
      brokerUrl: running.brokerUrl,
      seed: options.seed,
      customers: options.customers,
      rate: options.rate,
      durationSec: options.duration,
      driftAfterSec: options['drift-after'],
      historyDays: options['history-days'],
      invalidShare: options['invalid-share'],
      onProgress: (p) => Object.assign(running.state.source, p),
    });
    source = live;

    await bootstrapChampions({ loop: running, source: live, say });
    say(
      `live: ${options.rate} tx/s for ${options.duration} s, drift after ${options['drift-after']} s (Ctrl-C stops)`,
    );
    await live.live();
    report();
    say(
      `live phase over: the loop keeps serving (dashboard, scoring API on ${running.urls.score}); Ctrl-C stops.`,
    );
  }
} catch (err) {
  // after Ctrl-C, a request the stopping broker refused is no failure
  if (!stopping) {
    console.error(`npm start: ${message(err)}`);
    log.error({ err }, 'npm start failed');
    await shutdown(1);
  }
}
