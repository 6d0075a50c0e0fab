// Connection options of the Redis store's clients, one server or a cluster: fail fast, never replay, heal by itself.
import type { RedisTarget } from './redis-url.ts';

/**
 * How a cluster client retries what a node refused without running it (MOVED/ASK, TRYAGAIN, CLUSTERDOWN, a node not
 * connected): `maxRedirections` tries spaced `delayMs` apart span about timeoutMs, so a failover shorter than the
 * dependency timeout is ridden out and a longer one surfaces as a retriable DependencyError after it.
 */
export function clusterRetryBounds(timeoutMs: number): { delayMs: number; maxRedirections: number } {
  const delayMs = Math.min(200, Math.max(10, Math.round(timeoutMs / 10)));
  return { delayMs, maxRedirections: Math.max(3, Math.floor(timeoutMs / delayMs)) };
}

/** Reconnect forever in the background, backing off to one attempt per second, so the store heals by itself. */
function retryStrategy(times: number): number {
  return Math.min(50 * 2 ** Math.min(times, 5), 1000);
}

/** Options of one connection (ioredis' RedisOptions); on a cluster, of each node's connection. */
export function connectionOptions(timeoutMs: number, autoPipelining = false) {
  return {
    enableOfflineQueue: false, // no unbounded queue while down: a call waits on the ReadyGate (bounded) or fails
    maxRetriesPerRequest: 0, // a command in flight when the connection drops fails at once...
    autoResendUnfulfilledCommands: false, // ...and is never replayed later behind the caller's back
    commandTimeout: timeoutMs,
    connectTimeout: timeoutMs,
    retryStrategy,
    // By default commands are written as they come and pipelined on the one connection. ioredis' auto-pipelining
    // (batching the calls of one event-loop turn into one write) was measured to promote its per-batch objects to
    // the old generation (27 mark-compacts in 6 s of reads vs 1 without), which set score's p99; a writer of many
    // small commands at once (ingest: four per event, a batch's events together) turns it on instead.
    enableAutoPipelining: autoPipelining,
    connectionName: 'flywheel',
  };
}

/**
 * Cluster options. ioredis retries what a node refused without running it: MOVED and ASK at once (a slot moved),
 * TRYAGAIN and CLUSTERDOWN (a failover under way) and a node that is not connected after a short delay, each time
 * refreshing its slot map; at most maxRedirections times, spaced so that they end within timeoutMs
 * (clusterRetryBounds). A command in flight when its node's connection drops fails at once and is never resent
 * (maxRetriesPerRequest 0 on each node, which reconnects by itself): it may have run. The store's deadline
 * (`call`) bounds the whole call at timeoutMs whatever ioredis does.
 */
export function clusterOptions(
  target: Extract<RedisTarget, { kind: 'cluster' }>,
  timeoutMs: number,
  autoPipelining = false,
) {
  const {
    retryStrategy: _reconnect,
    enableOfflineQueue: _queue,
    enableAutoPipelining,
    ...node
  } = connectionOptions(timeoutMs, autoPipelining);
  const bounds = clusterRetryBounds(timeoutMs);
  return {
    clusterRetryStrategy: retryStrategy, // every node gone: keep trying the seed nodes in the background
    clusterNodeRetryStrategy: retryStrategy,
    enableOfflineQueue: false,
    enableAutoPipelining, // a cluster client pipelines per node
    enableReadyCheck: true, // ready once CLUSTER INFO says cluster_state:ok
    scaleReads: 'master' as const, // replicas lag: reads must see the writes just made
    maxRedirections: bounds.maxRedirections,
    retryDelayOnMoved: 0,
    retryDelayOnFailover: bounds.delayMs,
    retryDelayOnClusterDown: bounds.delayMs,
    retryDelayOnTryAgain: bounds.delayMs,
    slotsRefreshTimeout: timeoutMs,
    redisOptions: {
      ...node,
      ...(target.username === undefined ? {} : { username: target.username }),
      ...(target.password === undefined ? {} : { password: target.password }),
      ...(target.tls ? { tls: {} } : {}),
    },
  };
}
