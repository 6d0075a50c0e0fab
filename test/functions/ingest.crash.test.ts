// ingest killed (SIGKILL) under load, as its own process (main.ts) on a real Redis and file log, K_SINK at a real
// featurize: every event it answered 2xx is in the log after the restart, and featurize applies none twice.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { featurizeFunction } from '../../functions/featurize/function.ts';
import { EventTypes } from '../../shared/events/index.ts';
import { createFileEventLog } from '../../shared/log/index.ts';
import { createLogger, type RunningFunction, serve } from '../../shared/runtime/index.ts';
import { createRedisStore, type OnlineStore } from '../../shared/store/index.ts';
import { transaction } from '../support/events.ts';
import { eventually } from '../support/http.ts';
import { type RedisServer, redisCommand, startRedis } from '../support/redis.ts';
import { spawnWatched, startOnFreePort, type WatchedProcess } from '../support/watched-process.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const log = createLogger({ name: 'ingest-crash', level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const SOURCE = 'test/crash-source';
const CUSTOMERS = 40;
/** Senders at once: half post single events in binary mode, half batches of BATCH structured events. */
const SENDERS = 16;
const BATCH = 10;
/** Events answered before the kill, and new ones sent after the restart. */
const BEFORE_KILL = 600;
const AFTER_RESTART = 200;
/** Bounds of the waits for readiness and for every event to be answered (never reached when all is well). */
const WAIT_MS = 120_000;

interface Sent {
  id: string;
  body: Record<string, unknown>;
}

