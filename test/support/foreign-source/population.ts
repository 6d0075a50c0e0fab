// The foreign source's customers: five archetypes unlike the demo's, their habits, and how the two shifts change them.
import type { Rng } from '../../../shared/training/random.ts';

const DAY = 86_400_000;

export const FOREIGN_ARCHETYPES = ['student', 'shop-owner', 'retiree', 'nomad', 'family'] as const;
export type ForeignArchetype = (typeof FOREIGN_ARCHETYPES)[number];

export type Channel = 'pos' | 'online' | 'atm' | 'transfer';

/** One archetype's habits: a Poisson rate, a log-normal amount (EUR), merchant and channel mixes, devices, travel. */
export interface Habits {
  perDay: number;
  amount: { median: number; sigma: number };
  categories: Readonly<Record<string, number>>;
  channels: Readonly<Record<Channel, number>>;
  devices: number;
  /** Mean days at home between two trips abroad (nomads instead move to a new country every 7–25 days). */
  daysBetweenTrips: number;
}

/** The habits before any shift. Card-present (pos, atm) payments carry no device id; online and transfers do. */
export const HABITS: Readonly<Record<ForeignArchetype, Habits>> = {
  student: {
    perDay: 3.2,
    amount: { median: 9, sigma: 0.6 },
    categories: { canteen: 4, cafe: 3, 'app-store': 1, streaming: 1, bookshop: 1 },
    channels: { pos: 0.55, online: 0.4, atm: 0.05, transfer: 0 },
    devices: 1,
    daysBetweenTrips: 60,
  },
  'shop-owner': {
    perDay: 1.6,
    amount: { median: 180, sigma: 0.7 },
    categories: { wholesale: 4, 'office-supplies': 2, fuel: 2 },
    channels: { pos: 0.45, online: 0.3, atm: 0, transfer: 0.25 },
    devices: 2,
    daysBetweenTrips: 45,
  },
  retiree: {
    perDay: 0.7,
    amount: { median: 40, sigma: 0.45 },
    categories: { pharmacy: 3, grocery: 4, garden: 1 },
    channels: { pos: 0.82, online: 0.05, atm: 0.13, transfer: 0 },
    devices: 1,
    daysBetweenTrips: 90,
  },
  nomad: {
    perDay: 1.8,
    amount: { median: 55, sigma: 0.8 },
    categories: { coworking: 2, restaurant: 3, airline: 1, lodging: 2 },
    channels: { pos: 0.4, online: 0.6, atm: 0, transfer: 0 },
    devices: 3,
    daysBetweenTrips: 0,
  },
  family: {
    perDay: 2.2,
    amount: { median: 70, sigma: 0.6 },
    categories: { grocery: 5, 'kids-clothing': 2, fuel: 2, 'home-improvement': 1 },
    channels: { pos: 0.7, online: 0.3, atm: 0, transfer: 0 },
    devices: 2,
    daysBetweenTrips: 70,
  },
};

/** Purchases per customer and day before the shifts, averaged over the archetypes (customers take them in turn). */
export const FOREIGN_MEAN_PER_DAY =
  FOREIGN_ARCHETYPES.reduce((s, a) => s + HABITS[a].perDay, 0) / FOREIGN_ARCHETYPES.length;

/** Home countries (all in the euro area: amounts are in the card's billing currency, EUR). */
export const HOMES = ['PT', 'AT', 'BE', 'FI', 'IE', 'SK', 'SI', 'LT'] as const;
/** Where nomads live, a few weeks at a time. */
export const NOMAD_COUNTRIES = [
  'GE',
  'MX',
  'TH',
  'VN',
  'CO',
  'ID',
  'MA',
  'AL',
  'CR',
  'MY',
  'PE',
  'ZA',
] as const;
/** Trips of the settled archetypes: mostly near, one in four far (some of them where account takeovers come from). */
export const NEAR_ABROAD = ['ES', 'IT', 'FR', 'DE', 'HR', 'GR'] as const;
export const FAR_TRIPS = ['US', 'JP', 'TH', 'BR', 'PH', 'KE'] as const;
/** Where account takeovers are run from: far from every home. */
export const FAR_COUNTRIES = ['NG', 'PH', 'KZ', 'PK', 'BR', 'AR', 'BD', 'KE'] as const;

/** Shift A (prices and checkout): legit amounts × priceFactor, online share + onlineBoost, a wallet device. */
export interface ShiftA {
  at: number;
  priceFactor: number;
  /** Added to the online share of every archetype's channel mix (taken from pos first). */
  onlineBoost: number;
  /** Share of online payments after the shift made from the customer's new wallet device. */
  walletShare: number;
}

/** Shift B (behaviour): per archetype, multipliers on the daily rate and on the median amount. */
export interface ShiftB {
  at: number;
  perDay: Readonly<Partial<Record<ForeignArchetype, number>>>;
  amount: Readonly<Partial<Record<ForeignArchetype, number>>>;
}

/** Students on a break buy less often but more, retirees take up grocery delivery, families buy in bulk. */
export const DEFAULT_SHIFT_B_EFFECT: Omit<ShiftB, 'at'> = {
  perDay: { student: 0.35, retiree: 3, family: 0.45 },
  amount: { student: 2.8, retiree: 0.55, family: 2.2 },
};

