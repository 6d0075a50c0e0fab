// Seeded synthetic datasets for the training tests: transactions with a non-linear fraud signal, customer archetypes.
import { createRng } from '../../../shared/training/random.ts';

export const FRAUD_COLUMNS = [
  'amount',
  'hourOfDay',
  'txCount24h',
  'amountToAvg30d',
  'distanceKm',
  'accountAgeDays',
  'foreignRatio',
  'deviceAgeDays',
];

/**
 * Transactions whose fraud log-odds mix a night-time bump, a U-shape in the amount relative to the customer's
 * average (card testing with tiny amounts, cash-out with large ones), a distance × foreign interaction and a
 * new-device step: a linear model sees only part of it. About 3% positives.
 */
export function fraudDataset(opts: { n: number; seed: number }): {
  columns: string[];
  rows: number[][];
  labels: number[];
  /** The true log-odds of each row: the ceiling any model can reach. */
  logits: number[];
} {
  const rng = createRng(opts.seed);
  const rows: number[][] = [];
  const labels: number[] = [];
  const logits: number[] = [];
  for (let i = 0; i < opts.n; i++) {
    const avg = Math.exp(3.5 + 0.6 * rng.normal());
    const amount = avg * Math.exp(0.8 * rng.normal());
    const hour = rng.next() * 24;
    const txCount = Math.floor(-Math.log(1 - rng.next()) * 4);
    const distance = Math.exp(2 + 1.2 * rng.normal());
    const accountAge = 30 + rng.next() * 2000;
    const foreign = rng.next() < 0.8 ? 0 : rng.next();
    const deviceAge = rng.next() < 0.15 ? rng.next() * 2 : 2 + rng.next() * 400;
    const night = Math.exp(-((hour - 3) ** 2) / 3);
    const ratio = amount / avg;
    const logit =
      -6.6 +
      3.0 * night +
      1.8 * Math.abs(Math.log(ratio)) +
      2.5 * foreign * (Math.log(distance) > 3 ? 1 : 0) +
      1.4 * (deviceAge < 2 ? 1 : 0) +
      0.12 * txCount;
    logits.push(logit);
    labels.push(rng.next() < 1 / (1 + Math.exp(-logit)) ? 1 : 0);
    rows.push([amount, hour, txCount, ratio, distance, accountAge, foreign, deviceAge]);
  }
  return { columns: [...FRAUD_COLUMNS], rows, labels, logits };
}

export const RFM_COLUMNS = ['recencyDays', 'frequency90d', 'monetary90d', 'avgBasket'];

const ARCHETYPES = [
  { recency: 4, frequency: 40, monetary: 4000 }, // loyal big spenders
  { recency: 20, frequency: 15, monetary: 900 }, // regulars
  { recency: 90, frequency: 4, monetary: 200 }, // occasional
  { recency: 250, frequency: 1, monetary: 2500 }, // lapsed one-off big purchase
];

/** Customers drawn from four RFM archetypes on very different scales (days, counts, money); `truth` is the archetype. */
export function customerDataset(opts: { n: number; seed: number }): {
  columns: string[];
  rows: number[][];
  truth: number[];
} {
  const rng = createRng(opts.seed);
  const rows: number[][] = [];
  const truth: number[] = [];
  for (let i = 0; i < opts.n; i++) {
    const a = i % ARCHETYPES.length;
    const t = ARCHETYPES[a] ?? { recency: 1, frequency: 1, monetary: 1 };
    const recency = t.recency * Math.exp(0.15 * rng.normal());
    const frequency = Math.max(1, t.frequency * Math.exp(0.15 * rng.normal()));
    const monetary = t.monetary * Math.exp(0.15 * rng.normal());
    rows.push([recency, frequency, monetary, monetary / frequency]);
    truth.push(a);
  }
  return { columns: [...RFM_COLUMNS], rows, truth };
}
