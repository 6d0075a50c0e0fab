// Differential check: a seeded random stream of featurize updates gives identical results on memory and on Redis.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '../../../shared/runtime/logger.ts';
import {
  type CustomerEventInput,
  createMemoryStore,
  createRedisStore,
  type OnlineStore,
} from '../../../shared/store/index.ts';
import { type RedisServer, startRedis } from '../../support/redis.ts';
import { seededRandom as random } from '../../../shared/random/index.ts';
import { T0, unique } from './contract-support.ts';

/** Order keys whose UTF-8 byte order differs from JavaScript's `<` (astral vs high BMP), to exercise equal times. */
const ORDER_KEYS = ['a', 'b', 'ab', 'é', '\uffff', '😀', 'z'];
const WINDOWS_MS = [1500, 700, 200, 1];

/**
 * 400 updates over 3 customers: out-of-order times (many equal), redeliveries, too-late events, trimming by time and
 * count, values at full double precision.
 */
function stream(seed: number, prefix: string): CustomerEventInput[] {
  const rnd = random(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
  const events: CustomerEventInput[] = [];
  for (let i = 0; i < 400; i++) {
    if (events.length > 0 && rnd() < 0.15) {
      events.push(pick(events)); // a redelivery
      continue;
    }
    const fields = ['country:DE', 'country:FR', 'device:a', 'device:b'].filter(() => rnd() < 0.4);
    events.push({
      customerId: `${prefix}-${pick(['a', 'b', 'c'])}`,
      eventKey: `e-${i}`,
      eventTime: T0 + i * 10 + Math.floor(rnd() * 60) * 10 - 300,
      orderKey: pick(ORDER_KEYS),
      value: rnd() * 1000,
      record: pick(['x', 'y', JSON.stringify({ i, amount: Math.round(rnd() * 1000) / 10 })]),
      retentionMs: 1500,
      windowsMs: WINDOWS_MS,
      maxEvents: 25,
      allowedLatenessMs: 200,
      claimTtlMs: 60_000,
      firstSeen: fields,
    });
  }
  return events;
}

describe('memory and Redis stores on the same random stream', () => {
  let server: RedisServer;
  let redis: OnlineStore;
  let memory: OnlineStore;
  const log = createLogger({ name: 'store-diff', level: 'silent' });
  before(async () => {
    server = await startRedis();
    redis = createRedisStore({ url: server.url, timeoutMs: 2000, log });
    memory = createMemoryStore({ log });
  });
  after(async () => {
    await memory.close();
    await redis.close();
    await server.stop();
  });

  for (const seed of [1, 2, 3]) {
    it(`answers every update alike and ends in the same state (seed ${seed})`, async () => {
      const events = stream(seed, unique('d'));
      const kinds = new Set<string>();
      for (const [i, e] of events.entries()) {
        const [m, r] = [await memory.applyCustomerEvent(e), await redis.applyCustomerEvent(e)];
        assert.deepEqual(r, m, `update ${i} (${e.eventKey})`);
        kinds.add(m.kind);
      }
      assert.deepEqual(
        [...kinds].sort(),
        ['applied', 'duplicate', 'too-late'],
        'the stream exercised every outcome',
      );
      const ids = [...new Set(events.map((e) => e.customerId))];
      const query = { retentionMs: 1500, windowsMs: WINDOWS_MS };
      assert.deepEqual(await redis.readCustomers(ids, query), await memory.readCustomers(ids, query));
    });
  }
});
