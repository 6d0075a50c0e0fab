// Writes examples/transactions.csv and examples/labels.csv from the demo generator (fixed seed and dates), with two
// rows broken on purpose: `npx tsx examples/generate.ts`.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { createGenerator } from '../local/demo/generator.ts';

const DAY = 86_400_000;
/** The examples' calendar: three weeks of October 2026, long past, so every label has come. */
const FROM = Date.parse('2026-10-01T00:00:00Z');
const DAYS = 21;
const dir = path.dirname(new URL(import.meta.url).pathname);

/** The broken rows: ingest rejects each with the field named (README walk-through). */
export const BROKEN = [
  {
    afterRow: 99,
    cells: [
      'tx-broken-1',
      'cust-00001',
      '12.50',
      'EUR',
      'grocery',
      'pos',
      'ZZ',
      'dev-1-0',
      '2026-10-02T09:00:00.000Z',
    ],
  },
  {
    afterRow: 199,
    cells: ['tx-broken-2', 'cust-00002', '30.00', 'EUR', 'books', 'online', 'FR', 'dev-2-0', 'last tuesday'],
  },
] as const;

const quote = (v: string) => (/[",\n\r]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v);
const csvLine = (cells: readonly (string | number | boolean)[]) =>
  cells.map((c) => quote(String(c))).join(',');

const gen = createGenerator({ seed: 11, customers: 40, fraudRate: 0.03 }, FROM);
const generated = gen.until(FROM + DAYS * DAY);
const tx = ['transactionId,customerId,amount,currency,merchantCategory,channel,country,deviceId,occurredAt'];
generated.forEach((g, i) => {
  const t = g.transaction;
  tx.push(
    csvLine([
      t.transactionId,
      t.customerId,
      t.amount.toFixed(2),
      t.currency,
      t.merchantCategory,
      t.channel,
      t.country,
      t.deviceId ?? '',
      new Date(t.occurredAt).toISOString(),
    ]),
  );
  for (const b of BROKEN) if (b.afterRow === i + 1) tx.push(csvLine(b.cells));
});
const labels = ['transactionId,customerId,isFraud,labelledAt'];
for (const g of generated) {
  if (!g.label) continue;
  labels.push(csvLine([g.label.transactionId, g.label.customerId, g.label.isFraud, g.label.labelledAt]));
}
writeFileSync(path.join(dir, 'transactions.csv'), `${tx.join('\n')}\n`);
writeFileSync(path.join(dir, 'labels.csv'), `${labels.join('\n')}\n`);
console.log(`examples: ${tx.length - 1} transactions, ${labels.length - 1} labels`);
