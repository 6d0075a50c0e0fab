// The Redis adapter's window tree: on histories long enough to use it, every answer equals the memory store's (which
// summarises the events themselves), the stored nodes are exactly the tree of the stored history, and a summary's
// reply stays small however long the history.
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { after, before, describe, it } from 'node:test';
import {
  type Moments,
  treeMoments,
  nodeName,
  WINDOW_LEAF_MS,
  windowTreeTop,
} from '../../../shared/features/windows.ts';
import { seededRandom as random } from '../../../shared/random/index.ts';
import { createLogger } from '../../../shared/runtime/logger.ts';
import { customerKeys, MEMBER_JOIN, parseJoinedMembers } from '../../../shared/store/keys.ts';
import { WINDOW_TREE_FROM } from '../../../shared/store/redis-support.ts';
import {
  type CustomerEventInput,
  createMemoryStore,
  createRedisStore,
  type OnlineStore,
} from '../../../shared/store/index.ts';
import { type RedisServer, redisCommand, startRedis } from '../../support/redis.ts';
import { T0, unique } from './contract-support.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const RETENTION_MS = 6 * 24 * HOUR;
/** Windows across many leaves, one inside a single leaf, one ending on no leaf boundary. */
const WINDOWS_MS = [RETENTION_MS, 24 * HOUR, HOUR + 17, 45 * MINUTE];

/**
 * 1400 updates over 2 customers across ~10 days: times out of order by up to the allowed lateness (many on leaf
 * boundaries and equal), redeliveries, too-late events, trimming by time and by count.
 */
