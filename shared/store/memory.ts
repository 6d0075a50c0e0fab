// The embedded online store: the same semantics as the Redis store, in process (one replica, no persistence).
import { EventEmitter } from 'node:events';
import { ConflictError, DependencyError } from '../errors/index.ts';
import { summarizePrior } from '../features/windows.ts';
import { claimKey, customerKeys, lockKey, MEMBER_JOIN, parseJoinedMembers, prefixed } from './keys.ts';
import type { Logger } from '../runtime/logger.ts';
import { Keyspace, type SortedSet } from './memory-keyspace.ts';
import { planPreview, previewOf } from './preview.ts';
import type { CustomerEventResult, CustomerState, OnlineStore, PriorSummary, SummaryQuery } from './types.ts';
import {
  type ApplyPlan,
  checkCompareAndSet,
  checkIncrements,
  checkIntegers,
  checkScore,
  checkSummaryQuery,
  checkTtl,
  planApply,
} from './validate.ts';

/** Options of the in-process store; `now` lets tests move time (default Date.now). */
export interface MemoryStoreOptions {
  now?: () => number;
  sweepMs?: number;
  log?: Logger;
}

/** Creates the in-process store: the embedded default when no REDIS_URL is configured. */
export function createMemoryStore(opts: MemoryStoreOptions = {}): OnlineStore {
  const ks = new Keyspace(opts);
  const bus = new EventEmitter();
  bus.setMaxListeners(0);
  let closed = false;

  /** Runs one synchronous operation as a call on a store that may be closed. */
  function op<T>(fn: () => T): Promise<T> {
    if (closed) return Promise.reject(new DependencyError('memory', 'store is closed'));
    try {
      return Promise.resolve(fn());
    } catch (err) {
      return Promise.reject(err);
    }
  }

  function setNx(key: string, value: string, ttlMs: number): boolean {
    checkTtl('ttlMs', ttlMs);
    if (ks.has(key)) return false;
    ks.put(key, 'string', Buffer.from(value), ttlMs);
    return true;
  }

  function publishNow(channel: string, message: string): void {
    // Redis delivers after the publishing command has returned; so do we, in publish order.
    setImmediate(() => bus.emit(channel, message));
  }

  const store: OnlineStore = {
    kind: 'memory',

    claim: (key, ttlMs) => op(() => setNx(claimKey(key), '1', ttlMs)),
    release: (key) => op(() => void ks.delete(claimKey(key))),

    applyCustomerEvent: async (input) => {
      const plan = planApply(input);
      return op(() => apply(ks, plan));
    },
    readCustomers: (customerIds, query) =>
      op(() => {
        checkSummaryQuery(query);
        const out = new Map<string, CustomerState>();
        for (const id of new Set(customerIds)) {
          const keys = customerKeys(id, query.version);
          const history = ks.read(keys.history, 'zset');
          const top = history?.entries.at(-1);
          const record = ks.read(keys.latest, 'string');
          if (!history || !top || record === undefined) continue;
          const firstSeen: Record<string, number> = {};
          for (const [f, v] of ks.read(keys.firstSeen, 'hash') ?? []) firstSeen[f] = Number(v);
          out.set(id, {
            latest: { time: top.score, record: record.toString('utf8') },
            prior: summarize(history, top.score, query),
            firstSeen,
          });
        }
        return out;
      }),

    previewCustomerEvent: async (input) => {
      const p = planPreview(input);
      return op(() => {
        const entries =
          ks.read(p.history, 'zset')?.range({ min: p.from, max: Number.POSITIVE_INFINITY }) ?? [];
        const seen = ks.read(p.firstSeenKey, 'hash');
        return previewOf(
          p,
          entries.map((e) => e.member).join(MEMBER_JOIN),
          p.fields.map((f) => seen?.get(f)),
        );
      });
    },

    acquireLock: (name, owner, ttlMs) => op(() => setNx(lockKey(name), owner, ttlMs)),
    releaseLock: (name, owner) =>
      op(() => ks.read(lockKey(name), 'string')?.toString() === owner && ks.delete(lockKey(name))),
    breakLock: (name) => op(() => ks.delete(lockKey(name))),
    renewLock: (name, owner, ttlMs) =>
      op(() => {
        checkTtl('ttlMs', ttlMs);
        if (ks.read(lockKey(name), 'string')?.toString() !== owner) return false;
        ks.expire(lockKey(name), ttlMs);
        return true;
      }),

    get: (key) => op(() => ks.read(prefixed(key), 'string')?.toString('utf8') ?? null),
    getBytes: (key) =>
      op(() => {
        const buf = ks.read(prefixed(key), 'string');
        return buf === undefined ? null : new Uint8Array(buf);
      }),
    set: async (key, value, setOpts) => {
      const ttlMs = setOpts?.ttlMs;
      if (ttlMs !== undefined) checkTtl('ttlMs', ttlMs);
      const data = Buffer.from(typeof value === 'string' ? Buffer.from(value, 'utf8') : value);
      return op(() => ks.put(prefixed(key), 'string', data, ttlMs));
    },
    del: (key) => op(() => void ks.delete(prefixed(key))),
    incr: (key) =>
      op(() => {
        const k = prefixed(key);
        const text = ks.read(k, 'string')?.toString() ?? '0';
        const n = /^(0|-?[1-9]\d*)$/.test(text) ? Number(text) : Number.NaN;
        if (!Number.isSafeInteger(n + 1))
          throw new ConflictError('ERR value is not an integer or out of range');
        ks.replace(k, 'string', Buffer.from(String(n + 1)));
        return n + 1;
      }),
    compareAndSet: async (input) => {
      checkCompareAndSet(input);
      return op(() => {
        const k = prefixed(input.key);
        const current = ks.read(k, 'string')?.toString() ?? null;
        if (current !== input.expected) return false;
        if (input.historyKey !== undefined) ks.read(prefixed(input.historyKey), 'list'); // type check before writing
        ks.put(k, 'string', Buffer.from(input.next));
        if (input.historyKey !== undefined)
          ks.write(prefixed(input.historyKey), 'list').push(input.historyEntry ?? '');
        if (input.channel !== undefined) publishNow(prefixed(input.channel), input.notice ?? '');
        return true;
      });
    },

    hset: (key, fields) =>
      op(() => {
        const entries = Object.entries(fields);
        if (entries.length === 0) return;
        const hash = ks.write(prefixed(key), 'hash');
        for (const [f, v] of entries) hash.set(f, v);
      }),
    hgetall: (key) => op(() => Object.fromEntries(ks.read(prefixed(key), 'hash') ?? [])),
    hincrby: async (key, increments, incOpts) => {
      checkIncrements(increments);
      const ttlMs = incOpts?.ttlMs;
      if (ttlMs !== undefined) checkTtl('ttlMs', ttlMs);
      return op(() => {
        const out: Record<string, number> = {};
        const entries = Object.entries(increments);
        if (entries.length === 0) return out;
        const k = prefixed(key);
        const current = ks.read(k, 'hash');
        for (const [f, by] of entries) {
          const text = current?.get(f);
          const n = text === undefined ? 0 : Number(text);
          if (text !== undefined && (text.trim() === '' || Number.isNaN(n))) {
            throw new ConflictError('ERR hash value is not a float');
          }
          out[f] = n + by;
        }
        const hash = ks.write(k, 'hash');
        for (const [f, v] of Object.entries(out)) hash.set(f, String(v));
        if (ttlMs !== undefined) ks.expire(k, ttlMs);
        return out;
      });
    },

    rpush: (key, value) => op(() => ks.write(prefixed(key), 'list').push(value)),
    lrange: async (key, start, stop) => {
      checkIntegers({ start, stop });
      return op(() => {
        const list = ks.read(prefixed(key), 'list') ?? [];
        const from = Math.max(start < 0 ? list.length + start : start, 0);
        const to = stop < 0 ? list.length + stop : Math.min(stop, list.length - 1);
        return from > to ? [] : list.slice(from, to + 1);
      });
    },

    zadd: async (key, score, member) => {
      checkScore('score', score);
      return op(() => ks.write(prefixed(key), 'zset').add(member, score));
    },
    zrangeByScore: async (key, min, max, rangeOpts) => {
      checkScore('min', min);
      checkScore('max', max);
      const limit = rangeOpts?.limit;
      if (limit !== undefined) checkIntegers({ limit });
      return op(() => {
        const set = ks.read(prefixed(key), 'zset');
        if (set === undefined) return [];
        const range = set.range(limit === undefined || limit < 0 ? { min, max } : { min, max, limit });
        return range.map((e) => ({ member: e.member, score: e.score }));
      });
    },

    publish: (channel, message) => op(() => publishNow(prefixed(channel), message)),
    subscribe: (channel, onMessage) =>
      op(() => {
        const name = prefixed(channel);
        const listener = (message: string) => {
          try {
            onMessage(message);
          } catch (err) {
            // a failing subscriber must not break delivery to the others
            opts.log?.error({ err, channel: name }, 'store: a subscriber threw');
          }
        };
        bus.on(name, listener);
        return async () => void bus.off(name, listener);
      }),

    ping: async () => !closed,
    close: async () => {
      closed = true;
      ks.close();
      bus.removeAllListeners();
    },
  };
  return store;
}

