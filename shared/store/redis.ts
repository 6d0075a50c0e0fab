// The Redis online store (the only module that imports ioredis): one server or a cluster, fail-fast, Lua, pub/sub.
import { Cluster, Redis, type Result } from 'ioredis';
import type { Logger } from '../runtime/logger.ts';
import { claimKey, customerKeys, lockKey, prefixed } from './keys.ts';
import {
  APPLY_CUSTOMER_EVENT,
  COMPARE_AND_SET,
  HASH_INCREMENT,
  PREVIEW_CUSTOMER_EVENT,
  PUBLISH_IN_SLOT,
  READ_CUSTOMER,
  RELEASE_LOCK,
  RENEW_LOCK,
} from './lua.ts';
import { parsePreviewReply, planPreview } from './preview.ts';
import { Subscriptions } from './redis-pubsub.ts';
import { clusterOptions, connectionOptions } from './redis-options.ts';
import {
  formatScore,
  groupByNode,
  parseApplyReply,
  parseReadReply,
  quit,
  ReadyGate,
  StringListSchema,
  scoredMembers,
  storeError,
  watch,
  textReply,
  windowTreeSpec,
  withDeadline,
} from './redis-support.ts';
import { parseRedisUrl } from './redis-url.ts';
import type { CustomerState, OnlineStore } from './types.ts';
import {
  checkCompareAndSet,
  checkIncrements,
  checkIntegers,
  checkScore,
  checkSummaryQuery,
  checkTtl,
  planApply,
} from './validate.ts';

declare module 'ioredis' {
  interface RedisCommander<Context> {
    fwApplyCustomerEventBuffer(...args: (string | number)[]): Result<unknown, Context>;
    fwReadCustomerBuffer(...args: (string | number)[]): Result<unknown, Context>;
    fwPreviewCustomerEvent(...args: (string | number)[]): Result<unknown, Context>;
    fwCompareAndSet(...args: (string | number)[]): Result<unknown, Context>;
    fwReleaseLock(key: string, owner: string): Result<unknown, Context>;
    fwRenewLock(key: string, owner: string, ttlMs: number): Result<unknown, Context>;
    fwHashIncrement(...args: (string | number)[]): Result<unknown, Context>;
    fwPublishInSlot(channel: string, message: string): Result<unknown, Context>;
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
  client.defineCommand('fwPublishInSlot', { numberOfKeys: 1, lua: PUBLISH_IN_SLOT });
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

