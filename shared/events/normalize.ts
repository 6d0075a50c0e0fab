// The checks beyond the schema and the normalisation of raw events: codes, amounts, event times (ingest and score).
import { InvalidInputError } from '../errors/index.ts';
import { isCountryCode, isCurrencyCode } from './codes.ts';
import type { AcceptedLabel, AcceptedTransaction, Label, Transaction } from './schemas.ts';

/** Largest amount accepted, in the currency's major unit: beyond it a value is a unit mistake, not a purchase. */
export const MAX_AMOUNT = 1e9;

/** The clock an event time is checked against: times more than maxSkewMs after `now` are refused. */
export interface EventClock {
  now: number;
  maxSkewMs: number;
}

/**
 * Checks and normalises a transaction: amount as a number, codes upper-case and known, time in epoch ms. `at` is
 * the path errors name the fields under: `data` for an event (`data.amount`), `transaction` in a score request.
 */
export function normalizeTransaction(
  tx: Transaction,
  clock: EventClock,
  at = 'data',
): Omit<AcceptedTransaction, 'ingestedAt'> {
  const amount = typeof tx.amount === 'number' ? tx.amount : Number(tx.amount);
  if (!Number.isFinite(amount)) throw new InvalidInputError(`${at}.amount`, 'amount must be a finite number');
  if (amount < 0) throw new InvalidInputError(`${at}.amount`, 'amount must not be negative');
  if (amount > MAX_AMOUNT)
    throw new InvalidInputError(`${at}.amount`, `amount must not exceed ${MAX_AMOUNT}`);
  const currency = tx.currency.toUpperCase();
  if (!isCurrencyCode(currency))
    throw new InvalidInputError(`${at}.currency`, `unknown ISO 4217 currency ${currency}`);
  const country = tx.country.toUpperCase();
  if (!isCountryCode(country))
    throw new InvalidInputError(`${at}.country`, `unknown ISO 3166-1 country ${country}`);
  const out: Omit<AcceptedTransaction, 'ingestedAt'> = {
    transactionId: tx.transactionId,
    customerId: tx.customerId,
    amount,
    currency,
    merchantCategory: tx.merchantCategory.toLowerCase(),
    channel: tx.channel,
    country,
    occurredAt: eventTime(tx.occurredAt, `${at}.occurredAt`, clock),
  };
  if (tx.deviceId !== undefined) out.deviceId = tx.deviceId;
  return out;
}

/** Checks and normalises a label: time in epoch ms, not in the future. */
export function normalizeLabel(
  label: Label,
  clock: EventClock,
  at = 'data',
): Omit<AcceptedLabel, 'ingestedAt'> {
  return {
    transactionId: label.transactionId,
    customerId: label.customerId,
    isFraud: label.isFraud,
    labelledAt: eventTime(label.labelledAt, `${at}.labelledAt`, clock),
  };
}

function eventTime(value: number | string, field: string, clock: EventClock): number {
  const ms = typeof value === 'number' ? value : Date.parse(value);
  if (!Number.isFinite(ms)) throw new InvalidInputError(field, 'not a valid time');
  if (ms > clock.now + clock.maxSkewMs) {
    throw new InvalidInputError(field, `more than ${clock.maxSkewMs} ms in the future (clock skew limit)`);
  }
  return Math.round(ms);
}
