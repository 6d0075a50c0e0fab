// score's candidate form (POST /v1/score {"transaction": …}) against featurize over real HTTP, on Redis and in memory.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { featurizeFunction } from '../../functions/featurize/function.ts';
import { scoreFunction } from '../../functions/score/function.ts';
import {
  type AcceptedTransaction,
  EventTypes,
  normalizeTransaction,
  type Transaction,
} from '../../shared/events/index.ts';
import { buildTrainingRows, customerFeatures, toNamedValues } from '../../shared/features/index.ts';
import { ModelRegistry } from '../../shared/registry/index.ts';
import { createLogger, type RunningFunction, serve } from '../../shared/runtime/index.ts';
import type { OnlineStore } from '../../shared/store/index.ts';
import { postEvent, postJson } from '../support/http.ts';
import { registerChampions } from '../support/models.ts';
import { seededRandom as rng } from '../../shared/random/index.ts';
import { storeBackends } from '../support/store-backends.ts';

const log = createLogger({ name: 'score-candidate', level: 'silent' });
const opts = { port: 0, host: '127.0.0.1', log, maxBodyBytes: 1 << 20, shutdownGraceMs: 500 };
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const LATENESS = HOUR;
const SKEW = 5 * MINUTE;
const set = customerFeatures;

interface Candidate {
  customerId: string;
  transactionId: string;
  occurredAt: number;
  risk: number;
  segment: number;
  model: { name: string; version: number };
  segmentModel: { name: string; version: number };
  featureSet: { name: string; version: string };
  values: Record<string, number>;
  duplicate: boolean;
  firstTransaction: boolean;
}

/**
 * Raw transactions in arrival order for `customers` customers, each within 30 days (nothing is ever trimmed, so the
 * offline builder sees what the store keeps): mostly forward in time, with same-timestamp ties, events exactly one
 * window after an earlier one, late-but-allowed ones (up to exactly the allowed lateness), too-late ones, first
 * sightings of countries and devices, amounts as numbers and decimal strings, times as epoch ms and ISO strings.
 */
function generate(seed: number, customers: number, perCustomer: number, start: number): Transaction[] {
  const draw = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(draw() * xs.length)] as T;
  const windows = [10 * MINUTE, HOUR, DAY, 7 * DAY, 30 * DAY];
  const out: Transaction[][] = [];
  for (let c = 0; c < customers; c++) {
    const customerId = `cand-${seed}-${c}`;
    const first = start + Math.floor(draw() * DAY);
    const limit = first + 30 * DAY;
    const times: number[] = [];
    let newest = first;
    const lane: Transaction[] = [];
    for (let k = 0; k < perCustomer; k++) {
      let t: number;
      const r = draw();
      if (k === 0) t = first;
      else if (r < 0.45) t = newest + 1000 + Math.floor(draw() * 6 * HOUR);
      else if (r < 0.55) t = pick(times.filter((x) => x >= newest - LATENESS));
      else if (r < 0.72) {
        t = pick(times) + pick(windows);
        if (t < newest - LATENESS) t = newest - LATENESS;
      } else if (r < 0.87) t = newest - Math.floor(draw() * (LATENESS + 1));
      else if (r < 0.92) t = newest - LATENESS;
      else t = newest - LATENESS - 1 - Math.floor(draw() * 3 * HOUR);
      t = Math.min(t, limit);
      const late = t < newest - LATENESS;
      if (!late) {
        times.push(t);
        newest = Math.max(newest, t);
      }
      const cents = Math.floor(draw() * 100_000);
      const amountKind = draw();
      const amount =
        amountKind < 0.4 ? cents / 100 : amountKind < 0.7 ? (cents / 100).toFixed(2) : Math.floor(cents / 10);
      const countryDraw = draw();
      const deviceDraw = draw();
      const tx: Transaction = {
        transactionId: `${customerId}-${k % 3 === 0 ? 'x' : ''}${k}`,
        customerId,
        amount,
        currency: draw() < 0.8 ? 'EUR' : 'eur',
        merchantCategory: pick(['grocery', 'Travel', 'electronics', 'fuel']),
        channel: pick(['pos', 'online', 'atm', 'transfer'] as const),
        country: countryDraw < 0.7 ? 'DE' : countryDraw < 0.8 ? 'de' : pick(['FR', 'ES', 'US', 'JP', 'BR']),
        occurredAt: draw() < 0.5 ? t : new Date(t).toISOString(),
      };
      if (deviceDraw < 0.6) tx.deviceId = `${customerId}-phone`;
      else if (deviceDraw < 0.8) tx.deviceId = `${customerId}-dev-${Math.floor(draw() * 4)}`;
      lane.push(tx);
    }
    out.push(lane);
  }
  // interleave the customers' lanes, each kept in its own order
  const arrival: Transaction[] = [];
  const cursors = out.map(() => 0);
  while (arrival.length < customers * perCustomer) {
    const c = Math.floor(draw() * customers);
    const lane = out[c] as Transaction[];
    const i = cursors[c] as number;
    if (i < lane.length) {
      arrival.push(lane[i] as Transaction);
      cursors[c] = i + 1;
    }
  }
  return arrival;
}