  const store: OnlineStore = {
    kind: 'redis',

    claim: async (key, ttlMs) => {
      checkTtl('ttlMs', ttlMs);
      return call('claim', async () => (await client.set(claimKey(key), '1', 'PX', ttlMs, 'NX')) === 'OK');
    },
    release: (key) => call('release', async () => void (await client.del(claimKey(key)))),

    applyCustomerEvent: async (input) => {
      const p = planApply(input);
      return call('applyCustomerEvent', () =>
        client
          .fwApplyCustomerEventBuffer(
            p.history,
            p.firstSeenKey,
            p.claim,
            p.latest,
            p.windowTree,
            String(p.eventTime),
            p.member,
            p.record,
            String(p.retentionMs),
            p.maxEvents,
            p.applyLate ? `${p.allowedLatenessMs}:apply` : String(p.allowedLatenessMs),
            p.claimTtlMs,
            p.idleTtlMs,
            windowTreeSpec(p.retentionMs),
            p.windowsMs.join(' '),
            ...p.fields,
          )
          .then((reply) => parseApplyReply(textReply(reply), p)),
      );
    },

    readCustomers: async (customerIds, query) => {
      checkSummaryQuery(query);
      const ids = [...new Set(customerIds)];
      const keys = ids.map((id) => customerKeys(id, query.version));
      return call('readCustomers', async () => {
        const args = [
          String(query.retentionMs),
          windowTreeSpec(query.retentionMs),
          query.windowsMs.join(' '),
        ];
        const replies: unknown[] = [];
        // several customers: one explicit pipeline per node (one on a single server), one round trip each, in parallel
        const readGroup = async (group: number[]) => {
          const only = group.length === 1 ? keys[group[0] ?? 0] : undefined;
          if (only) {
            replies[group[0] ?? 0] = await client.fwReadCustomerBuffer(
              only.history,
              only.firstSeen,
              only.latest,
              only.windowTree,
              ...args,
            );
            return;
          }
          const pipe = client.pipeline();
          for (const i of group) {
            const k = keys[i];
            if (k) pipe.fwReadCustomerBuffer(k.history, k.firstSeen, k.latest, k.windowTree, ...args);
          }
          ((await pipe.exec()) ?? []).forEach(([err, reply], j) => {
            if (err) throw err;
            replies[group[j] ?? 0] = reply;
          });
        };
        const groups = groupByNode(
          keys.map((k) => k.history),
          cluster?.slots,
        );
        if (groups.length === 1 && groups[0]) await readGroup(groups[0]);
        else await Promise.all(groups.map(readGroup));
        const out = new Map<string, CustomerState>();
        ids.forEach((id, i) => {
          const state = parseReadReply(textReply(replies[i]), query);
          if (state) out.set(id, state);
        });
        return out;
      });
    },

    previewCustomerEvent: async (input) => {
      const p = planPreview(input);
      return call('previewCustomerEvent', () =>
        client
          .fwPreviewCustomerEvent(
            p.history,
            p.firstSeenKey,
            String(p.eventTime),
            String(input.retentionMs),
            ...p.fields,
          )
          .then((reply) => parsePreviewReply(reply, p)),
      );
    },

    acquireLock: async (name, owner, ttlMs) => {
      checkTtl('ttlMs', ttlMs);
      return call(
        'acquireLock',
        async () => (await client.set(lockKey(name), owner, 'PX', ttlMs, 'NX')) === 'OK',
      );
    },
    releaseLock: (name, owner) =>
      call('releaseLock', async () => (await client.fwReleaseLock(lockKey(name), owner)) === 1),
    breakLock: (name) => call('breakLock', async () => (await client.del(lockKey(name))) === 1),
    renewLock: async (name, owner, ttlMs) => {
      checkTtl('ttlMs', ttlMs);
      return call('renewLock', async () => (await client.fwRenewLock(lockKey(name), owner, ttlMs)) === 1);
    },

    get: (key) => call('get', () => client.get(prefixed(key))),
    getBytes: (key) =>
      call('getBytes', async () => {
        const buf = await client.getBuffer(prefixed(key));
        return buf === null ? null : new Uint8Array(buf);
      }),
    set: async (key, value, setOpts) => {
      const data =
        typeof value === 'string' ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
      const ttlMs = setOpts?.ttlMs;
      if (ttlMs !== undefined) checkTtl('ttlMs', ttlMs);
      return call('set', async () => {
        if (ttlMs === undefined) await client.set(prefixed(key), data);
        else await client.set(prefixed(key), data, 'PX', ttlMs);
      });
    },
    del: (key) => call('del', async () => void (await client.del(prefixed(key)))),
    incr: (key) => call('incr', () => client.incr(prefixed(key))),
    compareAndSet: async (input) => {
      checkCompareAndSet(input);
      const keys =
        input.historyKey === undefined
          ? [prefixed(input.key)]
          : [prefixed(input.key), prefixed(input.historyKey)];
      return call('compareAndSet', async () => {
        const reply = await client.fwCompareAndSet(
          keys.length,
          ...keys,
          input.expected === null ? '0' : '1',
          input.expected ?? '',
          input.next,
          input.historyEntry ?? '',
          input.channel === undefined ? '' : prefixed(input.channel),
          input.notice ?? '',
        );
        return reply === 1;
      });
    },

    hset: (key, fields) =>
      call('hset', async () => {
        if (Object.keys(fields).length > 0) await client.hset(prefixed(key), fields);
      }),
    hgetall: (key) => call('hgetall', () => client.hgetall(prefixed(key))),
    hincrby: async (key, increments, incOpts) => {
      checkIncrements(increments);
      const ttlMs = incOpts?.ttlMs;
      if (ttlMs !== undefined) checkTtl('ttlMs', ttlMs);
      const entries = Object.entries(increments);
      return call('hincrby', async () => {
        const out: Record<string, number> = {};
        if (entries.length === 0) return out;
        const args = entries.flatMap(([field, by]) => [field, String(by)]);
        const values = StringListSchema.parse(
          await client.fwHashIncrement(prefixed(key), ttlMs === undefined ? '' : ttlMs, ...args),
        );
        entries.forEach(([field], i) => {
          out[field] = Number(values[i]);
        });
        return out;
      });
    },

    rpush: (key, value) => call('rpush', () => client.rpush(prefixed(key), value)),
    lrange: async (key, start, stop) => {
      checkIntegers({ start, stop });
      return call('lrange', () => client.lrange(prefixed(key), start, stop));
    },

    zadd: async (key, score, member) => {
      checkScore('score', score);
      return call('zadd', async () => void (await client.zadd(prefixed(key), formatScore(score), member)));
    },
    zrangeByScore: async (key, min, max, rangeOpts) => {
      checkScore('min', min);
      checkScore('max', max);
      const limit = rangeOpts?.limit;
      if (limit !== undefined) checkIntegers({ limit });
      const [k, lo, hi] = [prefixed(key), formatScore(min), formatScore(max)];
      return call('zrangeByScore', async () =>
        scoredMembers(
          limit === undefined
            ? await client.zrangebyscore(k, lo, hi, 'WITHSCORES')
            : await client.zrangebyscore(k, lo, hi, 'WITHSCORES', 'LIMIT', 0, limit),
        ),
      );
    },

    // On a cluster every notice of a channel goes through the master of the channel's slot, so subscribers (on any
    // node, fed over the cluster bus) see one publisher's notices in the order they were published.
    publish: (channel, message) =>
      call('publish', async () => {
        if (cluster) await cluster.fwPublishInSlot(prefixed(channel), message);
        else await client.publish(prefixed(channel), message);
      }),
    subscribe: (channel, onMessage) => subscriptions.subscribe(prefixed(channel), onMessage),

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
