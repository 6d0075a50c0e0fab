// Fail-fast plumbing for the Redis store: a bounded wait for readiness, retry bounds, error mapping, reply parsing.
import { z } from 'zod';
import { ConflictError, DependencyError, FlywheelError } from '../errors/index.ts';
import {
  EMPTY_MOMENTS,
  type Moments,
  statsOf,
  summarizePrior,
  WINDOW_LEAF_MS,
  windowTreeTop,
} from '../features/windows.ts';
import type { Logger } from '../runtime/logger.ts';
import { hashSlot } from './slot.ts';
import { parseJoinedMembers } from './keys.ts';
import type { CustomerEventResult, CustomerState, PriorSummary, SummaryQuery } from './types.ts';

/** What the gate needs from a connection: its status and its `ready` event (ioredis' Redis fits). */
export interface Connectable {
  readonly status: string;
  on(event: 'ready', listener: () => void): unknown;
}

/**
 * Lets calls wait for a connection that is (re)connecting, at most `timeoutMs`, then fail with DependencyError.
 * Nothing is queued inside the client (its offline queue is off): a waiting call holds only its own timer.
 */
export class ReadyGate {
  private readonly waiters = new Set<(err?: Error) => void>();
  private readonly conn: Connectable;
  private readonly timeoutMs: number;
  private closed = false;

