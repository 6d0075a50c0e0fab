// The Redis online store: one server or a cluster, fail-fast, Lua, pub/sub; each role's commands are in
// redis-customers.ts and redis-roles.ts, the key layout in keys.ts. ioredis is imported by the redis-* files only.
import { Cluster, Redis, type Result } from 'ioredis';
import type { Logger } from '../runtime/logger.ts';
import {
  APPLY_CUSTOMER_EVENT,
  COMPARE_AND_SET,
  HASH_INCREMENT,
  PREVIEW_CUSTOMER_EVENT,
  READ_CUSTOMER,
  RELEASE_LOCK,
  RENEW_LOCK,
} from './lua.ts';
import type { RedisContext } from './redis-context.ts';
import { redisCustomerHistory } from './redis-customers.ts';
import { Subscriptions } from './redis-pubsub.ts';
import { clusterOptions, connectionOptions } from './redis-options.ts';
import { redisDriftWindows, redisLocks, redisRecords, redisRegistry } from './redis-roles.ts';
import { quit, ReadyGate, storeError, watch, withDeadline } from './redis-support.ts';
import { parseRedisUrl } from './redis-url.ts';
import type { OnlineStore } from './types.ts';

declare module 'ioredis' {
  interface RedisCommander<Context> {
    fwApplyCustomerEventBuffer(...args: (string | number)[]): Result<unknown, Context>;
    fwReadCustomerBuffer(...args: (string | number)[]): Result<unknown, Context>;
    fwPreviewCustomerEvent(...args: (string | number)[]): Result<unknown, Context>;
    fwCompareAndSet(...args: (string | number)[]): Result<unknown, Context>;
    fwReleaseLock(key: string, owner: string): Result<unknown, Context>;
    fwRenewLock(key: string, owner: string, ttlMs: number): Result<unknown, Context>;
    fwHashIncrement(...args: (string | number)[]): Result<unknown, Context>;
  }
}

/**
 * Options of the Redis store; `timeoutMs` bounds connecting, waiting for a reconnect, and every command (on a
 * cluster: every call, redirections and failover retries included). `url` is REDIS_URL: `redis://…` for one server,
 * `redis+cluster://host:port,host:port` for a cluster (redis-url.ts).
 */
export interface RedisStoreOptions {
  url: string;
  timeoutMs: number;
  log: Logger;
  /** Batch the commands of one event-loop turn into one write (see connectionOptions); off by default. */
  autoPipelining?: boolean;
}

/** The one place that chooses a single-server client or a cluster client for REDIS_URL. */
function connect(url: string, timeoutMs: number, autoPipelining: boolean): Redis | Cluster {
  const target = parseRedisUrl(url);
  if (target.kind === 'single') return new Redis(url, connectionOptions(timeoutMs, autoPipelining));
  return new Cluster(target.nodes, clusterOptions(target, timeoutMs, autoPipelining));
}

/** Creates the Redis store; it connects in the background and calls made meanwhile wait at most timeoutMs. */
export function createRedisStore(opts: RedisStoreOptions): OnlineStore {
  const { timeoutMs, log } = opts;
  const client = connect(opts.url, timeoutMs, opts.autoPipelining ?? false);
  const cluster = client instanceof Cluster ? client : undefined;
  client.defineCommand('fwApplyCustomerEvent', { numberOfKeys: 5, lua: APPLY_CUSTOMER_EVENT });
  client.defineCommand('fwReadCustomer', { numberOfKeys: 4, lua: READ_CUSTOMER });
  client.defineCommand('fwPreviewCustomerEvent', { numberOfKeys: 2, lua: PREVIEW_CUSTOMER_EVENT });
  client.defineCommand('fwCompareAndSet', { lua: COMPARE_AND_SET });
  client.defineCommand('fwReleaseLock', { numberOfKeys: 1, lua: RELEASE_LOCK });
  client.defineCommand('fwRenewLock', { numberOfKeys: 1, lua: RENEW_LOCK });
  client.defineCommand('fwHashIncrement', { numberOfKeys: 1, lua: HASH_INCREMENT });
  const gate = new ReadyGate({ conn: client, timeoutMs });
  watch(client, log, cluster ? 'redis cluster' : 'redis');

  // A cluster client subscribes on a connection of its own (ioredis' cluster subscriber, which moves to another
  // node and resubscribes when its node goes away); a single server gets a second connection for it.
  let subscriber: Redis | Cluster | undefined;
  const subscriptions = new Subscriptions({
    open: () => {
      if (cluster) return cluster;
      subscriber = (client as Redis).duplicate({ connectionName: 'flywheel-sub' });
      watch(subscriber, log, 'redis subscriber');
      return subscriber;
    },
    timeoutMs,
    log,
  });

  /** Runs one operation once the connection is ready, mapping every failure into the error hierarchy. */
  function call<T>(op: string, fn: () => Promise<T>): Promise<T> {
    const fail = (err: unknown): never => {
      throw storeError(op, err);
    };
    const run = cluster ? () => withDeadline(op, fn(), timeoutMs) : fn;
    if (client.status !== 'ready' || gate.isClosed) return gate.wait().then(run).catch(fail);
    try {
      return run().catch(fail);
    } catch (err) {
      return Promise.reject(storeError(op, err));
    }
  }

  const ctx: RedisContext = { client, cluster, call, subscriptions };
  const store: OnlineStore = {
    kind: 'redis',
    ...redisCustomerHistory(ctx),
    ...redisLocks(ctx),
    ...redisRecords(ctx),
    ...redisRegistry(ctx),
    ...redisDriftWindows(ctx),

    ping: async () => {
      try {
        return (await call('ping', () => client.ping())) === 'PONG';
      } catch {
        return false;
      }
    },
    close: async () => {
      gate.close();
      subscriptions.close();
      const conns = subscriber ? [client, subscriber] : [client];
      await Promise.all(conns.map((c) => quit(c)));
    },
  };
  return store;
}
