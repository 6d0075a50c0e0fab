// The online stores a test runs on: a private redis-server, and the in-process memory store, each with its close().
import { createLogger } from '../../shared/runtime/index.ts';
import { createMemoryStore, createRedisStore, type OnlineStore } from '../../shared/store/index.ts';
import { startRedis } from './redis.ts';

export interface OpenedStore {
  store: OnlineStore;
  close(): Promise<void>;
}

const log = createLogger({ name: 'test-store', level: 'silent' });

/** The two backends by name: each call opens a fresh one (a redis-server of its own for 'redis'). */
export const storeBackends: readonly [string, () => Promise<OpenedStore>][] = [
  [
    'redis',
    async () => {
      const redis = await startRedis();
      const store = createRedisStore({ url: redis.url, timeoutMs: 2000, log });
      return {
        store,
        close: async () => {
          await store.close();
          await redis.stop();
        },
      };
    },
  ],
  [
    'memory',
    async () => {
      const store = createMemoryStore({ log });
      return { store, close: () => store.close() };
    },
  ],
];
