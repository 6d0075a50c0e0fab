// The foreign test source: deterministic by seed, 20 % exact re-sends, late and out-of-order events, late labels,
// its fraud patterns, and two shifts that move what they claim to move (measured with the project's feature builder).
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { before, describe, it } from 'node:test';
import type { bootstrapChampions } from '../../local/bootstrap.ts';
import { LabelSchema, TransactionSchema } from '../../shared/events/index.ts';
import { buildTrainingRows, customerFeatures, type TrainingRow } from '../../shared/features/index.ts';
import { latestPerCustomer } from '../../shared/training/dataset.ts';
import {
  createDeliveryPlan,
  DEFAULT_DELIVERY,
  type Delivery,
  FOREIGN_SOURCE,
} from './foreign-source/delivery.ts';
import {
  createForeignGenerator,
  DEFAULT_FOREIGN_GENERATOR,
  type ForeignGenerated,
} from './foreign-source/generator.ts';
import { type ForeignArchetype, HOMES } from './foreign-source/population.ts';
import { createForeignSource, type ForeignProgress } from './foreign-source/source.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const FROM = Date.UTC(2026, 4, 1);

const plan = (seed: number, days: number, chunkMs = days * DAY) => {
  const p = createDeliveryPlan(createForeignGenerator({ seed, customers: 120 }, FROM), {
    ...DEFAULT_DELIVERY,
    seed,
  });
  const out: Delivery[] = [];
  for (let t = FROM + chunkMs; t < FROM + days * DAY + chunkMs; t += chunkMs)
    out.push(...p.due(Math.min(t, FROM + days * DAY)));
  return out;
};

describe('the foreign source: delivery', () => {
  let deliveries: Delivery[];
  before(() => {
    deliveries = plan(11, 30);
  });

  it('sends the same events in the same order for a seed, however the clock is chunked; another seed differs', () => {
    const chunked = plan(11, 30, 37 * MINUTE);
    assert.equal(chunked.length, deliveries.length);
    assert.deepEqual(chunked, deliveries);
    assert.notDeepEqual(plan(12, 3), plan(11, 3));
  });

  it('sends valid raw events with amounts as decimal strings and ISO-8601 times', () => {
    for (const d of deliveries) {
      assert.equal(d.event.source, FOREIGN_SOURCE);
      const schema = d.kind === 'transaction' ? TransactionSchema : LabelSchema;
      const data = schema.parse(d.event.data);
      if ('amount' in data) assert.match(String(data.amount), /^\d+\.\d\d$/);
    }
  });

  it('re-sends 20 % of events byte for byte (same source + id), later than the first copy', () => {
    const originals = new Map<string, Delivery>();
    for (const d of deliveries) if (d.copy === 'original') originals.set(String(d.event.id), d);
    const duplicates = deliveries.filter((d) => d.copy === 'duplicate');
    const share = duplicates.length / originals.size;
    assert.ok(share > 0.185 && share < 0.215, `duplicate share ${share}`);
    for (const d of duplicates) {
      const first = originals.get(String(d.event.id));
      assert.ok(first, `duplicate ${String(d.event.id)} has an original`);
      assert.equal(JSON.stringify(d.event), JSON.stringify(first.event));
      assert.ok(d.sendAt > first.sendAt);
    }
  });

  it('sends 5 % of transactions late, after later ones (out of order), never later than 45 minutes', () => {
    const txs = deliveries.filter((d) => d.kind === 'transaction' && d.copy === 'original');
    const time = (d: Delivery) => Date.parse(String((d.event.data as { occurredAt: string }).occurredAt));
    const late = txs.filter((d) => d.late);
    assert.ok(
      late.length / txs.length > 0.04 && late.length / txs.length < 0.06,
      `${late.length}/${txs.length}`,
    );
    let newest = 0;
    let outOfOrder = 0;
    for (const d of txs) {
      if (time(d) < newest) outOfOrder++;
      newest = Math.max(newest, time(d));
      assert.ok(d.sendAt - time(d) <= 45 * MINUTE);
    }
    assert.ok(outOfOrder > late.length / 2, `${outOfOrder} transactions sent after a later one`);
  });

  it('sends each label hours to days after its transaction, and after every copy of the transaction went out', () => {
    const sentAt = new Map<string, number>();
    for (const d of deliveries)
      if (d.kind === 'transaction')
        sentAt.set(d.transactionId, Math.max(sentAt.get(d.transactionId) ?? 0, d.sendAt));
    const labels = deliveries.filter((d) => d.kind === 'label' && d.copy === 'original');
    assert.ok(labels.length > 100);
    for (const l of labels) {
      const tx = sentAt.get(l.transactionId);
      assert.ok(tx !== undefined && l.sendAt > tx, `label of ${l.transactionId} before its transaction`);
    }
  });
});

