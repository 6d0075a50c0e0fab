// ingest's process: wiring only (config → store, log, sink → serve).
import { eventLogFromConfig } from '../../shared/log/index.ts';
import { boot, sinkFromConfig } from '../../shared/runtime/index.ts';
import { storeFromConfig } from '../../shared/store/index.ts';
import { ingestFunction } from './function.ts';

await boot('ingest', async ({ config, log }) => {
  const store = storeFromConfig(config, log, { autoPipelining: true });
  const eventLog = eventLogFromConfig(config, log);
  return ingestFunction({ store, eventLog, sink: sinkFromConfig(config, log), config });
});
