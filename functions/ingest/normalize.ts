// ingest's checks beyond the schema and its normalisation: codes, amounts, event times.
import { InvalidEventError } from '../../shared/errors/index.ts';
import {
  type AcceptedLabel,
  type AcceptedTransaction,
  isCountryCode,
  isCurrencyCode,
  type Label,
  type Transaction,
} from '../../shared/events/index.ts';

/** Largest amount accepted, in the currency's major unit: beyond it a value is a unit mistake, not a purchase. */
export const MAX_AMOUNT = 1e9;

interface Clock {
  now: number;
  maxSkewMs: number;
}

/** Checks and normalises a transaction: amount as a number, codes upper-case and known, time in epoch ms. */
export function normalizeTransaction(tx: Transaction, clock: Clock): Omit<AcceptedTransaction, 'ingestedAt'> {
  const amount = typeof tx.amount === 'number' ? tx.amount : Number(tx.amount);
  if (!Number.isFinite(amount)) throw new InvalidEventError('data.amount', 'amount must be a finite number');
  if (amount < 0) throw new InvalidEventError('data.amount', 'amount must not be negative');
  if (amount > MAX_AMOUNT) throw new InvalidEventError('data.amount', `amount must not exceed ${MAX_AMOUNT}`);
  const currency = tx.currency.toUpperCase();
  if (!isCurrencyCode(currency))
    throw new InvalidEventError('data.currency', `unknown ISO 4217 currency ${currency}`);
  const country = tx.country.toUpperCase();
  if (!isCountryCode(country))
    throw new InvalidEventError('data.country', `unknown ISO 3166-1 country ${country}`);
  const out: Omit<AcceptedTransaction, 'ingestedAt'> = {
    transactionId: tx.transactionId,
    customerId: tx.customerId,
    amount,
    currency,
    merchantCategory: tx.merchantCategory.toLowerCase(),
    channel: tx.channel,
    country,
    occurredAt: eventTime(tx.occurredAt, 'data.occurredAt', clock),
  };
  if (tx.deviceId !== undefined) out.deviceId = tx.deviceId;
  return out;
}

/** Checks and normalises a label: time in epoch ms, not in the future. */
export function normalizeLabel(label: Label, clock: Clock): Omit<AcceptedLabel, 'ingestedAt'> {
  return {
    transactionId: label.transactionId,
    customerId: label.customerId,
    isFraud: label.isFraud,
    labelledAt: eventTime(label.labelledAt, 'data.labelledAt', clock),
  };
}

function eventTime(value: number | string, field: string, clock: Clock): number {
  const ms = typeof value === 'number' ? value : Date.parse(value);
  if (!Number.isFinite(ms)) throw new InvalidEventError(field, 'not a valid time');
  if (ms > clock.now + clock.maxSkewMs) {
    throw new InvalidEventError(field, `more than ${clock.maxSkewMs} ms in the future (clock skew limit)`);
  }
  return Math.round(ms);
}