describe('the foreign source: customers and frauds', () => {
  let items: ForeignGenerated[];
  let generator: ReturnType<typeof createForeignGenerator>;
  before(() => {
    generator = createForeignGenerator({ seed: 4, customers: 300 }, FROM);
    items = generator.until(FROM + 40 * DAY);
  });

  it('makes 1–4 % of transactions fraud, each pattern present, every fraud labelled late by its pattern', () => {
    const fraud = items.filter((g) => g.fraud !== null);
    const share = fraud.length / items.length;
    assert.ok(share > 0.01 && share < 0.04, `fraud share ${share}`);
    const delays = DEFAULT_FOREIGN_GENERATOR.labelDelayMs;
    const counts = { 'account-takeover': 0, 'card-testing': 0, 'mule-transfers': 0 };
    for (const g of fraud) {
      if (g.fraud === null) continue;
      counts[g.fraud]++;
      if (!g.label) continue;
      const delay = g.label.labelledAt - g.transaction.occurredAt;
      assert.equal(g.label.isFraud, true);
      assert.ok(delay >= delays[g.fraud].min - 1 && delay <= delays[g.fraud].max + 1, `${g.fraud} ${delay}`);
    }
    for (const [pattern, n] of Object.entries(counts)) assert.ok(n > 30, `${n} ${pattern} transactions`);
    const unlabelled = fraud.filter((g) => !g.label);
    assert.ok(unlabelled.every((g) => g.fraud === 'card-testing') && unlabelled.length > 0);
    const reviews = items.filter((g) => g.fraud === null && g.label);
    for (const g of reviews) {
      assert.equal(g.label?.isFraud, false);
      assert.ok((g.label?.labelledAt ?? 0) - g.transaction.occurredAt >= DAY);
    }
  });

  it('takes accounts over from a new device, mostly from a far country; tests cards in tiny bursts; mules transfer', () => {
    const seenDevices = new Map<string, Set<string>>();
    let far = 0;
    let ato = 0;
    const lastCardTest = new Map<string, number>();
    let bursts = 0;
    for (const g of items) {
      const tx = g.transaction;
      const devices = seenDevices.get(tx.customerId) ?? new Set<string>();
      seenDevices.set(tx.customerId, devices);
      if (g.fraud === 'account-takeover') {
        ato++;
        assert.equal(tx.channel, 'online');
        assert.ok(tx.deviceId !== undefined && !devices.has(tx.deviceId), 'a device the customer never used');
        if (!(HOMES as readonly string[]).includes(tx.country)) far++;
      } else if (g.fraud === 'card-testing') {
        assert.ok(tx.amount >= 0.5 && tx.amount <= 4 && tx.channel === 'online' && tx.deviceId === undefined);
        const prev = lastCardTest.get(tx.customerId);
        if (prev !== undefined && tx.occurredAt - prev <= 150_000) bursts++;
        lastCardTest.set(tx.customerId, tx.occurredAt);
      } else if (g.fraud === 'mule-transfers') {
        assert.equal(tx.channel, 'transfer');
        assert.equal(tx.merchantCategory, 'money-transfer');
        const archetype = generator.customers.find((c) => c.id === tx.customerId)?.archetype;
        assert.ok(archetype === 'student' || archetype === 'nomad', String(archetype));
      } else if (tx.deviceId !== undefined) devices.add(tx.deviceId);
    }
    assert.ok(far / ato > 0.5, `${far} of ${ato} takeovers from abroad`);
    assert.ok(bursts > 20, `${bursts} card tests within 150 s of the previous one`);
  });
});