  constructor(opts: { conn: Connectable; timeoutMs: number }) {
    this.conn = opts.conn;
    this.timeoutMs = opts.timeoutMs;
    this.conn.on('ready', () => this.settleAll());
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Resolves when the connection is ready; rejects after the timeout, or at once when the store is closed. */
  wait(): Promise<void> {
    if (this.closed) return Promise.reject(closedError());
    if (this.conn.status === 'ready') return Promise.resolve();
    return new Promise((resolve, reject) => {
      const settle = (err?: Error) => {
        clearTimeout(timer);
        this.waiters.delete(settle);
        if (err) reject(err);
        else resolve();
      };
      const timer = setTimeout(() => {
        settle(
          new DependencyError('redis', `not connected (${this.conn.status}) after ${this.timeoutMs} ms`),
        );
      }, this.timeoutMs);
      this.waiters.add(settle);
    });
  }

  /** Refuses every later wait and fails the pending ones: the store is being closed. */
  close(): void {
    this.closed = true;
    this.settleAll(closedError());
  }

  private settleAll(err?: Error): void {
    for (const settle of [...this.waiters]) settle(err);
  }
}

function closedError(): DependencyError {
  return new DependencyError('redis', 'store is closed');
}

/**
 * Fails a call that has not settled within timeoutMs with a retriable DependencyError. On a cluster, redirections
 * and failover retries happen inside the client, so its per-command timeout alone does not bound a call.
 */
export function withDeadline<T>(op: string, pending: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new DependencyError('redis', `${op}: no answer within ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  return Promise.race([pending, deadline]).finally(() => clearTimeout(timer));
}

/**
 * Indexes of `keys` grouped by the cluster nodes that serve each one's slot, from the client's slot map (`slots[s]`:
 * the node keys of slot s); a client sends a pipeline to one node only. Without a slot map (one server): one group.
 */
export function groupByNode(
  keys: readonly string[],
  slots: readonly (readonly string[] | undefined)[] | undefined,
): number[][] {
  if (slots === undefined) return [keys.map((_, i) => i)];
  const groups = new Map<string, number[]>();
  keys.forEach((key, i) => {
    const slot = hashSlot(key);
    const node = slots[slot]?.join(';') ?? `slot ${slot}`;
    const group = groups.get(node) ?? [];
    groups.set(node, group);
    group.push(i);
  });
  return [...groups.values()];
}

/** What quit and watch need from a client (ioredis' Redis and Cluster both fit). */
interface Client {
  readonly status: string;
  quit(): Promise<unknown>;
  disconnect(reconnect?: boolean): void;
  on(event: 'error', listener: (err: Error) => void): unknown;
  on(event: 'ready', listener: () => void): unknown;
}

/** Quits politely when connected; otherwise (or on error) just drops the socket and stops reconnecting. */
export async function quit(conn: Client): Promise<void> {
  try {
    if (conn.status === 'ready') await conn.quit();
  } catch {
    // the connection is going away either way
  } finally {
    conn.disconnect(false);
  }
}

/** Logs connection loss and recovery once per transition; the `error` listener keeps a dead Redis from crashing us. */
export function watch(conn: Client, log: Logger, name: string): void {
  let down = false;
  conn.on('error', (err: Error) => {
    if (down) return;
    down = true;
    log.warn({ err: err.message }, `store: ${name} unavailable, reconnecting in the background`);
  });
  conn.on('ready', () => {
    if (!down) return;
    down = false;
    log.info(`store: ${name} reconnected`);
  });
}

const TYPE_ERROR = /^(WRONGTYPE|ERR value is not|ERR hash value is not)/;

/**
 * Maps anything a Redis call throws to the error hierarchy: a wrong-type reply is a ConflictError (retrying cannot
 * help), every other failure (connection lost, timeout, OOM, BUSY, LOADING, READONLY) a retriable DependencyError.
 */
export function storeError(op: string, err: unknown): FlywheelError {
  if (err instanceof FlywheelError) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof Error && err.name === 'ReplyError' && TYPE_ERROR.test(message)) {
    return new ConflictError(`redis ${op}: ${message}`, { cause: err });
  }
  return new DependencyError('redis', `${op} failed: ${message}`, { cause: err });
}

/** Parses a score as Redis writes it (`inf`, `-inf` included). */
export function parseScore(text: string): number {
  if (text === 'inf' || text === '+inf') return Number.POSITIVE_INFINITY;
  if (text === '-inf') return Number.NEGATIVE_INFINITY;
  return Number(text);
}

/** Flat `member, score, …` pairs (ZRANGEBYSCORE WITHSCORES) as objects. */
export function scoredMembers(flat: readonly string[]): { member: string; score: number }[] {
  const out: { member: string; score: number }[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) {
    out.push({ member: flat[i] ?? '', score: parseScore(flat[i + 1] ?? '') });
  }
  return out;
}

/** Writes a score the way Redis reads it. */
export function formatScore(score: number): string {
  if (score === Number.POSITIVE_INFINITY) return '+inf';
  if (score === Number.NEGATIVE_INFINITY) return '-inf';
  return String(score);
}

/** The reply of the APPLY_CUSTOMER_EVENT script. */
/** The summary parts of the scripts' replies (lua.ts, WINDOW_TREE's summary): raw members, or a tree's parts. */
const PartsSchema = z.union([
  z.tuple([z.literal('raw'), z.string()]),
  z.tuple([z.literal('tree'), z.string()]).rest(z.instanceof(Buffer)),
]);

const ApplyReplySchema = z.union([
  z.tuple([z.literal('too-late'), z.string()]),
  z.tuple([z.enum(['applied', 'duplicate']), PartsSchema, z.array(z.string().nullable())]),
]);

type ApplyReply = z.infer<typeof ApplyReplySchema>;

/** The reply of the READ_CUSTOMER script: nothing, or the latest record, its time, the summary parts, first-seen. */
const ReadReplySchema = z.union([
  z.tuple([]),
  z.tuple([z.string(), z.string(), PartsSchema, z.array(z.string())]),
]);

const isStrings = (v: unknown, nullable: boolean): boolean =>
  Array.isArray(v) && v.every((x) => typeof x === 'string' || (nullable && x === null));

const isParts = (v: unknown): boolean =>
  Array.isArray(v) &&
  (v[0] === 'raw'
    ? v.length === 2 && typeof v[1] === 'string'
    : v[0] === 'tree' && typeof v[1] === 'string' && v.slice(2).every((x) => Buffer.isBuffer(x)));

/**
 * A script's reply read as Buffers (the `…Buffer` form of the command) made text, but for the windows' packed
 * moments in a tree summary, which stay bytes.
 */
export function textReply(reply: unknown): unknown {
  if (Buffer.isBuffer(reply)) return reply.toString('utf8');
  if (!Array.isArray(reply)) return reply;
  if (Buffer.isBuffer(reply[0]) && reply[0].toString('latin1') === 'tree') {
    return reply.map((x, i) => (i < 2 ? textReply(x) : x));
  }
  return reply.map(textReply);
}

type ReadReply = z.infer<typeof ReadReplySchema>;

/**
 * The hot paths' checks of the scripts' replies, equivalent to their schemas but without copying the reply; what they
 * refuse goes through the schema, for its message.
 */
function isApplyReply(v: unknown): v is ApplyReply {
  if (!Array.isArray(v)) return false;
  if (v[0] === 'too-late') return v.length === 2 && typeof v[1] === 'string';
  return (
    v.length === 3 && (v[0] === 'applied' || v[0] === 'duplicate') && isParts(v[1]) && isStrings(v[2], true)
  );
}

function isReadReply(v: unknown): v is ReadReply {
  if (!Array.isArray(v)) return false;
  return (
    v.length === 0 ||
    (v.length === 4 &&
      typeof v[0] === 'string' &&
      typeof v[1] === 'string' &&
      isParts(v[2]) &&
      isStrings(v[3], false))
  );
}

/** A reply that passed its guard, or the schema's verdict on one that did not (a DependencyError naming `what`). */
function checked<T>(reply: unknown, guard: (v: unknown) => v is T, schema: z.ZodType<T>, what: string): T {
  if (guard(reply)) return reply;
  const parsed = schema.safeParse(reply);
  if (!parsed.success) throw unexpected(what, parsed.error);
  return parsed.data;
}

function unexpected(what: string, cause?: unknown): DependencyError {
  return new DependencyError('redis', `unexpected reply from the ${what} script`, { cause });
}

/** The Redis adapter keeps a customer's window tree while its history holds more members than this. */
export const WINDOW_TREE_FROM = 256;

/** The scripts' tree spec for a retention: 'leafMs top treeFrom' (lua.ts). */
export function windowTreeSpec(retentionMs: number): string {
  return `${WINDOW_LEAF_MS} ${windowTreeTop(retentionMs)} ${WINDOW_TREE_FROM}`;
}

/**
 * The summary for an event at t from a script's parts: the members themselves, summarised here, or the latest member
 * and each window's moments, which the script combined along the tree as windows.ts combines them.
 */
function summarizeParts(
  parts: readonly (string | Buffer)[],
  t: number,
  windowsMs: readonly number[],
): PriorSummary {
  if (parts[0] === 'raw') return summarizePrior(parseJoinedMembers(String(parts[1] ?? '')), t, windowsMs);
  if (parts.length !== 2 + windowsMs.length) throw unexpected('summary');
  const latest = String(parts[1] ?? '');
  const windows = windowsMs.map((_, w) => {
    const packed = parts[2 + w];
    if (!Buffer.isBuffer(packed)) throw unexpected('summary');
    if (packed.length === 0) return statsOf(EMPTY_MOMENTS);
    if (packed.length !== 56)
      throw unexpected('summary', new Error(`a window's moments are ${packed.length} bytes`));
    const [count, sum, mean, m2, min, max, last] = Array.from({ length: 7 }, (_, i) =>
      packed.readDoubleLE(i * 8),
    );
    return statsOf({ count, sum, mean, m2, min, max, last } as Moments);
  });
  return { windows, lastTime: latest === '' ? null : (parseJoinedMembers(latest).times[0] ?? null) };
}