function stream(seed: number, prefix: string): CustomerEventInput[] {
  const rnd = random(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
  const events: CustomerEventInput[] = [];
  for (let i = 0; i < 1400; i++) {
    if (events.length > 0 && rnd() < 0.1) {
      events.push(pick(events));
      continue;
    }
    const onBoundary = rnd() < 0.2;
    const base = T0 + i * 10 * MINUTE - Math.floor(rnd() * 40) * 15 * MINUTE;
    events.push({
      customerId: `${prefix}-${pick(['a', 'b'])}`,
      eventKey: `e-${i}`,
      eventTime: onBoundary ? Math.floor(base / WINDOW_LEAF_MS) * WINDOW_LEAF_MS : base,
      orderKey: pick(['a', 'b', 'é', '😀']),
      value: rnd() < 0.1 ? 0 : (rnd() - 0.2) * 1e4,
      record: `r${i}`,
      retentionMs: RETENTION_MS,
      windowsMs: WINDOWS_MS,
      maxEvents: 600,
      allowedLatenessMs: 9 * HOUR,
      claimTtlMs: 600_000,
      firstSeen: [],
    });
  }
  return events;
}

/** The tree of a stored history, recomputed here from its members: node name -> moments. */
async function expectedTree(port: number, customerId: string): Promise<Map<string, Moments>> {
  const members = (await redisCommand(port, [
    'ZRANGE',
    customerKeys(customerId).history,
    '0',
    '-1',
  ])) as string[];
  const series = parseJoinedMembers(members.join(MEMBER_JOIN));
  const out = new Map<string, Moments>();
  const top = windowTreeTop(RETENTION_MS);
  for (let level = 0; level <= top; level++) {
    const span = WINDOW_LEAF_MS * 2 ** level;
    const indexes = new Set(Array.from(series.times, (t) => Math.floor(t / span)));
    for (const index of indexes) {
      let from = 0;
      while ((series.times[from] as number) < index * span) from++;
      let to = from;
      while (to < series.times.length && (series.times[to] as number) < (index + 1) * span) to++;
      out.set(nodeName(level, index), treeMoments(series, from, to));
    }
  }
  return out;
}

/** The stored tree: node name -> moments (seven little-endian doubles), and `cfg` as text. */
async function storedTree(redis: Redis, customerId: string): Promise<Map<string, Moments | string>> {
  const flat = await redis.hgetallBuffer(customerKeys(customerId).windowTree);
  const out = new Map<string, Moments | string>();
  for (const [name, value] of Object.entries(flat)) {
    if (name === 'cfg') {
      out.set(name, value.toString('utf8'));
      continue;
    }
    assert.equal(value.length, 56, `node ${name} holds seven doubles`);
    const [count, sum, mean, m2, min, max, last] = Array.from({ length: 7 }, (_, i) =>
      value.readDoubleLE(i * 8),
    );
    out.set(name, { count, sum, mean, m2, min, max, last } as Moments);
  }
  return out;
}

describe('the Redis window tree', () => {
  let server: RedisServer;
  let redis: OnlineStore;
  let memory: OnlineStore;
  let raw: Redis;
  const log = createLogger({ name: 'window-tree', level: 'silent' });
  before(async () => {
    server = await startRedis();
    raw = new Redis(server.url);
    redis = createRedisStore({ url: server.url, timeoutMs: 5000, log });
    memory = createMemoryStore({ log });
  });
  after(async () => {
    raw.disconnect();
    await memory.close();
    await redis.close();
    await server.stop();
  });

  for (const seed of [11, 12]) {
    it(`answers like the memory store and keeps the tree of its history (seed ${seed})`, async () => {
      const events = stream(seed, unique('tree'));
      const kinds = new Map<string, number>();
      let long = 0;
      for (const [i, e] of events.entries()) {
        const [m, r] = [await memory.applyCustomerEvent(e), await redis.applyCustomerEvent(e)];
        assert.deepEqual(r, m, `update ${i} (${e.eventKey})`);
        kinds.set(m.kind, (kinds.get(m.kind) ?? 0) + 1);
        if (m.kind !== 'too-late' && (m.prior.windows[0]?.count ?? 0) > WINDOW_TREE_FROM + 10) long++;
      }
      assert.deepEqual([...kinds.keys()].sort(), ['applied', 'duplicate', 'too-late']);
      assert.ok(
        long > 300,
        `${long} updates had more than ${WINDOW_TREE_FROM} earlier events: the tree answered`,
      );
      const ids = [...new Set(events.map((e) => e.customerId))];
      const query = { retentionMs: RETENTION_MS, windowsMs: WINDOWS_MS };
      assert.deepEqual(await redis.readCustomers(ids, query), await memory.readCustomers(ids, query));
      for (const id of ids) {
        const stored = await storedTree(raw, id);
        assert.equal(stored.get('cfg'), `${WINDOW_LEAF_MS} ${windowTreeTop(RETENTION_MS)}`);
        stored.delete('cfg');
        assert.deepEqual(stored, await expectedTree(server.port, id), `the tree of ${id}`);
      }
    });
  }

  it('rebuilds the tree of a history written without one, or for another leaf width', async () => {
    const events = stream(5, unique('rebuild')).filter((e) => e.customerId.endsWith('-a'));
    const customerId = events[0]?.customerId ?? '';
    assert.ok(events.length > 250, `${events.length} updates of one customer`);
    for (const e of events.slice(0, 200)) await redis.applyCustomerEvent(e);
    const treeKey = customerKeys(customerId).windowTree;
    await redisCommand(server.port, ['DEL', treeKey]);
    const query = { retentionMs: RETENTION_MS, windowsMs: WINDOWS_MS };
    // a read writes nothing: it summarises the members themselves until an apply rebuilds the tree
    for (const e of events.slice(0, 200)) await memory.applyCustomerEvent(e);
    assert.deepEqual(
      await redis.readCustomers([customerId], query),
      await memory.readCustomers([customerId], query),
    );
    await redisCommand(server.port, ['HSET', treeKey, 'cfg', '1000 3', '0:1', '1 1 1 0 1 1 1']);
    for (const e of events.slice(200)) {
      assert.deepEqual(await redis.applyCustomerEvent(e), await memory.applyCustomerEvent(e), e.eventKey);
    }
    const stored = await storedTree(raw, customerId);
    stored.delete('cfg');
    assert.deepEqual(stored, await expectedTree(server.port, customerId));
  });

  it('keeps no tree for a short history, and drops it when trimming makes a long one short', async () => {
    const customerId = unique('short');
    const event = (i: number, at: number): CustomerEventInput => ({
      customerId,
      eventKey: `k-${i}`,
      eventTime: at,
      orderKey: `o${i}`,
      value: i * 1.5,
      record: 'r',
      retentionMs: RETENTION_MS,
      windowsMs: WINDOWS_MS,
      maxEvents: 1000,
      allowedLatenessMs: 0,
      claimTtlMs: 600_000,
      firstSeen: [],
    });
    const treeKey = customerKeys(customerId).windowTree;
    const apply = async (e: CustomerEventInput) =>
      assert.deepEqual(await redis.applyCustomerEvent(e), await memory.applyCustomerEvent(e), e.eventKey);
    for (let i = 0; i < WINDOW_TREE_FROM; i++) await apply(event(i, T0 + i * 20 * MINUTE));
    assert.equal(await raw.exists(treeKey), 0, `no tree for ${WINDOW_TREE_FROM} events`);
    await apply(event(WINDOW_TREE_FROM, T0 + WINDOW_TREE_FROM * 20 * MINUTE));
    assert.equal(await raw.exists(treeKey), 1, 'a tree once the history is longer');
    assert.ok((await raw.pttl(treeKey)) > 0, 'the tree expires with the history');
    // ten days later every earlier event is beyond the retention: trimmed, and the tree with them
    await apply(event(1000, T0 + 10 * 24 * HOUR));
    assert.equal(await raw.exists(treeKey), 0, 'the tree is dropped with the history it summarised');
  });

  it('sends a reply of the same size for 1000 earlier events as for 60', async () => {
    const replyBytes = async (history: number): Promise<number> => {
      const customerId = unique(`size${history}`);
      const input = (i: number): CustomerEventInput => ({
        customerId,
        eventKey: `s-${i}`,
        eventTime: T0 + Math.floor((i * 29 * 24 * 60 * MINUTE) / history),
        orderKey: `o${i}`,
        value: (i % 97) * 3.25,
        record: 'r',
        retentionMs: 30 * 24 * 60 * MINUTE,
        windowsMs: [10 * MINUTE, 60 * MINUTE, 24 * 60 * MINUTE, 7 * 24 * 60 * MINUTE, 30 * 24 * 60 * MINUTE],
        maxEvents: 1000,
        allowedLatenessMs: 60 * MINUTE,
        claimTtlMs: 600_000,
        firstSeen: [],
      });
      for (let i = 0; i < history; i++) await redis.applyCustomerEvent(input(i));
      const sent = async () =>
        Number(
          /total_net_output_bytes:(\d+)/.exec(
            String(await redisCommand(server.port, ['INFO', 'stats'])),
          )?.[1],
        );
      const b0 = await sent();
      const b1 = await sent();
      await redis.applyCustomerEvent(input(history));
      const b2 = await sent();
      return b2 - b1 - (b1 - b0); // less one INFO reply
    };
    const short = await replyBytes(60);
    const long = await replyBytes(1000);
    assert.ok(short > 0 && long > 0);
    // the members themselves would be ~40 bytes each: 40 000 bytes for 1000
    assert.ok(long < 2 * short, `reply for 1000 earlier events: ${long} bytes; for 60: ${short} bytes`);
  });
});
