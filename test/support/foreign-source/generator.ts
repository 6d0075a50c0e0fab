// The foreign source's event-time stream: habitual purchases, three fraud patterns, late labels, two shifts.
import type { Label, Transaction } from '../../../shared/events/index.ts';
import { createRng } from '../../../shared/training/random.ts';
import {
  advance,
  type Channel,
  createCustomers,
  DEFAULT_SHIFT_B_EFFECT,
  exponential,
  FAR_COUNTRIES,
  type ForeignCustomer,
  habitsAt,
  pick,
  type ShiftA,
  type ShiftB,
  weighted,
} from './population.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

export const FOREIGN_FRAUDS = ['account-takeover', 'card-testing', 'mule-transfers'] as const;
export type ForeignFraud = (typeof FOREIGN_FRAUDS)[number];

export interface ForeignGeneratorOptions {
  seed: number;
  customers: number;
  shiftA: ShiftA;
  shiftB: ShiftB;
  /** Incidents per eligible customer and day (mule transfers: students and nomads only). */
  incidentsPerCustomerDay: Readonly<Record<ForeignFraud, number>>;
  /** Share of legitimate transactions that get a (negative) review label. */
  legitLabelRate: number;
  /** Share of fraudulent transactions ever labelled (a few cents tested on a card often go unnoticed). */
  fraudLabelShare: Readonly<Record<ForeignFraud, number>>;
  /** Delay from a transaction to its label, by what it was. */
  labelDelayMs: Readonly<Record<ForeignFraud | 'review', { min: number; max: number }>>;
}

export const DEFAULT_FOREIGN_GENERATOR: ForeignGeneratorOptions = {
  seed: 1,
  customers: 500,
  shiftA: { at: Number.POSITIVE_INFINITY, priceFactor: 1.5, onlineBoost: 0.35, walletShare: 0.8 },
  shiftB: { at: Number.POSITIVE_INFINITY, ...DEFAULT_SHIFT_B_EFFECT },
  incidentsPerCustomerDay: { 'account-takeover': 0.004, 'card-testing': 0.003, 'mule-transfers': 0.006 },
  legitLabelRate: 0.03,
  fraudLabelShare: { 'account-takeover': 1, 'card-testing': 0.85, 'mule-transfers': 1 },
  labelDelayMs: {
    'account-takeover': { min: 2 * HOUR, max: 2 * DAY },
    'card-testing': { min: DAY, max: 6 * DAY },
    'mule-transfers': { min: 3 * DAY, max: 12 * DAY },
    review: { min: DAY, max: 5 * DAY },
  },
};

/** A raw transaction as the source sends it (amount in EUR, time in epoch ms). */
export type ForeignTransaction = Transaction & { amount: number; occurredAt: number };

/** One generated transaction with the truth behind it and, when one will come, its label. */
export interface ForeignGenerated {
  transaction: ForeignTransaction;
  fraud: ForeignFraud | null;
  label?: Label & { labelledAt: number };
}

type Entry =
  | { at: number; seq: number; kind: 'habit'; customer: number }
  | { at: number; seq: number; kind: 'incident'; fraud: ForeignFraud }
  | { at: number; seq: number; kind: 'tx'; item: ForeignGenerated };

