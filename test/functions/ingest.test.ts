// ingest over real HTTP on a real redis-server and the file log: validation, batches, duplicates, and no loss on failure.
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { CloudEvent } from 'cloudevents';
import { ingestFunction } from '../../functions/ingest/function.ts';
import { DependencyError } from '../../shared/errors/index.ts';
import { EventTypes, type FlywheelEvent } from '../../shared/events/index.ts';
import { createFileEventLog, type EventLog } from '../../shared/log/index.ts';
import { createLogger, type RunningFunction, serve } from '../../shared/runtime/index.ts';
import { createRedisStore, type OnlineStore } from '../../shared/store/index.ts';
import { transaction } from '../support/events.ts';
import { postEvent } from '../support/http.ts';
import { type RedisServer, startRedis } from '../support/redis.ts';

const log = createLogger({ name: 'ingest', level: 'silent' });
const NOW = Date.UTC(2026, 10, 2, 12);

describe('ingest', () => {
  let redis: RedisServer;
  let store: OnlineStore;
  let eventLog: EventLog;
  let fn: RunningFunction;
  const published: FlywheelEvent[] = [];
  let failNextPublishes = 0;

  before(async () => {
    redis = await startRedis();
    store = createRedisStore({ url: redis.url, timeoutMs: 1000, log });
    eventLog = createFileEventLog({
      dataDir: await mkdtemp(path.join(tmpdir(), 'ingest-')),
      topic: 'events',
      log,
    });
    const sink = {
      async publish(event: FlywheelEvent) {
        if (failNextPublishes > 0) {
          failNextPublishes--;
          throw new DependencyError('K_SINK', 'broker unreachable');
        }
        published.push(event);
      },
    };
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
  });
  after(async () => {
    await fn.close();
    await eventLog.close();
    await store.close();
    await redis.stop();
  });
  beforeEach(() => {
    published.length = 0;
  });

  const logged = async () =>
    (await eventLog.readRange({ from: 0, to: Number.MAX_SAFE_INTEGER })).map((r) => `${r.key}/${r.id}`);

  it('normalises a transaction, logs it keyed by customer, publishes transaction.accepted and answers 202', async () => {
    const res = await postEvent(fn.url, {
      id: 'n-1',
      type: EventTypes.transaction,
      data: transaction({
        transactionId: 'n-1',
        customerId: 'norm',
        amount: '12.50',
        currency: 'eur',
        country: 'de',
        occurredAt: '2026-11-02T11:00:00+01:00',
      }),
    });
    assert.equal(res.status, 202);
    assert.equal((res.body.results as { outcome: string }[])[0]?.outcome, 'accepted');
    assert.equal(published.length, 1);
    const accepted = published[0] as FlywheelEvent<typeof EventTypes.transactionAccepted>;
    assert.equal(accepted.type, EventTypes.transactionAccepted);
    assert.equal(accepted.source, 'flywheel/ingest');
    assert.equal(accepted.subject, 'norm');
    assert.deepEqual(
      {
        amount: accepted.data.amount,
        currency: accepted.data.currency,
        country: accepted.data.country,
        at: accepted.data.occurredAt,
      },
      { amount: 12.5, currency: 'EUR', country: 'DE', at: Date.UTC(2026, 10, 2, 10) },
    );
    const records = await eventLog.readRange({ from: 0, to: Number.MAX_SAFE_INTEGER });
    const record = records.find((r) => r.key === 'norm');
    assert.equal(record?.id, accepted.id);
    assert.equal(record?.type, EventTypes.transactionAccepted);
    assert.equal(record?.time, Date.UTC(2026, 10, 2, 10));
  });

  it('accepts labels and logs them as label.accepted', async () => {
    const res = await postEvent(fn.url, {
      id: 'l-1',
      type: EventTypes.label,
      data: { transactionId: 'n-1', customerId: 'norm', isFraud: true, labelledAt: NOW - 1000 },
    });
    assert.equal(res.status, 202);
    assert.equal(published[0]?.type, EventTypes.labelAccepted);
  });

  const invalid: [string, Record<string, unknown>, string][] = [
    ['a negative amount', { amount: -5 }, 'data.amount'],
    ['a non-numeric amount', { amount: 'NaN' }, 'data.amount'],
    ['an unknown currency', { currency: 'XYZ' }, 'data.currency'],
    ['an unknown country', { country: 'QQ' }, 'data.country'],
    ['a time too far in the future', { occurredAt: NOW + 3_600_000 }, 'data.occurredAt'],
    ['a missing customer', { customerId: undefined }, 'data.customerId'],
    ['a wrong-typed channel', { channel: 7 }, 'data.channel'],
    ['a transaction id with a control character', { transactionId: 'tx\u0001' }, 'data.transactionId'],
  ];
  for (const [what, override, field] of invalid) {
    it(`rejects ${what} with 400 naming ${field}, writing nothing`, async () => {
      const before = await logged();
      const data = { ...transaction({ transactionId: `bad-${field}` }), ...override };
      const res = await postEvent(fn.url, { id: `bad-${what}`, type: EventTypes.transaction, data });
      assert.equal(res.status, 400);
      assert.equal(res.body.field, field);
      assert.equal(published.length, 0);
      assert.deepEqual(await logged(), before);
    });
  }

  it('answers 413 for a payload over the limit and writes nothing', async () => {
    const before = await logged();
    const res = await postEvent(fn.url, {
      id: 'big',
      type: EventTypes.transaction,
      data: transaction({ merchantCategory: 'x'.repeat(70_000) }),
    });
    assert.equal(res.status, 413);
    assert.deepEqual(await logged(), before);
  });

  it('accepts the good events of a batch and reports each bad one by index and reason', async () => {
    const events = [
      transaction({ transactionId: 'b-0', customerId: 'batch' }),
      transaction({ transactionId: 'b-1', customerId: 'batch', currency: 'ZZZ' }),
      transaction({ transactionId: 'b-2', customerId: 'batch' }),
      transaction({ transactionId: 'b-3', customerId: 'batch', amount: -1 }),
    ].map((data, i) =>
      new CloudEvent({ id: `batch-${i}`, source: 'test', type: EventTypes.transaction, data }).toJSON(),
    );
    const res = await fetch(fn.url, {
      method: 'POST',
      headers: { 'content-type': 'application/cloudevents-batch+json' },
      body: JSON.stringify(events),
    });
    assert.equal(res.status, 202);
    const { results } = (await res.json()) as {
      results: { index: number; outcome: string; field?: string }[];
    };
    assert.deepEqual(
      results.map((r) => [r.index, r.outcome, r.field]),
      [
        [0, 'accepted', undefined],
        [1, 'rejected', 'data.currency'],
        [2, 'accepted', undefined],
        [3, 'rejected', 'data.amount'],
      ],
    );
    assert.deepEqual(published.map((e) => (e.data as { transactionId: string }).transactionId).sort(), [
      'b-0',
      'b-2',
    ]);
  });

  it('answers 202 for a batch holding the same event twice: the copy is a duplicate, logged and published once', async () => {
    const copy = (id: string) =>
      new CloudEvent({
        id,
        source: 'test',
        type: EventTypes.transaction,
        data: transaction({ transactionId: id, customerId: 'repeats' }),
      }).toJSON();
    const res = await fetch(fn.url, {
      method: 'POST',
      headers: { 'content-type': 'application/cloudevents-batch+json' },
      body: JSON.stringify([copy('rep-1'), copy('rep-2'), copy('rep-1')]),
    });
    assert.equal(res.status, 202);
    const { results } = (await res.json()) as {
      results: { index: number; id: string; outcome: string; status: number }[];
    };
    assert.deepEqual(
      results.map((r) => [r.index, r.id, r.outcome, r.status]),
      [
        [0, 'rep-1', 'accepted', 202],
        [1, 'rep-2', 'accepted', 202],
        [2, 'rep-1', 'duplicate', 200],
      ],
    );
    assert.deepEqual(published.map((e) => (e.data as { transactionId: string }).transactionId).sort(), [
      'rep-1',
      'rep-2',
    ]);
    assert.equal((await logged()).filter((k) => k.startsWith('repeats/')).length, 2);
  });

  it('leaves no second record and no second published event for a duplicate delivery', async () => {
    const send = () =>
      postEvent(fn.url, {
        id: 'dup-1',
        type: EventTypes.transaction,
        data: transaction({ transactionId: 'dup-1', customerId: 'dup' }),
      });
    const first = await send();
    const second = await send();
    const third = await Promise.all([send(), send()]);
    assert.equal(first.status, 202);
    assert.equal((second.body.results as { outcome: string }[])[0]?.outcome, 'duplicate');
    assert.ok(third.every((r) => r.status === 202 || r.status === 503));
    assert.equal(published.length, 1);
    assert.equal((await logged()).filter((k) => k.startsWith('dup/')).length, 1);
  });

  it('gets the event through on the retry after the sink failed once (the claim is released)', async () => {
    failNextPublishes = 1;
    const send = () =>
      postEvent(fn.url, {
        id: 'retry-1',
        type: EventTypes.transaction,
        data: transaction({ transactionId: 'retry-1', customerId: 'retry' }),
      });
    const failed = await send();
    assert.equal(failed.status, 503);
    assert.equal(failed.body.retriable, true);
    assert.equal(published.length, 0);
    const retried = await send();
    assert.equal(retried.status, 202);
    assert.equal((retried.body.results as { outcome: string }[])[0]?.outcome, 'accepted');
    assert.equal(published.length, 1);
    // the log may hold the first attempt's record too: the trainer de-duplicates by event id
    const ids = new Set(
      (await eventLog.readRange({ from: 0, to: Number.MAX_SAFE_INTEGER }))
        .filter((r) => r.key === 'retry')
        .map((r) => r.id),
    );
    assert.equal(ids.size, 1);
  });
});
