// Seeded synthetic transactions for drift tests: a risk model's features and score, stationary or with shifted amounts.
import { buildBaseline, type DriftBaseline, type FeatureKind } from '../../../shared/drift/baseline.ts';
import { seededRandom } from '../../../shared/random/index.ts';
import { seededDraws } from '../../support/draws.ts';

/** The feature set of the generated risk model and each feature's kind. */
export const FEATURE_KINDS: Readonly<Record<string, FeatureKind>> = {
  amount: 'numeric',
  amountToAverage: 'numeric',
  txCount24h: 'numeric',
  hourOfDay: 'numeric',
  secondsSinceLast: 'numeric',
  newDevice: 'categorical',
  newCountry: 'categorical',
  channel: 'categorical',
  merchantCategory: 'categorical',
};
export const COLUMNS = Object.keys(FEATURE_KINDS);

/** Amounts are log-normal: ln(amount) ~ N(3.5, 0.8²), a median near 33 and a mean near 46. */
const AMOUNT_MU = 3.5;
const AMOUNT_SIGMA = 0.8;
/** The standard deviation of the stationary amounts (≈ 43.2); a shift of k·σ adds k times this to every amount. */
export const AMOUNT_SD =
  Math.exp(AMOUNT_MU + AMOUNT_SIGMA ** 2 / 2) * Math.sqrt(Math.exp(AMOUNT_SIGMA ** 2) - 1);

const CHANNEL_WEIGHTS = [0.55, 0.35, 0.07, 0.03];
const MERCHANT_WEIGHTS = [0.22, 0.16, 0.13, 0.11, 0.09, 0.08, 0.07, 0.06, 0.05, 0.03];

export interface GeneratedTransaction {
  features: Record<string, number>;
  /** The risk model's score for these features, in (0, 1). */
  risk: number;
}

/**
 * A seeded source of independent transactions. `amountShiftSd` moves every amount by that many standard
 * deviations of the stationary amounts (the amount-derived ratio and the score move with it).
 */
export function transactionSource(input: {
  seed: number;
  amountShiftSd?: number;
}): () => GeneratedTransaction {
  const random = seededRandom(input.seed);
  const shift = (input.amountShiftSd ?? 0) * AMOUNT_SD;
  const { normal, poisson } = seededDraws(random);
  const pick = (weights: readonly number[]): number => {
    let u = random();
    for (let i = 0; i < weights.length; i++) {
      u -= weights[i] ?? 0;
      if (u < 0) return i;
    }
    return weights.length - 1;
  };
  return () => {
    const amount = Math.round((Math.exp(AMOUNT_MU + AMOUNT_SIGMA * normal()) + shift) * 100) / 100;
    const customerAverage = Math.exp(AMOUNT_MU + 0.5 * normal());
    const txCount24h = poisson(2.5);
    const hourOfDay = Math.floor((((14 + 4 * normal()) % 24) + 24) % 24);
    const secondsSinceLast = Math.round(-36_000 * Math.log(1 - random()));
    const newDevice = random() < 0.06 ? 1 : 0;
    const newCountry = random() < 0.03 ? 1 : 0;
    const channel = pick(CHANNEL_WEIGHTS);
    const merchantCategory = pick(MERCHANT_WEIGHTS);
    const z = (Math.log(Math.max(amount, 0.01)) - AMOUNT_MU) / AMOUNT_SIGMA;
    const logit =
      -3 +
      1.1 * z +
      1.5 * newDevice +
      1.8 * newCountry +
      0.2 * (txCount24h - 2.5) +
      0.4 * (channel === 1 ? 1 : 0);
    return {
      features: {
        amount,
        amountToAverage: amount / customerAverage,
        txCount24h,
        hourOfDay,
        secondsSinceLast,
        newDevice,
        newCountry,
        channel,
        merchantCategory,
      },
      risk: 1 / (1 + Math.exp(-logit)),
    };
  };
}

/** A training set from the stationary distribution: rows in COLUMNS order and the model's scores. */
export function trainingSet(input: { seed: number; rows: number }): { rows: number[][]; risks: number[] } {
  const next = transactionSource({ seed: input.seed });
  const rows: number[][] = [];
  const risks: number[] = [];
  for (let i = 0; i < input.rows; i++) {
    const t = next();
    rows.push(COLUMNS.map((c) => t.features[c] ?? Number.NaN));
    risks.push(t.risk);
  }
  return { rows, risks };
}

/** The drift baseline of a generated training set: every feature by its kind, and the risk score as the prediction. */
export function generatedBaseline(input: { seed: number; rows: number }): DriftBaseline {
  const { rows, risks } = trainingSet(input);
  return buildBaseline({
    columns: COLUMNS,
    rows,
    kinds: FEATURE_KINDS,
    prediction: { name: 'risk', kind: 'numeric', values: risks },
  });
}