/** Mean days between two phone replacements (a legitimate new device). */
export const PHONE_LIFETIME_DAYS = 120;

export interface ForeignCustomer {
  id: string;
  archetype: ForeignArchetype;
  home: string;
  devices: string[];
  /** The wallet device first used after shift A. */
  wallet: string;
  /** Where the customer is now, and until when (a nomad's stay, a trip, or home until the next trip). */
  stay: { country: string; until: number };
  /** When the customer's phone (devices[0]) is next replaced by a new one. */
  phoneUntil: number;
}

/** Customers take the archetypes in turn; devices and homes come from `rng`. */
export function createCustomers(rng: Rng, count: number, seed: number, from: number): ForeignCustomer[] {
  return Array.from({ length: count }, (_, i) => {
    const archetype = FOREIGN_ARCHETYPES[i % FOREIGN_ARCHETYPES.length] as ForeignArchetype;
    const id = `fc-${seed}-${String(i).padStart(5, '0')}`;
    const devices = Array.from({ length: HABITS[archetype].devices }, (_, d) => `${id}-d${d}`);
    const home = pick(rng, HOMES);
    // start in the steady state: away on a trip (6.5 days on average) with the long-run share of time away
    const between = HABITS[archetype].daysBetweenTrips;
    const stay =
      archetype === 'nomad'
        ? { country: pick(rng, NOMAD_COUNTRIES), until: from + (7 + rng.next() * 18) * DAY }
        : rng.next() < 6.5 / (6.5 + between)
          ? { country: pick(rng, NEAR_ABROAD), until: from + rng.next() * 10 * DAY }
          : { country: home, until: from + exponential(rng, between * DAY) };
    return {
      id,
      archetype,
      home,
      devices,
      wallet: `${id}-wallet`,
      stay,
      phoneUntil: from + exponential(rng, PHONE_LIFETIME_DAYS * DAY),
    };
  });
}

/** The habits in force at `t`: the base ones, changed by shift A (channels) and shift B (rate, amount). */
export function habitsAt(archetype: ForeignArchetype, t: number, a: ShiftA, b: ShiftB): Habits {
  const base = HABITS[archetype];
  let habits = base;
  if (t >= a.at && a.onlineBoost > 0) {
    const boost = Math.min(a.onlineBoost, base.channels.pos + base.channels.atm);
    const fromPos = Math.min(boost, base.channels.pos);
    habits = {
      ...habits,
      channels: {
        ...base.channels,
        online: base.channels.online + boost,
        pos: base.channels.pos - fromPos,
        atm: base.channels.atm - (boost - fromPos),
      },
    };
  }
  if (t >= b.at) {
    habits = {
      ...habits,
      perDay: habits.perDay * (b.perDay[archetype] ?? 1),
      amount: { ...habits.amount, median: habits.amount.median * (b.amount[archetype] ?? 1) },
    };
  }
  return habits;
}

/**
 * Moves `c` on when its stay is over: a nomad to another country for 7–25 days; a settled customer at home on a
 * trip of 3–10 days (three in four near, one in four far), and back home after it. A phone past its lifetime is
 * replaced (devices[0] gets a new id).
 */
export function advance(c: ForeignCustomer, at: number, rng: Rng): void {
  if (at >= c.stay.until) {
    if (c.archetype === 'nomad') {
      const next = NOMAD_COUNTRIES.filter((k) => k !== c.stay.country);
      c.stay = { country: pick(rng, next), until: at + (7 + rng.next() * 18) * DAY };
    } else if (c.stay.country === c.home) {
      const country = rng.next() < 0.75 ? pick(rng, NEAR_ABROAD) : pick(rng, FAR_TRIPS);
      c.stay = { country, until: at + (3 + rng.next() * 7) * DAY };
    } else {
      c.stay = { country: c.home, until: at + exponential(rng, HABITS[c.archetype].daysBetweenTrips * DAY) };
    }
  }
  if (at >= c.phoneUntil) {
    c.devices[0] = `${c.id}-p${Math.round(at)}`;
    c.phoneUntil = at + exponential(rng, PHONE_LIFETIME_DAYS * DAY);
  }
}

/** Uniform pick from a non-empty list. */
export function pick<T>(rng: Rng, items: readonly T[]): T {
  const item = items[rng.int(items.length)];
  if (item === undefined) throw new Error('pick from an empty list');
  return item;
}

/** A key of `weights` with probability proportional to its weight (zero weights never). */
export function weighted<K extends string>(rng: Rng, weights: Readonly<Record<K, number>>): K {
  const entries = Object.entries(weights) as [K, number][];
  let x = rng.next() * entries.reduce((s, [, w]) => s + w, 0);
  for (const [k, w] of entries) {
    x -= w;
    if (x < 0 && w > 0) return k;
  }
  const last = entries.filter(([, w]) => w > 0).at(-1);
  if (!last) throw new Error('weighted pick from no positive weight');
  return last[0];
}

/** An exponential draw with the given mean. */
export function exponential(rng: Rng, mean: number): number {
  return -mean * Math.log(1 - rng.next());
}
