// What each role's Redis code gets from the adapter: the connection and the one wrapper every call goes through.
import type { Cluster, Redis } from 'ioredis';
import type { Subscriptions } from './redis-pubsub.ts';

export interface RedisContext {
  client: Redis | Cluster;
  /** The same connection when it is a cluster client (slot-aware paths); undefined on a single server. */
  cluster: Cluster | undefined;
  /** Runs one operation once the connection is ready, mapping every failure into the error hierarchy. */
  call<T>(op: string, fn: () => Promise<T>): Promise<T>;
  subscriptions: Subscriptions;
}
