// `npm start`: the whole loop on this machine — history, first champions, live traffic, drift, retraining, promotion.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../shared/config/index.ts';
import { createFileLogger } from '../shared/runtime/index.ts';
import { bootstrapChampions } from './bootstrap.ts';
import { createSource } from './demo/source.ts';
import { dashboardRoutes } from './dashboard/routes.ts';
import { startLoop } from './loop.ts';
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
  -h, --help          this text

Environment: REDIS_URL and KAFKA_BROKERS switch to real Redis and Kafka; every other variable of the
configuration table applies (DRIFT_WINDOW_SIZE, PROMOTE_AUC_MARGIN, …). Logs go to <data-dir>/flywheel.log.`;

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
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  console.log(HELP);
  process.exit(0);
}

const dataDir = path.resolve(
  values['data-dir'] ?? path.join('.flywheel', `run-${new Date().toISOString().replace(/[:.]/g, '-')}`),
);
mkdirSync(dataDir, { recursive: true });
let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig({
    TRAINING_EXECUTOR: 'local',
    // the demo's simulated clock runs thousands of times faster than real time: a second of broker reordering is
    // an hour of event time, so the allowed lateness is widened unless set
    ALLOWED_LATENESS_MS: String(7 * 86_400_000),
    ...process.env,
    FLYWHEEL_DATA_DIR: dataDir,
    ...(values['port-base'] ? { FLYWHEEL_PORT_BASE: values['port-base'] } : {}),
  });
} catch (err) {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(2);
}
const log = createFileLogger({
  name: 'flywheel',
  level: config.LOG_LEVEL,
  file: path.join(dataDir, 'flywheel.log'),
});
const num = (k: keyof typeof values) => Number(values[k]);

const say = (line: string) => process.stdout.write(`${line}\n`);
say(
  `Flywheel local loop — data in ${path.relative(process.cwd(), dataDir)}, logs in ${path.relative(process.cwd(), path.join(dataDir, 'flywheel.log'))}`,
);
const loop = await startLoop({
  config,
  log,
  host: '0.0.0.0',
  routes: (app, snapshot) => dashboardRoutes(app, snapshot, { psiThreshold: config.DRIFT_PSI_THRESHOLD }),
});
say(
  `broker + dashboard: http://localhost:${config.FLYWHEEL_PORT_BASE}/dashboard   (functions on ports ${config.FLYWHEEL_PORT_BASE + 1}–${config.FLYWHEEL_PORT_BASE + 6})`,
);

let seenModels = 0;
const report = () => {
  const s = loop.snapshot();
  for (const e of s.models.slice(seenModels)) say(modelLine(e));
  seenModels = s.models.length;
  return s;
};
const progress = setInterval(() => say(statusLine(report())), 3000);

const source = createSource({
  brokerUrl: loop.brokerUrl,
  seed: num('seed'),
  customers: num('customers'),
  rate: num('rate'),
  durationSec: num('duration'),
  driftAfterSec: num('drift-after'),
  historyDays: num('history-days'),
  invalidShare: num('invalid-share'),
  onProgress: (p) => Object.assign(loop.state.source, p),
});

let stopping = false;
const shutdown = async () => {
  if (stopping) return;
  stopping = true;
  say('stopping…');
  source.stop();
  clearInterval(progress);
  await loop.stop();
  say('stopped.');
  process.exit(0);
};
process.on('SIGINT', () => void shutdown());
process.on('SIGTERM', () => void shutdown());

await bootstrapChampions({ loop, source, say, log });
say(`live: ${num('rate')} tx/s for ${num('duration')} s, drift after ${num('drift-after')} s (Ctrl-C stops)`);
await source.live();
report();
say(
  `live phase over: the loop keeps serving (dashboard, scoring API on :${config.FLYWHEEL_PORT_BASE + 3}); Ctrl-C stops.`,
);
