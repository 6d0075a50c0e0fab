// The online store: chooses Redis when REDIS_URL is configured, else the embedded in-process store.
import type { Logger } from '../runtime/logger.ts';
import { createMemoryStore } from './memory.ts';
import { createRedisStore } from './redis.ts';
import { describeTarget, parseRedisUrl } from './redis-url.ts';
import type { OnlineStore } from './types.ts';

export {
  CUSTOMER_IDLE_MARGIN_MS,
  customerKeys,
  defaultIdleTtlMs,
  KEY_PREFIX,
} from './keys.ts';
export { createMemoryStore, type MemoryStoreOptions } from './memory.ts';
export { createRedisStore, type RedisStoreOptions } from './redis.ts';
export { parseRedisUrl, type RedisTarget } from './redis-url.ts';
export type * from './types.ts';

/** Options of {@link createStore}: a Redis URL (from REDIS_URL) or nothing, the dependency timeout, the logger. */
export interface CreateStoreOptions {
  redisUrl?: string | undefined;
  timeoutMs: number;
  log: Logger;
  /** For Redis: batch the commands of one event-loop turn into one write (ingest's many small commands). */
  autoPipelining?: boolean;
}

/**
 * The store a function runs with: Redis at `redisUrl` (one server, or a cluster for `redis+cluster://`), else
 * in-process memory; the start-up log says which, with the nodes and without the password.
 */
export function createStore(opts: CreateStoreOptions): OnlineStore {
  if (opts.redisUrl === undefined || opts.redisUrl === '') {
    opts.log.info('store: embedded in-process memory (set REDIS_URL for Redis)');
    return createMemoryStore({ log: opts.log });
  }
  const target = describeTarget(parseRedisUrl(opts.redisUrl));
  opts.log.info(
    { ...target, timeoutMs: opts.timeoutMs },
    target.mode === 'cluster' ? 'store: redis cluster' : 'store: redis, single server',
  );
  return createRedisStore({
    url: opts.redisUrl,
    timeoutMs: opts.timeoutMs,
    log: opts.log,
    autoPipelining: opts.autoPipelining ?? false,
  });
}

/** The store the configuration names (REDIS_URL, DEPENDENCY_TIMEOUT_MS): what every main.ts and tool starts with. */
export function storeFromConfig(
  config: { REDIS_URL?: string | undefined; DEPENDENCY_TIMEOUT_MS: number },
  log: Logger,
  opts: Pick<CreateStoreOptions, 'autoPipelining'> = {},
): OnlineStore {
  return createStore({ redisUrl: config.REDIS_URL, timeoutMs: config.DEPENDENCY_TIMEOUT_MS, log, ...opts });
}
