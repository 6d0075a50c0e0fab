// ingest's process: wiring only (config → store, log, sink → serve).
import { createEventLog } from '../../shared/log/index.ts';
import { boot, sinkFromConfig } from '../../shared/runtime/index.ts';
import { createStore } from '../../shared/store/index.ts';
import { ingestFunction } from './function.ts';

await boot('ingest', async ({ config, log }) => {
  const store = createStore({ redisUrl: config.REDIS_URL, timeoutMs: config.DEPENDENCY_TIMEOUT_MS, log });
  const eventLog = createEventLog({
    brokers: config.KAFKA_BROKERS,
    topic: config.KAFKA_TOPIC,
    clientId: config.KAFKA_CLIENT_ID,
    dataDir: config.FLYWHEEL_DATA_DIR,
    timeoutMs: config.DEPENDENCY_TIMEOUT_MS,
    log,
  });
  return ingestFunction({ store, eventLog, sink: sinkFromConfig(config, log), config });
});
