// Starting a function as its own process (what each main.ts does): config, logger, sink, serve on PORT, signals.
import { type Config, ConfigError, loadConfig } from '../config/index.ts';
import type { EventType } from '../events/index.ts';
import { createLogger, type Logger } from './logger.ts';
import { type RunningFunction, serve, type FunctionDefinition } from './server.ts';
import { createHttpSink, type Sink } from './sink.ts';

export interface BootContext {
  config: Config;
  log: Logger;
}

/** Loads config (exiting with a readable message when it is wrong), builds the function and serves it on PORT. */
export async function boot<A extends EventType>(
  name: string,
  build: (ctx: BootContext) => Promise<FunctionDefinition<A>>,
): Promise<RunningFunction> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    process.stderr.write(`${name}: ${err instanceof ConfigError ? err.message : String(err)}\n`);
    process.exit(2);
  }
  const log = createLogger({ name, level: config.LOG_LEVEL });
  process.on('unhandledRejection', (err) => log.error({ err }, 'unhandled rejection'));
  const def = await build({ config, log });
  return serve(def, {
    port: config.PORT,
    log,
    maxBodyBytes: config.MAX_BODY_BYTES,
    shutdownGraceMs: config.SHUTDOWN_GRACE_MS,
    handleSignals: true,
  });
}

/** The K_SINK publisher from config; without K_SINK, a sink that drops events and says so once. */
export function sinkFromConfig(config: Config, log: Logger): Sink {
  if (config.K_SINK) return httpSinkFromConfig(config, config.K_SINK);
  log.warn('K_SINK is not set: published events are dropped (a SinkBinding sets it in the cluster)');
  return { publish: async () => {} };
}

/** A sink posting to `url` with the SINK_* settings of config (retries, backoff, timeout, connections). */
export function httpSinkFromConfig(
  config: Pick<Config, 'SINK_RETRIES' | 'SINK_BACKOFF_MS' | 'SINK_TIMEOUT_MS' | 'SINK_MAX_CONNECTIONS'>,
  url: string,
): Sink {
  return createHttpSink({
    url,
    retries: config.SINK_RETRIES,
    backoffMs: config.SINK_BACKOFF_MS,
    timeoutMs: config.SINK_TIMEOUT_MS,
    maxConnections: config.SINK_MAX_CONNECTIONS,
  });
}