/** The summary of the entries with score in [t - retention, t), in member order (what the Redis adapter computes). */
function summarize(history: SortedSet | undefined, t: number, query: SummaryQuery): PriorSummary {
  const entries = history?.range({ min: t - query.retentionMs, max: t, maxExclusive: true }) ?? [];
  return summarizePrior(
    parseJoinedMembers(entries.map((e) => e.member).join(MEMBER_JOIN)),
    t,
    query.windowsMs,
  );
}

/** applyCustomerEvent on the keyspace: the APPLY_CUSTOMER_EVENT script, step for step. */
function apply(ks: Keyspace, p: ApplyPlan): CustomerEventResult {
  const history = ks.read(p.history, 'zset');
  const firstSeen = ks.read(p.firstSeenKey, 'hash');
  const prior = (): PriorSummary => summarize(history, p.eventTime, p);
  const claim = ks.read(p.claim, 'hash');
  if (claim !== undefined) {
    const before: Record<string, number | null> = {};
    for (const f of p.fields) {
      const remembered = claim.get(`f:${f}`);
      const v = remembered === undefined ? firstSeen?.get(f) : remembered === '' ? undefined : remembered;
      before[f] = v === undefined ? null : Number(v);
    }
    return { kind: 'duplicate', prior: prior(), firstSeen: before };
  }
  const top = history?.entries.at(-1)?.score;
  if (top !== undefined && !p.applyLate && p.eventTime < top - p.allowedLatenessMs) {
    return { kind: 'too-late', newest: top };
  }
  const result = prior();
  const before: Record<string, number | null> = {};
  const remembered = new Map<string, string>([['t', String(p.eventTime)]]);
  const seen = p.fields.length > 0 ? ks.write(p.firstSeenKey, 'hash') : undefined;
  for (const f of p.fields) {
    const v = seen?.get(f);
    before[f] = v === undefined ? null : Number(v);
    remembered.set(`f:${f}`, v ?? '');
    if (v === undefined || p.eventTime < Number(v)) seen?.set(f, String(p.eventTime));
  }
  const zset = ks.write(p.history, 'zset');
  zset.add(p.member, p.eventTime);
  if (zset.entries.at(-1)?.member === p.member) {
    ks.put(p.latest, 'string', Buffer.from(p.record, 'utf8'), p.idleTtlMs);
  } else ks.expire(p.latest, p.idleTtlMs);
  zset.removeBelow(Math.max(top ?? p.eventTime, p.eventTime) - p.retentionMs - p.allowedLatenessMs);
  zset.removeFirst(Math.max(zset.size - p.maxEvents, 0));
  ks.put(p.claim, 'hash', remembered, p.claimTtlMs);
  ks.expire(p.history, p.idleTtlMs);
  if (p.fields.length > 0) ks.expire(p.firstSeenKey, p.idleTtlMs);
  return { kind: 'applied', prior: result, firstSeen: before };
}
