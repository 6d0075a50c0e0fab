// Test data: valid catalog payloads to start from.
import type { Transaction } from '../../shared/events/index.ts';

/** A valid raw transaction; override any field. */
export function transaction(overrides: Partial<Transaction> = {}): Transaction {
  return {
    transactionId: 't-1',
    customerId: 'c-1',
    amount: 42.5,
    currency: 'EUR',
    merchantCategory: 'grocery',
    channel: 'pos',
    country: 'DE',
    occurredAt: '2026-11-01T10:00:00.000Z',
    ...overrides,
  };
}
