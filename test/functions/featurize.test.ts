// featurize on a real redis-server: the skew test (online vectors equal the offline builder's rows), idempotency, late events.
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { featurizeFunction } from '../../functions/featurize/function.ts';
import { ingestFunction } from '../../functions/ingest/function.ts';
import { AcceptedTransactionSchema, EventTypes, type FlywheelEvent } from '../../shared/events/index.ts';
import { buildTrainingRows, customerFeatures } from '../../shared/features/index.ts';
import { createFileEventLog, type EventLog } from '../../shared/log/index.ts';
import { createLogger, serve, toStructured } from '../../shared/runtime/index.ts';
import { createRedisStore, type OnlineStore } from '../../shared/store/index.ts';
import { createGenerator } from '../../local/demo/generator.ts';
import { postEvent } from '../support/http.ts';
import { type RedisServer, startRedis } from '../support/redis.ts';
import { storedHistory } from '../shared/store/contract-support.ts';

const log = createLogger({ name: 'featurize', level: 'silent' });
const FROM = Date.UTC(2026, 9, 1);
const opts = { port: 0, host: '127.0.0.1', log, maxBodyBytes: 1 << 20, shutdownGraceMs: 500 };

type Features = FlywheelEvent<typeof EventTypes.featuresUpdated>;

/** ingest → (sink) → featurize over real HTTP; returns the features.updated replies by transaction id. */
async function pipeline(store: OnlineStore, eventLog: EventLog) {
  const featurize = await serve(
    { ...featurizeFunction({ store, config: { ALLOWED_LATENESS_MS: 3_600_000 } }), close: async () => {} },
    opts,
  );
  const replies = new Map<string, Record<string, number>>();
  const sink = {
    async publish(event: FlywheelEvent) {
      if (event.type !== EventTypes.transactionAccepted) return;
      const res = await postEvent(featurize.url, {
        ...toStructured(event),
        id: event.id,
        type: event.type,
        data: event.data,
      } as never);
      if (res.status !== 200) throw new Error(`featurize answered ${res.status}`);
      const data = res.body as Features['data'];
      replies.set(data.transactionId, data.values);
    },
  };
  const ingest = await serve(
    {
      ...ingestFunction({ store, eventLog, sink, config: { MAX_CLOCK_SKEW_MS: 60_000 } }),
      close: async () => {},
    },
    opts,
  );
  return { ingest, featurize, replies, close: async () => Promise.all([ingest.close(), featurize.close()]) };
}

