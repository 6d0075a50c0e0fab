// ingest's in-progress claim under faults, delivered by the local broker with the real Triggers of eventing/:
// Redis killed mid-request and restarted from its AOF, and a holder that hangs. No valid event is dead-lettered.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ingestFunction } from '../../functions/ingest/function.ts';
import { type Broker, createBroker, loadTriggers } from '../../local/broker/index.ts';
import { EventTypes, type FlywheelEvent } from '../../shared/events/index.ts';
import { createFileEventLog, type EventLog } from '../../shared/log/index.ts';
import { createLogger, type RunningFunction, type Sink, serve } from '../../shared/runtime/index.ts';
import { createRedisStore, type OnlineStore } from '../../shared/store/index.ts';
import { transaction } from '../support/events.ts';
import { postEvent } from '../support/http.ts';
import { type RedisServer, startRedis, ttlsOf } from '../support/redis.ts';
import { idleWithin } from '../local/broker/support.ts';

const log = createLogger({ name: 'ingest-faults', level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const NOW = Date.UTC(2026, 10, 2, 12);
const ROOT = path.resolve(import.meta.dirname, '..', '..');
/** How long Redis stays down: shorter than the old 30 s claim, longer than the store's timeouts. */
const OUTAGE_MS = 3000;
/** Bound on one broker delivery with all its retries (the Triggers' backoff sums to 15.5 s). */
const DELIVERY_GUARD_MS = 40_000;

describe("ingest's claim when its holder fails, delivered with the Triggers' retry budget", () => {
  let dir: string;
  let redis: RedisServer;
  let store: OnlineStore;
  let eventLog: EventLog;
  let fn: RunningFunction;
  let broker: Broker;
  let brokerUrl: string;
  const published: FlywheelEvent[] = [];
  /** What the next publish does before it records the event (then it is reset). */
  let onPublish: (() => Promise<void>) | undefined;
  const stalled: (() => void)[] = [];

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'ingest-faults-'));
    redis = await startRedis({ appendonly: { dir, fsync: 'always' } });
    store = createRedisStore({ url: redis.url, timeoutMs: 300, log });
    eventLog = createFileEventLog({ dataDir: path.join(dir, 'log'), topic: 'events', log });
    const sink: Sink = {
      async publish(event) {
        const before = onPublish;
        onPublish = undefined;
        await before?.();
        published.push(event);
      },
    };
    // the defaults: INGEST_CLAIM_TTL_MS is left to its default, as in production
    const def = ingestFunction({
      store,
      eventLog,
      sink,
      config: { MAX_CLOCK_SKEW_MS: 60_000 },
      now: () => NOW,
    });
    fn = await serve(
      { ...def, close: async () => {} },
      { port: 0, host: '127.0.0.1', log, maxBodyBytes: 64 * 1024, shutdownGraceMs: 500 },
    );
    const triggers = (await loadTriggers(path.join(ROOT, 'eventing'))).filter(
      (t) => t.subscriber.kind === 'service' && t.subscriber.service === 'ingest',
    );
    assert.ok(triggers.length > 0, 'no Trigger delivers to ingest in eventing/');
    broker = createBroker({ triggers, resolve: () => fn.url, queueCapacity: 100, log });
    brokerUrl = (await broker.listen({ port: 0, host: '127.0.0.1' })).url;
  });
  after(async () => {
    for (const release of stalled) release();
    await broker.stop({ graceMs: 100 });
    await fn.close();
    await eventLog.close();
    await store.close();
    await redis.kill();
    await rm(dir, { recursive: true, force: true });
  });

  const sendThroughBroker = async (id: string, customerId: string) => {
    const res = await postEvent(brokerUrl, {
      id,
      type: EventTypes.transaction,
      data: transaction({ transactionId: id, customerId }),
    });
    assert.equal(res.status, 202, 'the broker did not take the event');
  };
  const deadLettered = (id: string) =>
    broker
      .deadLetters()
      .filter((d) => d.event.id === id)
      .map((d) => d.reason);
  const publishedIds = (customerId: string) =>
    new Set(published.filter((e) => e.subject === customerId).map((e) => e.id));

  it('gets the event in on a redelivery after Redis was killed mid-request and came back from its AOF', async () => {
    let outage: Promise<void> | undefined;
    let leftBehind: number[] = [];
    onPublish = async () => {
      // Redis dies after the claim was taken and the event logged: marking it done and releasing the claim fail
      await redis.kill();
      outage = (async () => {
        await sleep(OUTAGE_MS);
        await redis.restart();
        leftBehind = await ttlsOf(redis.port, 'fw:lock:ingest:*');
      })();
    };
    await sendThroughBroker('aof-1', 'aof');
    await idleWithin(broker, DELIVERY_GUARD_MS);
    await outage;

    // the scenario happened: the failed holder's claim was still in Redis when it came back
    assert.equal(leftBehind.length, 1, 'no claim survived the restart: the test did not reproduce the fault');
    assert.deepEqual(deadLettered('aof-1'), [], 'a valid event was dead-lettered');
    const stats = broker.stats().triggers.find((t) => t.name === 'ingest-transaction');
    assert.equal(stats?.delivered, 1);
    assert.equal(publishedIds('aof').size, 1, 'published under one id (consumers de-duplicate by it)');
    const again = await postEvent(fn.url, {
      id: 'aof-1',
      type: EventTypes.transaction,
      data: transaction({ transactionId: 'aof-1', customerId: 'aof' }),
    });
    assert.equal((again.body.results as { outcome: string }[])[0]?.outcome, 'duplicate');
  });

  it("lets a redelivery in before the retries run out while another delivery's holder hangs", async () => {
    // a first copy of the event (another sender, or a delivery the broker gave up on) hangs in its publish
    onPublish = () => new Promise<void>((resolve) => stalled.push(resolve));
    const hanging = postEvent(fn.url, {
      id: 'hang-1',
      type: EventTypes.transaction,
      data: transaction({ transactionId: 'hang-1', customerId: 'hang' }),
    });
    while (stalled.length === 0) await sleep(10);

    await sendThroughBroker('hang-1', 'hang');
    await idleWithin(broker, DELIVERY_GUARD_MS);

    assert.deepEqual(deadLettered('hang-1'), [], 'a valid event was dead-lettered behind a hanging holder');
    assert.equal(publishedIds('hang').size, 1);
    for (const release of stalled.splice(0)) release();
    const first = await hanging;
    // the hanging holder's claim lapsed: it finished its publish, and answers whatever it answers now
    assert.ok([202, 503].includes(first.status), `unexpected status ${first.status}`);
  });
});
