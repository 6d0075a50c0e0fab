// Synthetic customers and transactions: behavioural archetypes, fraud patterns, late labels, and a drift that starts on cue.
import type { Label, Transaction } from '../../shared/events/index.ts';
import { type Random, seededRandom } from './random.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export const ARCHETYPES = ['commuter', 'traveller', 'big-spender', 'occasional'] as const;
export type Archetype = (typeof ARCHETYPES)[number];
export type FraudPattern = 'card-testing' | 'account-takeover' | 'large-amount';

interface Profile {
  perDay: number;
  amountLog: { mu: number; sigma: number };
  merchants: Record<string, number>;
  online: number;
  travel: number;
}

/** Each archetype's habits: the segments model should find these groups again. */
const PROFILES: Record<Archetype, Profile> = {
  commuter: {
    perDay: 4,
    amountLog: { mu: Math.log(12), sigma: 0.4 },
    merchants: { transport: 5, grocery: 3, cafe: 3 },
    online: 0.1,
    travel: 0.01,
  },
  traveller: {
    perDay: 2,
    amountLog: { mu: Math.log(90), sigma: 0.6 },
    merchants: { travel: 4, hotel: 3, restaurant: 3 },
    online: 0.4,
    travel: 0.5,
  },
  'big-spender': {
    perDay: 0.8,
    amountLog: { mu: Math.log(400), sigma: 0.5 },
    merchants: { electronics: 3, luxury: 3, jewellery: 2 },
    online: 0.5,
    travel: 0.05,
  },
  occasional: {
    perDay: 0.3,
    amountLog: { mu: Math.log(35), sigma: 0.7 },
    merchants: { grocery: 2, clothing: 2, books: 1 },
    online: 0.6,
    travel: 0.02,
  },
};

/** Transactions per customer and day, on average over the archetypes (customers take them in turn). */
export const MEAN_PER_DAY =
  ARCHETYPES.reduce((sum, archetype) => sum + PROFILES[archetype].perDay, 0) / ARCHETYPES.length;

const HOMES = ['DE', 'FR', 'NL', 'ES', 'IT'] as const;
const ABROAD = ['US', 'GB', 'JP', 'BR', 'TH', 'NG', 'RU', 'CN'] as const;
const CURRENCY: Record<string, string> = {
  DE: 'EUR',
  FR: 'EUR',
  NL: 'EUR',
  ES: 'EUR',
  IT: 'EUR',
  US: 'USD',
  GB: 'GBP',
  JP: 'JPY',
  BR: 'BRL',
  TH: 'THB',
  NG: 'NGN',
  RU: 'RUB',
  CN: 'CNY',
};

export interface Customer {
  id: string;
  archetype: Archetype;
  home: string;
  devices: string[];
}

export interface GeneratorOptions {
  seed: number;
  customers: number;
  /** Share of transactions that are fraud (spread over the three patterns). */
  fraudRate: number;
  /** Event time from which amounts rise and the merchant mix shifts; Infinity = never. */
  driftAt: number;
  /** Multiplier on amounts after the drift (prices rising). */
  driftAmountFactor: number;
  /** Share of legitimate transactions that also get a (negative) label, as reviews would. */
  legitLabelRate: number;
  /** Delay between a transaction and its label. */
  labelDelayMs: { min: number; max: number };
}

export const DEFAULT_GENERATOR: GeneratorOptions = {
  seed: 7,
  customers: 400,
  fraudRate: 0.015,
  driftAt: Number.POSITIVE_INFINITY,
  driftAmountFactor: 1.8,
  legitLabelRate: 0.05,
  labelDelayMs: { min: 2 * HOUR, max: DAY },
};

/** One generated transaction with the truth behind it. */
export interface Generated {
  transaction: Transaction & { occurredAt: number };
  fraud: FraudPattern | null;
  label?: Label & { labelledAt: number };
}

/**
 * A stream of transactions in event-time order from `from` on. Each customer's purchases follow their archetype
 * (a Poisson process at its daily rate); fraud replaces a share of them with one of three patterns.
 */