describe('featurize', () => {
  let redis: RedisServer;
  let store: OnlineStore;
  let eventLog: EventLog;
  before(async () => {
    redis = await startRedis();
    store = createRedisStore({ url: redis.url, timeoutMs: 2000, log });
    eventLog = createFileEventLog({
      dataDir: await mkdtemp(path.join(tmpdir(), 'featurize-')),
      topic: 'events',
      log,
    });
  });
  after(async () => {
    await eventLog.close();
    await store.close();
    await redis.stop();
  });

  it('gives online vectors equal to the offline builder rows for the same events (skew test)', async () => {
    const generated = createGenerator({ seed: 11, customers: 60 }, FROM).until(FROM + 20 * 86_400_000);
    assert.ok(generated.length > 2000, `${generated.length} events`);
    const p = await pipeline(store, eventLog);
    // one lane per customer: each customer's events in order, customers concurrently (as a keyed log delivers them)
    const lanes = new Map<string, typeof generated>();
    for (const g of generated)
      lanes.set(g.transaction.customerId, [...(lanes.get(g.transaction.customerId) ?? []), g]);
    await Promise.all(
      [...lanes.values()].map(async (lane) => {
        for (const g of lane) {
          const res = await postEvent(p.ingest.url, {
            id: `skew-${g.transaction.transactionId}`,
            type: EventTypes.transaction,
            data: g.transaction,
          });
          assert.equal(res.status, 202);
        }
      }),
    );
    await p.close();
    const records = await eventLog.readRange({ from: 0, to: Number.MAX_SAFE_INTEGER });
    const txs = records
      .filter((r) => r.type === EventTypes.transactionAccepted)
      .map((r) => AcceptedTransactionSchema.parse((JSON.parse(r.value) as { data: unknown }).data));
    const rows = buildTrainingRows(customerFeatures, txs);
    assert.equal(rows.length, generated.length);
    let compared = 0;
    for (const row of rows) {
      const online = p.replies.get(row.transactionId);
      assert.ok(online, `no online vector for ${row.transactionId}`);
      customerFeatures.columns.forEach((c, i) => {
        const off = row.values[i] ?? Number.NaN;
        const on = online[c] ?? Number.NaN;
        const rel = Math.abs(on - off) / Math.max(1, Math.abs(off));
        assert.ok(rel <= 1e-9, `${row.transactionId} ${c}: online ${on} offline ${off}`);
        compared++;
      });
    }
    assert.equal(compared, generated.length * customerFeatures.columns.length);
  });

  it('ends in the same state after a replay with 20% duplicates and parallel sends for one customer', async () => {
    const clean = await startRedis();
    const cleanStore = createRedisStore({ url: clean.url, timeoutMs: 2000, log });
    const generated = createGenerator({ seed: 5, customers: 6 }, FROM)
      .until(FROM + 5 * 86_400_000)
      .map((g) => ({
        ...g,
        transaction: { ...g.transaction, customerId: `replay-${g.transaction.customerId}` },
      }));
    const send = async (url: string, g: (typeof generated)[number], id: string) => {
      const data = AcceptedTransactionSchema.parse({ ...g.transaction, ingestedAt: FROM });
      const res = await postEvent(url, { id, type: EventTypes.transactionAccepted, data });
      assert.equal(res.status, 200);
      return res;
    };
    const a = await serve(
      {
        ...featurizeFunction({ store: cleanStore, config: { ALLOWED_LATENESS_MS: 86_400_000 } }),
        close: async () => {},
      },
      opts,
    );
    const b = await serve(
      { ...featurizeFunction({ store, config: { ALLOWED_LATENESS_MS: 86_400_000 } }), close: async () => {} },
      opts,
    );
    try {
      for (const [i, g] of generated.entries()) await send(a.url, g, `e-${i}`);
      // replay: every event once, 20% of them again, in parallel batches of 20 (one customer's events race each other)
      const replay = generated.flatMap((g, i) =>
        i % 5 === 0 ? [[g, i] as const, [g, i] as const] : [[g, i] as const],
      );
      for (let i = 0; i < replay.length; i += 20) {
        await Promise.all(replay.slice(i, i + 20).map(([g, n]) => send(b.url, g, `e-${n}`)));
      }
      // a redelivery after the fact gets the same reply (same values), so a lost reply is recovered by a retry
      const [g0] = generated;
      assert.ok(g0, 'the generator gave events');
      const first = await send(b.url, g0, 'e-0');
      const second = await send(b.url, g0, 'e-0');
      assert.deepEqual((first.body as Features['data']).values, (second.body as Features['data']).values);
      assert.equal(first.ce.id, second.ce.id);
      const ids = [...new Set(generated.map((g) => g.transaction.customerId))];
      const [want, got] = await Promise.all([
        cleanStore.readCustomers(ids, customerFeatures),
        store.readCustomers(ids, customerFeatures),
      ]);
      for (const id of ids) {
        assert.deepEqual(got.get(id), want.get(id), `state of ${id}`);
        assert.deepEqual(
          await storedHistory(store, id, customerFeatures.version),
          await storedHistory(cleanStore, id, customerFeatures.version),
          `history of ${id}`,
        );
      }
      // every fifth event went twice in the replay, and the first one twice more after it
      const duplicates = Math.ceil(generated.length / 5) + 2;
      assert.match(
        await (await fetch(`${b.url}/metrics`)).text(),
        new RegExp(`^flywheel_duplicate_events_total\\{function="featurize"\\} ${duplicates}$`, 'm'),
      );
    } finally {
      await Promise.all([a.close(), b.close()]);
      await cleanStore.close();
      await clean.stop();
    }
  });
  it('drops an event older than the allowed lateness without touching state, and counts it', async () => {
    const fn = await serve(
      { ...featurizeFunction({ store, config: { ALLOWED_LATENESS_MS: 60_000 } }), close: async () => {} },
      opts,
    );
    const base = {
      customerId: 'late',
      currency: 'EUR',
      merchantCategory: 'grocery',
      channel: 'pos',
      country: 'DE',
      ingestedAt: FROM,
    };
    const at = (transactionId: string, occurredAt: number, amount: number) =>
      postEvent(fn.url, {
        id: transactionId,
        type: EventTypes.transactionAccepted,
        data: { ...base, transactionId, occurredAt, amount },
      });
    assert.equal((await at('l1', FROM + 10 * 60_000, 10)).status, 200);
    const inLateness = await at('l2', FROM + 9 * 60_000 + 30_000, 20);
    assert.equal(inLateness.status, 200);
    assert.equal(
      (inLateness.body as Features['data']).values.txn_count_10m,
      0,
      'a late event sees only events before its own time',
    );
    const tooLate = await at('l3', FROM, 30);
    assert.equal(tooLate.status, 202);
    assert.match(
      await (await fetch(`${fn.url}/metrics`)).text(),
      /flywheel_late_events_dropped_total\{function="featurize"\} 1/,
    );
    assert.equal((await storedHistory(store, 'late', customerFeatures.version)).length, 2);
    await fn.close();
  });
});