/** A stream of transactions in event-time order from `from` on; the same seed gives the same stream. */
export function createForeignGenerator(options: Partial<ForeignGeneratorOptions> = {}, from = Date.now()) {
  const opts: ForeignGeneratorOptions = { ...DEFAULT_FOREIGN_GENERATOR, ...options };
  const rng = createRng(opts.seed ^ 0x5eed_f00d);
  const customers = createCustomers(rng, opts.customers, opts.seed, from);
  const muleable = customers.filter((c) => c.archetype === 'student' || c.archetype === 'nomad');
  const heap = new EntryHeap();
  let txSeq = 0;
  let freshSeq = 0;
  customers.forEach((c, i) => {
    const perDay = habitsAt(c.archetype, from, opts.shiftA, opts.shiftB).perDay;
    heap.push({ at: from + exponential(rng, DAY / perDay), kind: 'habit', customer: i });
  });
  const incidentMean = (fraud: ForeignFraud) =>
    DAY / (opts.incidentsPerCustomerDay[fraud] * (fraud === 'mule-transfers' ? muleable : customers).length);
  for (const fraud of FOREIGN_FRAUDS)
    if (opts.incidentsPerCustomerDay[fraud] > 0)
      heap.push({ at: from + exponential(rng, incidentMean(fraud)), kind: 'incident', fraud });

  const price = (at: number) => (at >= opts.shiftA.at ? opts.shiftA.priceFactor : 1);
  const cents = (x: number) => Math.max(0.01, Math.round(x * 100) / 100);

  function make(
    c: ForeignCustomer,
    at: number,
    fraud: ForeignFraud | null,
    fields: {
      amount: number;
      merchantCategory: string;
      channel: Channel;
      country: string;
      deviceId?: string;
    },
  ): ForeignGenerated {
    const transaction: ForeignTransaction = {
      transactionId: `ftx-${opts.seed}-${String(++txSeq).padStart(8, '0')}`,
      customerId: c.id,
      currency: 'EUR',
      occurredAt: Math.round(at),
      ...fields,
      amount: cents(fields.amount),
    };
    const item: ForeignGenerated = { transaction, fraud };
    if (rng.next() < (fraud === null ? opts.legitLabelRate : opts.fraudLabelShare[fraud])) {
      const delay = opts.labelDelayMs[fraud ?? 'review'];
      item.label = {
        transactionId: transaction.transactionId,
        customerId: c.id,
        isFraud: fraud !== null,
        labelledAt: Math.round(at + delay.min + rng.next() * (delay.max - delay.min)),
      };
    }
    return item;
  }

  /** One habitual purchase; a shop owner's supplier transfer sometimes has a second one soon after. */
  function purchase(c: ForeignCustomer, at: number): ForeignGenerated {
    const h = habitsAt(c.archetype, at, opts.shiftA, opts.shiftB);
    advance(c, at, rng);
    const country = c.stay.country;
    let channel = weighted(rng, h.channels);
    const merchantCategory = channel === 'transfer' ? 'money-transfer' : weighted(rng, h.categories);
    let amount = Math.exp(Math.log(h.amount.median) + h.amount.sigma * rng.normal()) * price(at);
    if (merchantCategory === 'app-store') {
      channel = 'online';
      amount = pick(rng, [0.99, 1.99, 2.99, 4.99]);
    } else if (channel === 'transfer') {
      amount = Math.exp(Math.log(900) + 0.5 * rng.normal()) * price(at);
      if (rng.next() < 0.3) {
        const second = at + (10 + rng.next() * 50) * MINUTE;
        const fields = { amount: amount * (0.5 + rng.next()), merchantCategory, channel, country };
        heap.push({ at: second, kind: 'tx', item: make(c, second, null, { ...fields, deviceId: devOf(c) }) });
      }
    }
    const fields = { amount, merchantCategory, channel, country };
    if (channel === 'pos' || channel === 'atm') return make(c, at, null, fields);
    let deviceId = channel === 'transfer' ? devOf(c) : pick(rng, c.devices);
    if (channel === 'online' && at >= opts.shiftA.at && rng.next() < opts.shiftA.walletShare)
      deviceId = c.wallet;
    return make(c, at, null, { ...fields, deviceId });
  }
  const devOf = (c: ForeignCustomer) => c.devices[0] ?? c.id;

  /** The transactions of one attack on `c` starting at `at`, queued in the heap. */
  function attack(fraud: ForeignFraud, c: ForeignCustomer, at: number): void {
    const id = ++freshSeq;
    const queue = (t: number, fields: Parameters<typeof make>[3]) =>
      heap.push({ at: t, kind: 'tx', item: make(c, t, fraud, fields) });
    if (fraud === 'account-takeover') {
      // a new device always; a far country two times in three, else where the customer is (a SIM swap)
      const deviceId = `ato-${opts.seed}-${id}`;
      const country = rng.next() < 0.65 ? pick(rng, FAR_COUNTRIES) : c.stay.country;
      const median = habitsAt(c.archetype, at, opts.shiftA, opts.shiftB).amount.median;
      let t = at;
      for (let n = 1 + rng.int(4); n > 0; n--, t += exponential(rng, 30 * MINUTE)) {
        const amount = Math.max(60 + rng.next() * 340, median * (2 + rng.next() * 6)) * price(t);
        const merchantCategory = pick(rng, ['electronics', 'gift-cards', 'crypto-exchange', 'luxury']);
        queue(t, { amount, merchantCategory, channel: 'online', country, deviceId });
      }
    } else if (fraud === 'card-testing') {
      // card-not-present at merchants the customer never used: no device of theirs, tiny amounts, in quick succession
      const country = rng.next() < 0.6 ? c.home : pick(rng, ['US', 'GB', 'CA', 'SG']);
      let t = at;
      for (let n = 3 + rng.int(8); n > 0; n--, t += (15 + rng.next() * 135) * 1000) {
        const merchantCategory = pick(rng, ['digital-goods', 'donation', 'parking-app', 'gaming-credits']);
        queue(t, { amount: 0.5 + rng.next() * 3.5, merchantCategory, channel: 'online', country });
      }
    } else {
      // a recruited account passes money on: a few transfers within hours, from the customer's own phone
      const country = rng.next() < 0.6 ? c.home : pick(rng, ['LV', 'EE', 'RO', 'BG', 'HU']);
      let t = at;
      for (let n = 2 + rng.int(3); n > 0; n--, t += (15 + rng.next() * 105) * MINUTE) {
        const amount = (150 + rng.next() * 1350) * price(t);
        queue(t, {
          amount,
          merchantCategory: 'money-transfer',
          channel: 'transfer',
          country,
          deviceId: devOf(c),
        });
      }
    }
  }

  /** The next transaction in event-time order. */
  function next(): ForeignGenerated {
    for (;;) {
      const e = heap.pop();
      if (e.kind === 'tx') return e.item;
      if (e.kind === 'incident') {
        const pool = e.fraud === 'mule-transfers' ? muleable : customers;
        attack(e.fraud, pick(rng, pool), e.at);
        heap.push({ at: e.at + exponential(rng, incidentMean(e.fraud)), kind: 'incident', fraud: e.fraud });
        continue;
      }
      const c = customers[e.customer] as ForeignCustomer;
      const item = purchase(c, e.at);
      const perDay = habitsAt(c.archetype, e.at, opts.shiftA, opts.shiftB).perDay;
      heap.push({ at: e.at + exponential(rng, DAY / perDay), kind: 'habit', customer: e.customer });
      return item;
    }
  }

  /** Every transaction with event time before `end` not yet taken. */
  function until(end: number): ForeignGenerated[] {
    const out: ForeignGenerated[] = [];
    // an incident due before `end` starts with a transaction at its own time, so next() stays before `end` too
    while (heap.nextAt() < end) out.push(next());
    return out;
  }

  return { customers, options: opts, next, until };
}

