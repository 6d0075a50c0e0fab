// The Kafka adapter's parts that need no kafkajs: record mapping, error and deadline rules, lazy clients, read plans.
import { DependencyError } from '../errors/index.ts';
import { type LogRecord, type OffsetRange, type StoredRecord, StoredRecordSchema } from './types.ts';

/**
 * Record headers. The value is a structured-mode CloudEvent, announced by `content-type` as the Kafka protocol
 * binding asks (cloudevents/spec kafka-protocol-binding §3.2); id, source and type ride in `flywheel-*`
 * headers, not `ce_*` ones, which the binding reserves for binary mode.
 */
const HEADER = { id: 'flywheel-id', source: 'flywheel-source', type: 'flywheel-type' } as const;

/** A Kafka message for a record: key = customerId, timestamp = event time. */
export function toMessage(record: LogRecord): {
  key: string;
  value: string;
  timestamp: string;
  headers: Record<string, string>;
} {
  return {
    key: record.key,
    value: record.value,
    timestamp: String(record.time),
    headers: {
      'content-type': 'application/cloudevents+json',
      [HEADER.id]: record.id,
      [HEADER.source]: record.source,
      [HEADER.type]: record.type,
    },
  };
}

type HeaderValue = Buffer | string | (Buffer | string)[] | undefined;

function headerText(value: HeaderValue): string | undefined {
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined ? undefined : first.toString();
}

/** CloudEvent attributes read from the structured JSON, for records another producer wrote without our headers. */
function attributesOf(value: string): { id?: unknown; source?: unknown; type?: unknown } {
  try {
    const parsed: unknown = JSON.parse(value);
    return typeof parsed === 'object' && parsed !== null ? parsed : {};
  } catch {
    return {};
  }
}

/** The stored record for a fetched Kafka message; undefined when the message is not a log record. */
export function fromMessage(m: {
  partition: number;
  offset: string;
  timestamp: string;
  key: Buffer | null;
  value: Buffer | null;
  headers?: Record<string, HeaderValue>;
}): StoredRecord | undefined {
  const value = m.value?.toString('utf8') ?? '';
  const headers = m.headers ?? {};
  const fallback = headers[HEADER.id] === undefined ? attributesOf(value) : {};
  const parsed = StoredRecordSchema.safeParse({
    key: m.key?.toString('utf8'),
    id: headerText(headers[HEADER.id]) ?? fallback.id,
    source: headerText(headers[HEADER.source]) ?? fallback.source,
    type: headerText(headers[HEADER.type]) ?? fallback.type,
    time: Number(m.timestamp),
    value,
    partition: m.partition,
    offset: m.offset,
  });
  return parsed.success ? parsed.data : undefined;
}

/** Any failure talking to Kafka, as the retriable DependencyError callers map to 503. */
export function kafkaError(what: string, err: unknown): DependencyError {
  if (err instanceof DependencyError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new DependencyError('kafka', `${what} failed: ${message}`, { cause: err });
}

/**
 * Awaits `work` for at most `ms`, so no call hangs whatever the client does inside; past the deadline it
 * rejects with DependencyError and the late outcome of `work` is dropped (after an append that timed out,
 * the records may still be written: at-least-once).
 */
export async function withDeadline<T>(opts: { what: string; ms: number; work: Promise<T> }): Promise<T> {
  opts.work.catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new DependencyError('kafka', `${opts.what} timed out after ${opts.ms} ms`)),
      opts.ms,
    );
  });
  try {
    return await Promise.race([opts.work, deadline]);
  } catch (err) {
    throw kafkaError(opts.what, err);
  } finally {
    clearTimeout(timer);
  }
}

/** Waits `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}

/** A client that is connected on first use; after a failure it is dropped, so the next call connects afresh. */
export function lazyClient<C extends { connect(): Promise<void>; disconnect(): Promise<void> }>(
  make: () => C,
): {
  get(): Promise<C>;
  drop(): Promise<void>;
} {
  let current: Promise<C> | undefined;
  return {
    get() {
      current ??= (async () => {
        const client = make();
        try {
          await client.connect();
          return client;
        } catch (err) {
          current = undefined;
          client.disconnect().catch(() => undefined);
          throw err;
        }
      })();
      return current;
    },
    async drop() {
      const old = current;
      current = undefined;
      await old?.then((c) => c.disconnect()).catch(() => undefined);
    },
  };
}

/** Offsets `start <= offset < end` to read, per partition. */
export type ReadPlan = Map<number, { start: bigint; end: bigint }>;

/** Clamps requested offset ranges to what the partitions hold (`low`..`high` from ListOffsets). */
export function planOffsets(
  ranges: readonly OffsetRange[],
  bounds: readonly { partition: number; low: string; high: string }[],
): ReadPlan {
  const plan: ReadPlan = new Map();
  for (const r of ranges) {
    const b = bounds.find((x) => x.partition === r.partition);
    if (!b) continue;
    const max = (x: bigint, y: bigint) => (x > y ? x : y);
    const min = (x: bigint, y: bigint) => (x < y ? x : y);
    const high = BigInt(b.high);
    plan.set(r.partition, {
      start: max(BigInt(r.from), BigInt(b.low)),
      end: r.to === undefined ? high : min(BigInt(r.to), high),
    });
  }
  return plan;
}
