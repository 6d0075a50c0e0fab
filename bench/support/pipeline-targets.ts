// The ingest/featurize benchmark's targets, in one child process: the bare route, featurize, and ingest per event log.
// Environment: BENCH_REDIS_URL, BENCH_SINK_URL (the K_SINK peer), BENCH_LOG_DIR, BENCH_KAFKA (optional:
// JSON of name → brokers, one ingest target `ingest-<name>` each, e.g. {"mock":"127.0.0.1:9092"}).
import { rm } from 'node:fs/promises';
import { featurizeFunction } from '../../functions/featurize/function.ts';
import { ingestFunction } from '../../functions/ingest/function.ts';
import { defaultConfig } from '../../shared/config/index.ts';
import { createFileEventLog, createKafkaEventLog, type EventLog } from '../../shared/log/index.ts';
import { createLogger, httpSinkFromConfig } from '../../shared/runtime/index.ts';
import { createRedisStore } from '../../shared/store/index.ts';
import { startBareRoute } from './bare-route.ts';
import { announceReady } from './child.ts';
import { targetServer } from './serve-target.ts';

const env = (name: string): string => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};
const redisUrl = env('BENCH_REDIS_URL');
const sinkUrl = env('BENCH_SINK_URL');
const logDir = env('BENCH_LOG_DIR');
const kafka = JSON.parse(process.env.BENCH_KAFKA ?? '{}') as Record<string, string>;
const log = createLogger({ name: 'bench-target', level: 'warn' });
const config = defaultConfig();
const store = () => createRedisStore({ url: redisUrl, timeoutMs: config.DEPENDENCY_TIMEOUT_MS, log });

const server = targetServer(log);
const start = server.start;

/** ingest as main.ts wires it, with the given event log and K_SINK at the peer. */
function ingest(eventLog: EventLog) {
  return ingestFunction({
    store: createRedisStore({
      url: redisUrl,
      timeoutMs: config.DEPENDENCY_TIMEOUT_MS,
      log,
      autoPipelining: true,
    }),
    eventLog,
    sink: httpSinkFromConfig(config, sinkUrl),
    config,
  });
}

const bare = await startBareRoute();
const urls: Record<string, string> = {
  bare: bare.url,
  featurize: await start(featurizeFunction({ store: store(), config })),
  'ingest-file': await start(ingest(createFileEventLog({ dataDir: logDir, topic: 'bench', log }))),
};
for (const [name, brokers] of Object.entries(kafka)) {
  const eventLog = createKafkaEventLog({
    brokers: brokers.split(','),
    topic: 'bench',
    clientId: `bench-ingest-${name}`,
    timeoutMs: config.DEPENDENCY_TIMEOUT_MS,
    log,
  });
  urls[`ingest-${name}`] = await start(ingest(eventLog));
}

announceReady(urls, async () => {
  await server.close();
  await bare.close();
  await rm(logDir, { recursive: true, force: true });
});