/** Turns the apply script's reply into the interface's result; a malformed reply is a DependencyError. */
export function parseApplyReply(
  reply: unknown,
  plan: { fields: readonly string[]; eventTime: number; windowsMs: readonly number[] },
): CustomerEventResult {
  const r = checked(reply, isApplyReply, ApplyReplySchema, 'apply');
  if (r[0] === 'too-late') return { kind: 'too-late', newest: Number(r[1]) };
  const firstSeen: Record<string, number | null> = {};
  plan.fields.forEach((field, i) => {
    const v = r[2][i];
    firstSeen[field] = v === null || v === undefined ? null : Number(v);
  });
  return { kind: r[0], prior: summarizeParts(r[1], plan.eventTime, plan.windowsMs), firstSeen };
}

/** Turns the read script's reply into a customer's state (undefined: no history); malformed is a DependencyError. */
export function parseReadReply(reply: unknown, query: SummaryQuery): CustomerState | undefined {
  const r = checked(reply, isReadReply, ReadReplySchema, 'read');
  if (r.length === 0) return undefined;
  const [record, time, parts, hash] = r;
  const t = Number(time);
  const firstSeen: Record<string, number> = {};
  for (let i = 0; i + 1 < hash.length; i += 2) {
    const field = hash[i];
    if (field !== undefined) firstSeen[field] = Number(hash[i + 1]);
  }
  return { latest: { time: t, record }, prior: summarizeParts(parts, t, query.windowsMs), firstSeen };
}

/** A list reply of strings (values read from Redis cross a process boundary, so they are checked). */
export const StringListSchema = z.array(z.string());
