// ingest's in-progress claim on a real redis-server: renewed while its holder works, never past its longest hold.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { CLAIM_MAX_HOLD_TTLS, ingestFunction } from '../../functions/ingest/function.ts';
import { EventTypes, type FlywheelEvent } from '../../shared/events/index.ts';
import { createFileEventLog, type EventLog } from '../../shared/log/index.ts';
import { createLogger, type RunningFunction, serve } from '../../shared/runtime/index.ts';
import { createRedisStore, type OnlineStore } from '../../shared/store/index.ts';
import { transaction } from '../support/events.ts';
import { postEvent } from '../support/http.ts';
import { gate } from '../support/gate.ts';
import { type RedisServer, startRedis } from '../support/redis.ts';

const log = createLogger({ name: 'ingest-claim', level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const NOW = Date.UTC(2026, 10, 2, 12);
/** The shortest claim the configuration allows, so the test waits little; renewed every third of it. */
const TTL_MS = 3000;
const MAX_HOLD_MS = CLAIM_MAX_HOLD_TTLS * TTL_MS;

describe("ingest's in-progress claim", () => {
  let dir: string;
  let redis: RedisServer;
  let store: OnlineStore;
  let real: EventLog;
  let fn: RunningFunction;
  const published: FlywheelEvent[] = [];
  /** Held once by the next append / publish, then reset. */
  let nextAppend: (() => Promise<void>) | undefined;
  let nextPublish: (() => Promise<void>) | undefined;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'ingest-claim-'));
    redis = await startRedis();
    store = createRedisStore({ url: redis.url, timeoutMs: 300, log });
    real = createFileEventLog({ dataDir: dir, topic: 'events', log });
    const eventLog: EventLog = {
      kind: real.kind,
      append: async (records) => {
        const hold = nextAppend;
        nextAppend = undefined;
        await hold?.();
        return real.append(records);
      },
      readRange: (w) => real.readRange(w),
      readOffsets: (r) => real.readOffsets(r),
      endOffsets: () => real.endOffsets(),
      consume: (o) => real.consume(o),
      ping: () => real.ping(),
      close: () => real.close(),
    };
    const sink = {
      async publish(event: FlywheelEvent) {
        const hold = nextPublish;
        nextPublish = undefined;
        await hold?.();
        published.push(event);
      },
    };
    const def = ingestFunction({
      store,
      eventLog,
      sink,
      config: { MAX_CLOCK_SKEW_MS: 60_000, INGEST_CLAIM_TTL_MS: TTL_MS },
      now: () => NOW,
    });
    fn = await serve(
      { ...def, close: async () => {} },
      { port: 0, host: '127.0.0.1', log, maxBodyBytes: 64 * 1024, shutdownGraceMs: 500 },
    );
  });
  after(async () => {
    await fn.close();
    await real.close();
    await store.close();
    await redis.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const send = (id: string, customerId: string) =>
    postEvent(fn.url, {
      id,
      type: EventTypes.transaction,
      data: transaction({ transactionId: id, customerId }),
    });
  const outcome = (res: Awaited<ReturnType<typeof send>>) =>
    res.status === 202 ? (res.body.results as { outcome: string }[])[0]?.outcome : res.status;
  const publishedFor = (customerId: string) => published.filter((e) => e.subject === customerId).length;

  it("keeps the claim through a publish slower than the claim's TTL: a copy meanwhile is refused, then a duplicate", async () => {
    const slow = gate();
    nextPublish = slow.wait;
    const first = send('slow-1', 'slow');
    await slow.reached;
    await sleep(TTL_MS * 1.5); // without renewals the claim would have lapsed by now
    const copy = await send('slow-1', 'slow');
    assert.equal(copy.status, 503);
    assert.match(String(copy.body.detail), /being processed by another delivery/);
    slow.open();
    assert.equal(outcome(await first), 'accepted');
    assert.equal(outcome(await send('slow-1', 'slow')), 'duplicate');
    assert.equal(publishedFor('slow'), 1);
  });

  it('stops renewing at its longest hold: a copy gets in after it, and the stuck holder then publishes nothing', async () => {
    const stuck = gate();
    nextAppend = stuck.wait;
    const first = send('stuck-1', 'stuck');
    await stuck.reached;
    assert.equal((await send('stuck-1', 'stuck')).status, 503, 'the claim was not held at all');

    // the copy is retried until it gets in; bounded well past the longest hold
    let accepted = false;
    for (let i = 0; i < 40 && !accepted; i++) {
      await sleep(MAX_HOLD_MS / 10);
      accepted = outcome(await send('stuck-1', 'stuck')) === 'accepted';
    }
    assert.ok(accepted, 'a stuck holder kept its claim');

    stuck.open();
    const late = await first;
    assert.equal(late.status, 503, 'the holder went on after its claim lapsed');
    assert.match(String(late.body.detail), /claim on event stuck-1 lapsed/);
    assert.equal(publishedFor('stuck'), 1);
  });
});