export type ForeignGenerator = ReturnType<typeof createForeignGenerator>;

/** A binary min-heap of scheduled entries by (time, insertion order): ties resolve the same way on every run. */
class EntryHeap {
  private items: Entry[] = [];
  private seq = 0;
  push(e: DistributiveOmit<Entry, 'seq'>): void {
    // whole milliseconds, so an entry's time is its transaction's occurredAt and chunking never reorders
    const entry = { ...e, at: Math.round(e.at), seq: this.seq++ } as Entry;
    const a = this.items;
    a.push(entry);
    for (let i = a.length - 1; i > 0; ) {
      const p = (i - 1) >> 1;
      if (!less(a[i] as Entry, a[p] as Entry)) break;
      [a[i], a[p]] = [a[p] as Entry, a[i] as Entry];
      i = p;
    }
  }
  nextAt(): number {
    return this.items[0]?.at ?? Number.POSITIVE_INFINITY;
  }
  pop(): Entry {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (top === undefined || last === undefined) throw new Error('the schedule is empty');
    if (a.length > 0) {
      a[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && less(a[l] as Entry, a[m] as Entry)) m = l;
        if (r < a.length && less(a[r] as Entry, a[m] as Entry)) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m] as Entry, a[i] as Entry];
        i = m;
      }
    }
    return top;
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

function less(x: Entry, y: Entry): boolean {
  return x.at < y.at || (x.at === y.at && x.seq < y.seq);
}
