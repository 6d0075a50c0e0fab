// Realistic benchmark traffic: the demo generator's transactions as raw and accepted CloudEvents, and seeded histories.
import { featurizeFunction } from '../../functions/featurize/function.ts';
import { createGenerator } from '../../local/demo/generator.ts';
import { defaultConfig } from '../../shared/config/index.ts';
import {
  type AcceptedTransaction,
  EventTypes,
  makeEvent,
  type Transaction,
} from '../../shared/events/index.ts';
import type { LogRecord } from '../../shared/log/index.ts';
import { createLogger, createMetrics, toStructured, writeBinary } from '../../shared/runtime/index.ts';
import type { CustomerState, OnlineStore } from '../../shared/store/index.ts';
import type { RequestParts } from './load.ts';

export const DAY_MS = 86_400_000;

/** A generated transaction as the catalog's raw `transaction` data, with epoch-ms event time. */
export type GeneratedTransaction = ReturnType<ReturnType<typeof createGenerator>['next']>['transaction'];

/** An endless stream of realistic transactions (archetypes, fraud bursts) over `customers` customers from `from` on. */
export function transactionStream(opts: { seed: number; customers: number; from: number }): {
  customers: string[];
  next(): GeneratedTransaction;
  until(end: number): GeneratedTransaction[];
} {
  const gen = createGenerator({ seed: opts.seed, customers: opts.customers }, opts.from);
  return {
    customers: gen.customers.map((c) => c.id),
    next: () => gen.next().transaction,
    until: (end) => gen.until(end).map((g) => g.transaction),
  };
}

/** The data ingest would publish for a transaction (normalised: it already is, the generator writes valid codes). */
export function acceptedData(tx: GeneratedTransaction, ingestedAt: number): AcceptedTransaction {
  return { ...tx, amount: Number(tx.amount), ingestedAt };
}

/** The `transaction.accepted` event ingest makes of a transaction, ingested now. */
function acceptedEvent(tx: GeneratedTransaction, id: string) {
  const now = Date.now();
  const data = acceptedData(tx, now);
  return makeEvent({ type: EventTypes.transactionAccepted, source: 'flywheel/ingest', id, time: now, data });
}

/** A `transaction.accepted` event in binary mode, as the broker delivers it to featurize. */
export function acceptedBinary(tx: GeneratedTransaction, id: string): RequestParts {
  return writeBinary(acceptedEvent(tx, id));
}

/** The event-log record ingest appends for a transaction (structured CloudEvent, keyed by customer, event time). */
export function acceptedRecord(tx: GeneratedTransaction, id: string): LogRecord {
  const event = acceptedEvent(tx, id);
  return {
    key: tx.customerId,
    id: event.id,
    source: event.source,
    type: event.type,
    time: tx.occurredAt,
    value: JSON.stringify(toStructured(event)),
  };
}

/** The raw `transaction` data a source posts (event time as an RFC 3339 string). */
function rawData(tx: GeneratedTransaction): Transaction {
  return { ...tx, occurredAt: new Date(tx.occurredAt).toISOString() };
}

/** A raw `transaction` event in binary mode, as a data source posts it to ingest. */
export function rawBinary(tx: GeneratedTransaction, id: string): RequestParts {
  const data = rawData(tx);
  return writeBinary(
    makeEvent({ type: EventTypes.transaction, source: 'bench/source', id, time: tx.occurredAt, data }),
  );
}

/**
 * Raw `transaction` events as one `application/cloudevents-batch+json` request (structured events in an array),
 * written by hand: the SDK's structured writer would cost the generator more than the server it measures.
 */
export function rawBatch(txs: readonly GeneratedTransaction[], idPrefix: string): RequestParts {
  const events = txs.map((tx, i) => ({
    specversion: '1.0',
    id: `${idPrefix}-${i}`,
    source: 'bench/source',
    type: EventTypes.transaction,
    time: new Date(tx.occurredAt).toISOString(),
    datacontenttype: 'application/json',
    data: rawData(tx),
  }));
  return {
    headers: { 'content-type': 'application/cloudevents-batch+json' },
    body: JSON.stringify(events),
  };
}

/**
 * Writes customer histories through featurize's own handler (the same Lua update as over HTTP): every transaction of
 * the stream before `until`, customers side by side (`concurrency` in flight), each customer's events in stream
 * order, so no event is overtaken by a later one of its customer (which featurize could drop as too late: on a
 * cluster, calls to different nodes overtake each other). Returns how many events were applied.
 */
export async function seedHistories(opts: {
  store: OnlineStore;
  stream: ReturnType<typeof transactionStream>;
  until: number;
  concurrency?: number;
}): Promise<number> {
  return seedTransactions({ ...opts, transactions: opts.stream.until(opts.until) });
}

/** {@link seedHistories} of the given transactions: each customer's in the order given. */
export async function seedTransactions(opts: {
  store: OnlineStore;
  transactions: readonly GeneratedTransaction[];
  concurrency?: number;
}): Promise<number> {
  const fn = featurizeFunction({ store: opts.store, config: defaultConfig() });
  const ctx = { log: createLogger({ name: 'seed', level: 'silent' }), metrics: createMetrics('seed') };
  const txs = opts.transactions;
  const lanes = new Map<string, number[]>();
  txs.forEach((tx, i) => {
    const lane = lanes.get(tx.customerId) ?? [];
    lane.push(i);
    lanes.set(tx.customerId, lane);
  });
  const queue = [...lanes.values()];
  const worker = async () => {
    for (let lane = queue.shift(); lane !== undefined; lane = queue.shift()) {
      for (const i of lane) {
        const tx = txs[i] as GeneratedTransaction;
        const event = makeEvent({
          type: EventTypes.transactionAccepted,
          source: 'flywheel/ingest',
          id: `seed-${tx.transactionId}`,
          time: tx.occurredAt,
          data: acceptedData(tx, tx.occurredAt),
        });
        const outcome = await fn.handle(event, ctx);
        if (outcome.kind !== 'reply') throw new Error(`seeding: event ${i} was ${outcome.kind}`);
      }
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency ?? 64 }, worker));
  return txs.length;
}

/** Events in a customer's history within the retention, as the store read it: the latest and those before it. */
export function historyLength(state: CustomerState): number {
  return 1 + Math.max(0, ...state.prior.windows.map((w) => w.count));
}

/** Seconds since the process started, for progress lines on stderr. */
export function progress(what: string): void {
  process.stderr.write(`[${(performance.now() / 1000).toFixed(1)} s] ${what}\n`);
}