describe('ingest killed (SIGKILL) under load and started again', () => {
  let dir: string;
  let redis: RedisServer;
  let store: OnlineStore;
  let featurize: RunningFunction;
  let ingest: WatchedProcess | undefined;
  let ingestUrl = '';
  const t0 = Date.now() - 10 * 60_000;

  /** Starts ingest on a fresh port (a restart too: the senders post to the current ingestUrl) until it is ready. */
  const startIngest = async () => {
    const started = await startOnFreePort({
      start: (port) =>
        spawnWatched(dir, [
          'env',
          `PORT=${port}`,
          `REDIS_URL=${redis.url}`,
          `K_SINK=${featurize.url}/`,
          `FLYWHEEL_DATA_DIR=${dir}`,
          'LOG_LEVEL=warn',
          process.execPath,
          '--import',
          'tsx',
          path.join(ROOT, 'functions/ingest/main.ts'),
        ]),
      ready: async (url) => (await fetch(`${url}/health/readiness`)).status === 200,
      limitMs: WAIT_MS,
    });
    ingest = started.server;
    ingestUrl = started.url;
  };

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'ingest-crash-'));
    redis = await startRedis();
    store = createRedisStore({ url: redis.url, timeoutMs: 2_000, log });
    featurize = await serve(featurizeFunction({ store, config: { ALLOWED_LATENESS_MS: 3_600_000 } }), {
      port: 0,
      host: '127.0.0.1',
      log,
      maxBodyBytes: 1 << 20,
      shutdownGraceMs: 1_000,
    });
    await startIngest();
  });
  after(async () => {
    await ingest?.kill();
    await featurize?.close();
    await store?.close();
    await redis?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps every event it answered 2xx, and featurize applies each transaction once', async () => {
    const event = (n: number): Sent => ({
      id: `crash-${n}`,
      body: {
        specversion: '1.0',
        id: `crash-${n}`,
        source: SOURCE,
        type: EventTypes.transaction,
        datacontenttype: 'application/json',
        data: transaction({
          transactionId: `tx-crash-${n}`,
          customerId: `c-${n % CUSTOMERS}`,
          occurredAt: new Date(t0 + n * 10).toISOString(),
        }),
      },
    });
    /** Events not yet answered 2xx: a sender takes from here; a failure puts them back (the sender's retry). */
    const queue: Sent[] = [];
    const answered = new Set<string>();
    let next = 0;
    let sending = true;
    let failures = 0;
    const post = async (batch: Sent[], single: boolean): Promise<boolean> => {
      const init = single
        ? {
            headers: {
              'content-type': 'application/json',
              'ce-specversion': '1.0',
              'ce-id': batch[0]?.id ?? '',
              'ce-source': SOURCE,
              'ce-type': EventTypes.transaction,
            },
            body: JSON.stringify(batch[0]?.body.data),
          }
        : {
            headers: { 'content-type': 'application/cloudevents-batch+json' },
            body: JSON.stringify(batch.map((e) => e.body)),
          };
      try {
        const res = await fetch(ingestUrl, { method: 'POST', ...init });
        await res.arrayBuffer();
        return res.status >= 200 && res.status < 300;
      } catch {
        return false; // the connection was reset by the kill, or refused while ingest is down
      }
    };
    const sender = async (single: boolean) => {
      while (sending || queue.length > 0) {
        const size = single ? 1 : BATCH;
        const batch = queue.splice(0, size);
        while (sending && batch.length < size) batch.push(event(next++));
        if (batch.length === 0) {
          await new Promise((r) => setTimeout(r, 20));
          continue;
        }
        if (await post(batch, single)) {
          for (const e of batch) answered.add(e.id);
        } else {
          failures++;
          queue.push(...batch);
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    };
    const senders = Array.from({ length: SENDERS }, (_, i) => sender(i % 2 === 0));

    await eventually(() => (answered.size >= BEFORE_KILL ? true : undefined), WAIT_MS);
    const answeredBeforeKill = new Set(answered);
    await ingest?.kill();
    await startIngest();
    const target = answered.size + AFTER_RESTART;
    await eventually(() => (answered.size >= target ? true : undefined), WAIT_MS);
    sending = false;
    await Promise.all(senders);
    assert.ok(failures > 0, 'the kill failed some requests in flight (else it proved nothing)');

    // every answered event is in the log (the accepted event's id is the sha256 of [source, id], cut to 32)
    const fileLog = createFileEventLog({ dataDir: dir, topic: 'flywheel.events', log });
    const logged = new Map<string, number>();
    for (const r of await fileLog.readRange({ from: 0, to: Number.MAX_SAFE_INTEGER })) {
      logged.set(r.id, (logged.get(r.id) ?? 0) + 1);
    }
    await fileLog.close();
    const acceptedId = (id: string) =>
      createHash('sha256')
        .update(JSON.stringify([SOURCE, id]))
        .digest('hex')
        .slice(0, 32);
    const missing = [...answered].filter((id) => !logged.has(acceptedId(id)));
    assert.deepEqual(missing, [], 'answered 2xx but not in the log');
    assert.equal(
      [...answeredBeforeKill].filter((id) => !logged.has(acceptedId(id))).length,
      0,
      'answered before the kill but lost with the process',
    );

    // featurize: each transaction applied once (a redelivery is answered with its first reply and counted as a
    // duplicate), every answered one applied
    const replies = await counted(featurize, 'flywheel_events_total', {
      type: EventTypes.transactionAccepted,
    });
    const duplicates = await counted(featurize, 'flywheel_duplicate_events_total', {});
    assert.equal(replies - duplicates, answered.size, `${replies} replies, ${duplicates} of them duplicates`);
    let stored = 0;
    for (const key of (await redisCommand(redis.port, ['KEYS', 'fw:{c-*}:*:events'])) as string[]) {
      stored += Number(await redisCommand(redis.port, ['ZCARD', key]));
    }
    assert.equal(stored, answered.size, 'history entries, one per transaction');
  });
});

/** The sum of a function's Prometheus counter over the series whose labels include `labels`. */
async function counted(fn: RunningFunction, name: string, labels: Record<string, string>): Promise<number> {
  const metric = fn.metrics.registry.getSingleMetric(name);
  assert.ok(metric, `${name} is registered`);
  const { values } = await metric.get();
  return values
    .filter((v) => Object.entries(labels).every(([k, want]) => v.labels[k] === want))
    .reduce((sum, v) => sum + v.value, 0);
}