export function createGenerator(options: Partial<GeneratorOptions> = {}, from: number = Date.now()) {
  const opts = { ...DEFAULT_GENERATOR, ...options };
  const rnd = seededRandom(opts.seed);
  const customers: Customer[] = Array.from({ length: opts.customers }, (_, i) => ({
    id: `cust-${String(i).padStart(5, '0')}`,
    archetype: ARCHETYPES[i % ARCHETYPES.length] as Archetype,
    home: rnd.pick(HOMES),
    devices: Array.from({ length: 1 + rnd.int(2) }, (_, d) => `dev-${i}-${d}`),
  }));
  const nextAt = customers.map((c) => from + rnd.exponential(DAY / PROFILES[c.archetype].perDay));
  let seq = 0;
  const queued: Generated[] = [];

  function purchase(c: Customer, at: number, fraud: FraudPattern | null): Generated {
    const p = PROFILES[c.archetype];
    const drifted = at >= opts.driftAt;
    const abroad = rnd.next() < p.travel;
    const country = fraud === 'account-takeover' ? rnd.pick(ABROAD) : abroad ? rnd.pick(ABROAD) : c.home;
    let amount =
      Math.exp(p.amountLog.mu + p.amountLog.sigma * rnd.normal()) * (drifted ? opts.driftAmountFactor : 1);
    let merchantCategory = rnd.weighted(
      drifted ? { ...p.merchants, electronics: 4, marketplace: 4 } : p.merchants,
    );
    let online = rnd.next() < (drifted ? Math.min(1, p.online + 0.3) : p.online);
    let deviceId = rnd.pick(c.devices);
    if (fraud === 'card-testing') {
      amount = 0.5 + rnd.next() * 2;
      online = true;
      merchantCategory = 'digital-goods';
      deviceId = `dev-fraud-${rnd.int(50)}`;
    } else if (fraud === 'account-takeover') {
      amount *= 3 + rnd.next() * 4;
      online = true;
      deviceId = `dev-fraud-${rnd.int(50)}`;
    } else if (fraud === 'large-amount') {
      amount *= 8 + rnd.next() * 12;
    }
    seq++;
    const tx = {
      transactionId: `tx-${opts.seed}-${String(seq).padStart(8, '0')}`,
      customerId: c.id,
      amount: Math.round(amount * 100) / 100,
      currency: CURRENCY[country] ?? 'EUR',
      merchantCategory,
      channel: online ? ('online' as const) : rnd.next() < 0.05 ? ('atm' as const) : ('pos' as const),
      country,
      deviceId,
      occurredAt: Math.round(at),
    };
    const g: Generated = { transaction: tx, fraud };
    if (fraud !== null || rnd.next() < opts.legitLabelRate) {
      const delay = opts.labelDelayMs.min + rnd.next() * (opts.labelDelayMs.max - opts.labelDelayMs.min);
      g.label = {
        transactionId: tx.transactionId,
        customerId: c.id,
        isFraud: fraud !== null,
        labelledAt: Math.round(at + delay),
      };
    }
    return g;
  }

  /** The next transaction in event-time order (a card-testing burst's later attempts wait in `queued`). */
  function next(): Generated {
    let i = 0;
    for (let j = 1; j < nextAt.length; j++) if ((nextAt[j] ?? 0) < (nextAt[i] ?? 0)) i = j;
    const at = nextAt[i] ?? from;
    const head = queued[0];
    if (head && head.transaction.occurredAt <= at) return queued.shift() as Generated;
    const c = customers[i] as Customer;
    nextAt[i] = at + rnd.exponential(DAY / PROFILES[c.archetype].perDay);
    const fraud: FraudPattern | null =
      rnd.next() < opts.fraudRate
        ? rnd.weighted({ 'card-testing': 1, 'account-takeover': 1, 'large-amount': 1 })
        : null;
    if (fraud === 'card-testing') {
      const burst = 3 + rnd.int(4);
      for (let b = 1; b < burst; b++) queued.push(purchase(c, at + b * (20_000 + rnd.int(60_000)), fraud));
      queued.sort((x, y) => x.transaction.occurredAt - y.transaction.occurredAt);
    }
    return purchase(c, at, fraud);
  }

  /** Every transaction with event time before `until`. */
  function until(end: number): Generated[] {
    const out: Generated[] = [];
    for (;;) {
      const g = next();
      if (g.transaction.occurredAt >= end) {
        queued.unshift(g);
        return out;
      }
      out.push(g);
    }
  }

  return { customers, next, until, options: opts, random: rnd as Random };
}
