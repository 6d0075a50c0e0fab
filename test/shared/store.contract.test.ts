// One contract suite for the online store, run unchanged against the in-process store, a private redis-server and a
// private Redis Cluster (three masters, one replica each).
import { after, before, describe } from 'node:test';
import { createLogger } from '../../shared/runtime/logger.ts';
import { createMemoryStore, createRedisStore, type OnlineStore } from '../../shared/store/index.ts';
import { type RedisServer, startRedis } from '../support/redis.ts';
import { type RedisCluster, startRedisCluster } from '../support/redis-cluster.ts';
import { customerContract } from './store/contract-customer.ts';
import { rolesContract } from './store/contract-roles.ts';
import type { StoreSubject } from './store/contract-support.ts';

const log = createLogger({ name: 'store-test', level: 'silent' });

function contract(subject: StoreSubject): void {
  customerContract(subject);
  rolesContract(subject);
}

describe('OnlineStore contract: memory', () => {
  let store: OnlineStore | undefined;
  const open = async () => createMemoryStore({ log });
  before(async () => {
    store = await open();
  });
  after(() => store?.close());
  contract({ name: 'memory', store: () => required(store), open });
});

describe('OnlineStore contract: redis', () => {
  let server: RedisServer | undefined;
  let store: OnlineStore | undefined;
  const open = async () => createRedisStore({ url: required(server).url, timeoutMs: 2000, log });
  before(async () => {
    server = await startRedis();
    store = await open();
  });
  after(async () => {
    await store?.close();
    await server?.stop();
  });
  contract({ name: 'redis', store: () => required(store), open });
});

describe('OnlineStore contract: redis cluster', () => {
  let cluster: RedisCluster | undefined;
  let store: OnlineStore | undefined;
  const open = async () => createRedisStore({ url: required(cluster).url, timeoutMs: 2000, log });
  before(async () => {
    cluster = await startRedisCluster();
    store = await open();
  });
  after(async () => {
    await store?.close();
    await cluster?.stop();
  });
  contract({ name: 'redis cluster', store: () => required(store), open });
});

function required<T>(value: T | undefined): T {
  if (value === undefined) throw new Error('the store was not opened (see the before hook)');
  return value;
}
