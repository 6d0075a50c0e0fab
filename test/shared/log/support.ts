// Helpers for the event-log tests: realistic records, the positions to expect, fault-test waits.
import assert from 'node:assert/strict';
import { DependencyError } from '../../../shared/errors/index.ts';
import { partitionOf } from '../../../shared/log/records.ts';
import {
  DEFAULT_PARTITIONS,
  type EventLog,
  type LogRecord,
  type StoredRecord,
} from '../../../shared/log/types.ts';

const TRANSACTION = 'dev.flywheel.transaction.accepted';

/** A transaction.accepted record as ingest writes it: structured CloudEvent JSON keyed by customer. */
export function transactionRecord(opts: { customerId: string; n: number; time: number }): LogRecord {
  const id = `tx-${opts.customerId}-${opts.n}`;
  const data = {
    transactionId: id,
    customerId: opts.customerId,
    amount: 12.5 + opts.n,
    currency: 'EUR',
    merchantCategory: 'grocery',
    channel: 'pos',
    country: 'DE',
    occurredAt: opts.time,
    ingestedAt: opts.time + 5,
  };
  const event = {
    specversion: '1.0',
    id,
    source: '/flywheel/ingest',
    type: TRANSACTION,
    time: new Date(opts.time).toISOString(),
    datacontenttype: 'application/json',
    data,
  };
  return {
    key: opts.customerId,
    id,
    source: event.source,
    type: TRANSACTION,
    time: opts.time,
    value: JSON.stringify(event),
  };
}

/**
 * The stored records a fresh topic must hold after `appends`, in call order: Kafka's default partitioner
 * (murmur2 of the key) picks the partition and offsets count up from 0 per partition.
 */
export function expectedStored(appends: readonly (readonly LogRecord[])[]): StoredRecord[] {
  const next = new Map<number, number>();
  return appends.flat().map((record) => {
    const partition = partitionOf(record.key, DEFAULT_PARTITIONS);
    const offset = next.get(partition) ?? 0;
    next.set(partition, offset + 1);
    return { ...record, partition, offset: String(offset) };
  });
}

/** `partition/offset`, to compare sets of positions. */
export const position = (r: StoredRecord): string => `${r.partition}/${r.offset}`;

/** Consumes as a group, recording every batch, until `done(all records so far)` holds; then stops. */
export async function consumeUntil(opts: {
  log: EventLog;
  groupId: string;
  fromBeginning: boolean;
  done: (seen: readonly StoredRecord[]) => boolean;
  /** Called with each batch before it is recorded; throwing makes that delivery fail. */
  inspect?: (batch: readonly StoredRecord[], call: number) => void;
  /** Runs once consume() has resolved (the group is running). */
  started?: () => Promise<void>;
  timeoutMs?: number;
}): Promise<{ batches: StoredRecord[][]; failed: StoredRecord[][] }> {
  const batches: StoredRecord[][] = [];
  const failed: StoredRecord[][] = [];
  let finished: () => void = () => undefined;
  const reached = new Promise<void>((resolve) => {
    finished = resolve;
  });
  let calls = 0;
  const consumption = await opts.log.consume({
    groupId: opts.groupId,
    fromBeginning: opts.fromBeginning,
    onBatch: async (records) => {
      try {
        opts.inspect?.(records, calls++);
      } catch (err) {
        failed.push(records);
        throw err;
      }
      batches.push(records);
      if (opts.done(batches.flat())) finished();
    },
  });
  const timeoutMs = opts.timeoutMs ?? 20_000;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`consumer did not get there in ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await opts.started?.();
    await Promise.race([reached, timeout]);
  } finally {
    clearTimeout(timer);
    await consumption.stop();
  }
  return { batches, failed };
}

/** Asserts that `work` rejects with the retriable Kafka DependencyError; returns how long it took (for the log). */
export async function rejectsAsUnavailable(work: Promise<unknown>): Promise<number> {
  const started = Date.now();
  await assert.rejects(work, (err: unknown) => {
    assert.ok(err instanceof DependencyError, `expected DependencyError, got ${String(err)}`);
    assert.equal(err.dependency, 'kafka');
    assert.equal(err.retriable, true);
    assert.equal(err.status, 503);
    return true;
  });
  return Date.now() - started;
}

/** Retries `work` (each try bounded by the adapter) until it succeeds; returns how many tries failed first. */
export async function eventually(work: () => Promise<unknown>, limitMs = 30_000): Promise<number> {
  const until = Date.now() + limitMs;
  for (let failures = 0; ; failures++) {
    try {
      await work();
      return failures;
    } catch (err) {
      assert.ok(err instanceof DependencyError, `only DependencyError while recovering, got ${String(err)}`);
      if (Date.now() > until) throw err;
      await new Promise((done) => setTimeout(done, 200));
    }
  }
}

/** Waits until `ready()` holds, checking every 50 ms, for at most `limitMs`. */
export async function waitFor(what: string, ready: () => boolean, limitMs = 30_000): Promise<void> {
  for (const until = Date.now() + limitMs; !ready(); ) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((done) => setTimeout(done, 50));
  }
}