function storeSuite(name: string, open: () => Promise<{ store: OnlineStore; close(): Promise<void> }>) {
  describe(`score's candidate transactions on ${name}`, () => {
    let store: OnlineStore;
    let closeStore: () => Promise<void>;
    let score: RunningFunction;
    let featurize: RunningFunction;
    const start = Date.now() - 40 * DAY;
    const clock = () => ({ now: Date.now(), maxSkewMs: SKEW });
    before(async () => {
      ({ store, close: closeStore } = await open());
      const registry = new ModelRegistry({ store });
      await registerChampions(registry, -2);
      const s = scoreFunction({
        store,
        registry,
        config: {
          MODEL_ALIAS_TTL_MS: 60_000,
          MODEL_LOAD_TIMEOUT_MS: 2_000,
          ALLOWED_LATENESS_MS: LATENESS,
          MAX_CLOCK_SKEW_MS: SKEW,
        },
        log,
        ownsStore: false,
      });
      await s.models.start();
      score = await serve(s.def, opts);
      featurize = await serve(
        { ...featurizeFunction({ store, config: { ALLOWED_LATENESS_MS: LATENESS } }), close: async () => {} },
        opts,
      );
    });
    after(async () => {
      await score.close();
      await featurize.close();
      await closeStore();
    });

    const candidate = async (tx: Transaction) => {
      const res = await postJson(`${score.url}/v1/score`, { transaction: tx });
      const result = (res.json.results as Candidate[] | undefined)?.[0];
      return { status: res.status, result, json: res.json };
    };
    const apply = async (tx: AcceptedTransaction) => {
      const res = await postEvent(featurize.url, {
        id: `ev-${tx.transactionId}`,
        type: EventTypes.transactionAccepted,
        data: tx,
      });
      return { status: res.status, values: (res.body as { values?: Record<string, number> }).values };
    };

    it('scores each transaction exactly as featurize then computes it, and an applied one on the state before it', async (t) => {
      const arrival = generate(name === 'redis' ? 31 : 32, 12, 45, start);
      const applied: AcceptedTransaction[] = [];
      const byId = new Map<string, { raw: Transaction; reply: Record<string, number> }>();
      let dropped = 0;
      let ties = 0;
      let late = 0;
      let firsts = 0;
      let edges = 0;
      for (const raw of arrival) {
        const tx = { ...normalizeTransaction(raw, clock()), ingestedAt: Date.now() };
        const mine = applied.filter((a) => a.customerId === tx.customerId);
        const newest = Math.max(...mine.map((a) => a.occurredAt));
        const before = await candidate(raw);
        const reply = await apply(tx);
        if (reply.status === 202) {
          // featurize dropped it (too late): the candidate says so with 409 and computes nothing
          assert.ok(tx.occurredAt < newest - LATENESS, `${tx.transactionId} dropped but not too late`);
          assert.equal(before.status, 409, JSON.stringify(before.json));
          assert.match(String(before.json.detail), /featurize would drop it/);
          dropped++;
          continue;
        }
        assert.equal(reply.status, 200);
        assert.ok(reply.values);
        assert.equal(before.status, 200, JSON.stringify(before.json));
        assert.deepEqual(before.result?.values, reply.values, `${tx.transactionId} before it was applied`);
        assert.equal(before.result?.duplicate, false);
        assert.equal(before.result?.occurredAt, tx.occurredAt);
        assert.deepEqual(before.result?.featureSet, { name: set.name, version: set.version });
        const hasPrior = mine.some(
          (a) => a.occurredAt < tx.occurredAt && a.occurredAt >= tx.occurredAt - set.retentionMs,
        );
        assert.equal(before.result?.firstTransaction, !hasPrior);
        if (!hasPrior) firsts++;
        if (mine.some((a) => a.occurredAt === tx.occurredAt)) ties++;
        if (mine.some((a) => set.windowsMs.includes(tx.occurredAt - a.occurredAt))) edges++;
        if (tx.occurredAt < newest) late++;
        applied.push(tx);
        byId.set(tx.transactionId, { raw, reply: reply.values });
        // the same transaction again, now applied: a duplicate, scored on the state before it
        const again = await candidate(raw);
        assert.equal(again.status, 200);
        assert.equal(again.result?.duplicate, true);
        assert.deepEqual(again.result?.values, reply.values, `${tx.transactionId} after it was applied`);
        assert.equal(again.result?.risk, before.result?.risk);
      }
      const counts = { applied: applied.length, dropped, ties, late, firsts, edges };
      t.diagnostic(JSON.stringify(counts));
      assert.ok(dropped > 5 && ties > 5 && late > 20 && firsts >= 12 && edges > 20, JSON.stringify(counts));

      // Afterwards, every applied transaction scores on the state before it as it stands now: the offline builder's
      // row over everything applied (late events included), and featurize's reply to a redelivery, whose first
      // sightings are those its first delivery saw (a same-value event applied later but earlier in time changes them).
      const rows = buildTrainingRows(set, applied);
      let novelty = 0;
      for (const row of rows) {
        const entry = byId.get(row.transactionId);
        assert.ok(entry);
        const now = await candidate(entry.raw);
        assert.equal(now.result?.duplicate, true);
        assert.deepEqual(now.result?.values, toNamedValues(set, row.values), `${row.transactionId} offline`);
        const redelivered = await apply({ ...normalizeTransaction(entry.raw, clock()), ingestedAt: 0 });
        for (const c of set.columns) {
          if (redelivered.values?.[c] === now.result?.values[c]) continue;
          assert.ok(
            c === 'new_country' || c === 'new_device',
            `${row.transactionId} ${c} differs from featurize`,
          );
          novelty++;
        }
      }
      t.diagnostic(`${novelty} novelty values differ from featurize's redelivery of ${rows.length}`);
      assert.ok(novelty < rows.length / 10, `${novelty} novelty values differ from featurize's redelivery`);
    });

    it('scores an unknown customer as a first transaction and writes nothing', async () => {
      const tx: Transaction = {
        transactionId: 'first-1',
        customerId: `nobody-${name}`,
        amount: '42.50',
        currency: 'usd',
        merchantCategory: 'Fuel',
        channel: 'online',
        country: 'us',
        deviceId: 'dev-1',
        occurredAt: new Date(Date.now() - MINUTE).toISOString(),
      };
      const res = await candidate(tx);
      assert.equal(res.status, 200, JSON.stringify(res.json));
      const r = res.result;
      assert.equal(r?.firstTransaction, true);
      assert.equal(r?.duplicate, false);
      assert.equal(r?.customerId, tx.customerId);
      assert.equal(r?.values.amount, 42.5);
      assert.equal(r?.values.txn_count_30d, 0);
      assert.equal(r?.values.seconds_since_last, 30 * 24 * 3600);
      assert.equal(r?.values.new_country, 1);
      assert.equal(r?.values.new_device, 1);
      assert.equal(r?.values.is_online, 1);
      assert.deepEqual(r?.model, { name: 'risk', version: 1 });
      assert.deepEqual(r?.segmentModel, { name: 'segment', version: 1 });
      // the same vector by value scores the same
      const byVector = await postJson(`${score.url}/v1/score`, { features: r?.values });
      assert.equal((byVector.json.results as { risk: number }[])[0]?.risk, r?.risk);
      assert.equal((await store.readCustomers([tx.customerId], set)).size, 0, 'nothing written');
      const applied = await apply({ ...normalizeTransaction(tx, clock()), ingestedAt: Date.now() });
      assert.deepEqual(applied.values, r?.values);
      const state = await store.readCustomers([tx.customerId], set);
      const second = await candidate({ ...tx, transactionId: 'first-2', amount: 10, occurredAt: Date.now() });
      assert.deepEqual(await store.readCustomers([tx.customerId], set), state, 'nothing written');
      assert.equal(second.result?.firstTransaction, false);
      assert.equal(second.result?.values.txn_count_10m, 1);
      assert.equal(second.result?.values.new_country, 0);
    });

    const valid: Transaction = {
      transactionId: 'bad-1',
      customerId: 'bad-customer',
      amount: 10,
      currency: 'EUR',
      merchantCategory: 'grocery',
      channel: 'pos',
      country: 'DE',
      occurredAt: 1_700_000_000_000,
    };
    const bad: [string, Record<string, unknown>, string][] = [
      ['an amount that is not a decimal', { amount: '12,50' }, 'transaction.amount'],
      ['a negative amount', { amount: -3 }, 'transaction.amount'],
      ['an amount beyond the limit', { amount: '2000000000' }, 'transaction.amount'],
      ['an unknown currency', { currency: 'XYZ' }, 'transaction.currency'],
      ['an unknown country', { country: 'QQ' }, 'transaction.country'],
      ['an unknown channel', { channel: 'fax' }, 'transaction.channel'],
      ['a time beyond the clock skew', { occurredAt: Date.now() + DAY }, 'transaction.occurredAt'],
      ['a time that is no time', { occurredAt: 'yesterday' }, 'transaction.occurredAt'],
      ['a missing customer', { customerId: undefined }, 'transaction.customerId'],
      ['a control character in the id', { transactionId: 'a\u0001b' }, 'transaction.transactionId'],
    ];
    for (const [what, change, field] of bad) {
      it(`answers 400 naming ${field} for ${what}`, async () => {
        const res = await candidate({ ...valid, ...change } as Transaction);
        assert.equal(res.status, 400, JSON.stringify(res.json));
        assert.equal(res.json.field, field);
      });
    }
  });
}

for (const [name, open] of storeBackends) storeSuite(name, open);