describe('the foreign source: shifts', () => {
  const A = FROM + 35 * DAY;
  const B = FROM + 70 * DAY;
  let items: ForeignGenerated[];
  let rows: TrainingRow[];
  let archetype: Map<string, ForeignArchetype>;
  before(() => {
    const shiftA = { ...DEFAULT_FOREIGN_GENERATOR.shiftA, at: A };
    const shiftB = { ...DEFAULT_FOREIGN_GENERATOR.shiftB, at: B };
    const generator = createForeignGenerator({ seed: 8, customers: 250, shiftA, shiftB }, FROM);
    items = generator.until(FROM + 100 * DAY);
    archetype = new Map(generator.customers.map((c) => [c.id, c.archetype]));
    const accepted = items.map((g) => ({ ...g.transaction, ingestedAt: g.transaction.occurredAt }));
    rows = buildTrainingRows(customerFeatures, accepted);
  });
  const column = (name: string) => customerFeatures.columns.indexOf(name);
  const average = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
  const between = (from: number, to: number) => rows.filter((r) => r.time >= from && r.time < to);
  const mean = (rs: TrainingRow[], name: string) =>
    rs.reduce((s, r) => s + (r.values[column(name)] ?? 0), 0) / rs.length;

  it('shift A moves risk’s inputs at its time: amounts × 1.5, more online, a burst of new (wallet) devices', () => {
    const before = between(A - 10 * DAY, A);
    const after = between(A + 10 * DAY, A + 20 * DAY);
    const first = between(A, A + 5 * DAY);
    const legit = (from: number, to: number) =>
      items
        .filter((g) => g.fraud === null && g.transaction.occurredAt >= from && g.transaction.occurredAt < to)
        .map((g) => g.transaction.amount);
    const priceRatio = median(legit(A + 10 * DAY, A + 20 * DAY)) / median(legit(A - 10 * DAY, A));
    assert.ok(priceRatio > 1.35 && priceRatio < 1.65, `median amount × ${priceRatio}`);
    assert.ok(mean(after, 'is_online') - mean(before, 'is_online') > 0.2, 'online share up');
    assert.ok(mean(first, 'new_device') > 3 * mean(before, 'new_device'), 'wallet enrolments');
    const wallets = items.filter((g) => g.transaction.deviceId?.endsWith('-wallet'));
    assert.ok(wallets.length > 0 && wallets.every((g) => g.transaction.occurredAt >= A));
  });

  it('shift A leaves segment’s frequency and recency alone; shift B moves them, by archetype', () => {
    // the mean over the archetype's customers of their latest row's value (what segment sees per customer)
    const segmentOf = (at: number, kind: ForeignArchetype, name: string) =>
      average(
        latestPerCustomer(rows, at)
          .filter((r) => archetype.get(r.customerId) === kind)
          .map((r) => r.values[column(name)] ?? 0),
      );
    const ratio = (from: number, to: number, kind: ForeignArchetype, name: string) =>
      segmentOf(to, kind, name) / segmentOf(from, kind, name);
    for (const kind of ['student', 'retiree', 'family'] as const) {
      const aCount = ratio(A, A + 30 * DAY, kind, 'txn_count_30d');
      assert.ok(aCount > 0.8 && aCount < 1.25, `${kind}: txn_count_30d × ${aCount} across shift A`);
    }
    assert.ok(ratio(B, B + 30 * DAY, 'student', 'txn_count_30d') < 0.5, 'students buy less often');
    assert.ok(ratio(B, B + 30 * DAY, 'retiree', 'txn_count_30d') > 2, 'retirees buy more often');
    assert.ok(ratio(B, B + 30 * DAY, 'family', 'amount_mean_30d') > 1.6, 'families buy in bulk');
    assert.ok(ratio(B, B + 30 * DAY, 'student', 'seconds_since_last') > 1.6, 'students come back later');
    assert.ok(ratio(B, B + 30 * DAY, 'retiree', 'seconds_since_last') < 0.5, 'retirees come back sooner');
  });
});

describe('the foreign source on a broker', () => {
  it('replays history then streams through stationary, shift A and shift B, retrying a batch the broker refused', async () => {
    const batches: Record<string, unknown>[][] = [];
    const contentTypes = new Set<string | undefined>();
    let requests = 0;
    const server = createServer(async (req: IncomingMessage, res) => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      contentTypes.add(req.headers['content-type']);
      if (requests++ === 1) {
        res.writeHead(503).end();
        return;
      }
      batches.push(JSON.parse(Buffer.concat(chunks).toString()) as Record<string, unknown>[]);
      res.writeHead(202).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const phases: ForeignProgress['phase'][] = [];
    const source = createForeignSource({
      brokerUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
      seed: 3,
      customers: 40,
      rate: 400,
      durationSec: 1.5,
      driftAfterSec: 0.5,
      shiftBAfterSec: 1,
      historyDays: 10,
      onProgress: (p) => phases.push(p.phase),
    });
    // what bootstrapChampions takes: the demo source's surface (checked by the compiler)
    const asDemo: Parameters<typeof bootstrapChampions>[0]['source'] = source;
    let replayed = 0;
    try {
      replayed = await asDemo.history();
      await source.live();
    } finally {
      source.stop();
      server.close();
    }
    assert.deepEqual([...contentTypes], ['application/cloudevents-batch+json']);
    assert.ok(replayed > 500 && requests > batches.length, `${replayed} replayed, ${requests} requests`);
    assert.deepEqual([...new Set(phases)], ['stationary', 'shift-a', 'shift-b']);
    const events = batches.flat();
    const stats = source.stats();
    assert.equal(events.length, stats.sent, 'every batch counted once, the refused one sent again');
    const ids = new Set(events.map((e) => String(e.id)));
    assert.ok(stats.duplicates > 0 && ids.size === events.length - stats.duplicates);
    assert.ok(source.transactionIds.size > 0 && [...source.transactionIds].every((id) => ids.has(id)));
    assert.ok(
      source.timeline.driftAt < source.timeline.shiftBAt &&
        source.timeline.shiftBAt < source.timeline.liveEnd,
    );
  });
});
