// The embedded online store: every role in process (one replica, no persistence), with the Redis store's
// semantics and none of its commands; each role keeps the structures it needs, entries that lapse in Expiring.
import { EventEmitter } from 'node:events';
import { DependencyError } from '../errors/index.ts';
import type {
  CustomerEventResult,
  CustomerState,
  PriorSummary,
  SummaryQuery,
} from '../features/customer-history.ts';
import { summarizePrior } from '../features/windows.ts';
import type { Logger } from '../runtime/logger.ts';
import {
  claimKey,
  customerKeys,
  driftKeys,
  lockKey,
  MEMBER_JOIN,
  orderKeyOf,
  parseJoinedMembers,
} from './keys.ts';
import { Expiring } from './memory-expiring.ts';
import { SortedSet } from './memory-sorted-set.ts';
import { planPreview, previewOf } from './preview.ts';
import type { DriftWindowStore, LockStore, OnlineStore, RecordStore, RegistryStore } from './types.ts';
import {
  type ApplyPlan,
  checkIncrements,
  checkSummaryQuery,
  checkTtl,
  checkVersion,
  planApply,
} from './validate.ts';

/** Options of the in-process store; `now` lets tests move time (default Date.now). */
export interface MemoryStoreOptions {
  now?: () => number;
  sweepMs?: number;
  log?: Logger;
}

/** One customer's state in one feature-set version: what the Redis store keeps in the customer's keys. */
interface Customer {
  /** History members (keys.ts historyMember) scored by event time. */
  history: SortedSet;
  /** The newest event's record. */
  latest: string;
  /** First-seen time per field. */
  firstSeen: Map<string, number>;
}

/** What a claim of a customer event remembers: its time, and each field's first-seen value before it (null: none). */
type CustomerClaim = Map<string, number | null>;

/** One model's registry records. */
interface ModelRecords {
  next: number;
  versions: Map<number, { record: string; holdout?: string; artifact?: Uint8Array }>;
  aliases: Map<string, string>;
  history: string[];
}

/** Runs one synchronous operation as a call on a store that may be closed. */
type Op = <T>(fn: () => T) => Promise<T>;

/** Creates the in-process store: the embedded default when no REDIS_URL is configured. */
export function createMemoryStore(opts: MemoryStoreOptions = {}): OnlineStore {
  const now = opts.now ?? Date.now;
  const customers = new Expiring<Customer>(now);
  const claims = new Expiring<CustomerClaim>(now);
  const tokens = new Expiring<string>(now);
  const records = new Expiring<string>(now);
  const windows = new Expiring<Map<string, number>>(now);
  const lapsing = [customers, claims, tokens, records, windows];
  const sweep = setInterval(() => {
    for (const m of lapsing) m.sweep();
  }, opts.sweepMs ?? 1000);
  sweep.unref();
  let closed = false;
  const op: Op = (fn) => {
    if (closed) return Promise.reject(new DependencyError('memory', 'store is closed'));
    try {
      return Promise.resolve(fn());
    } catch (err) {
      return Promise.reject(err);
    }
  };

  const store: OnlineStore = {
    kind: 'memory',
    applyCustomerEvent: async (input) => {
      const plan = planApply(input);
      return op(() => apply(customers, claims, plan));
    },
    readCustomers: (customerIds, query) =>
      op(() => {
        checkSummaryQuery(query);
        const out = new Map<string, CustomerState>();
        for (const id of new Set(customerIds)) {
          const c = customers.get(customerKeys(id, query.version).history);
          const top = c?.history.entries.at(-1);
          if (!c || !top) continue;
          out.set(id, {
            latest: { time: top.score, record: c.latest },
            prior: summarize(c.history, top.score, query),
            firstSeen: Object.fromEntries(c.firstSeen),
          });
        }
        return out;
      }),
    previewCustomerEvent: async (input) => {
      const p = planPreview(input);
      return op(() => {
        const c = customers.get(p.history);
        const entries = c?.history.range({ min: p.from, max: Number.POSITIVE_INFINITY }) ?? [];
        return previewOf(
          p,
          entries.map((e) => e.member).join(MEMBER_JOIN),
          p.fields.map((f) => {
            const t = c?.firstSeen.get(f);
            return t === undefined ? undefined : String(t);
          }),
        );
      });
    },
    readHistory: (customerId, version) =>
      op(() =>
        (customers.get(customerKeys(customerId, version).history)?.history.entries ?? []).map((e) => ({
          time: e.score,
          orderKey: orderKeyOf(e.member),
        })),
      ),
    ...memoryLocks(tokens, op),
    ...memoryRecords(records, op),
    ...memoryRegistry(op, opts.log),
    ...memoryDriftWindows(windows, op),
    ping: async () => !closed,
    close: async () => {
      closed = true;
      clearInterval(sweep);
      for (const m of lapsing) m.clear();
    },
  };
  return store;
}

function memoryLocks(tokens: Expiring<string>, op: Op): LockStore {
  const setNx = (key: string, value: string, ttlMs: number): boolean => {
    checkTtl('ttlMs', ttlMs);
    if (tokens.get(key) !== undefined) return false;
    tokens.set(key, value, ttlMs);
    return true;
  };
  return {
    claim: (key, ttlMs) => op(() => setNx(claimKey(key), '1', ttlMs)),
    release: (key) => op(() => void tokens.delete(claimKey(key))),
    acquireLock: (name, owner, ttlMs) => op(() => setNx(lockKey(name), owner, ttlMs)),
    releaseLock: (name, owner) =>
      op(() => tokens.get(lockKey(name)) === owner && tokens.delete(lockKey(name))),
    breakLock: (name) => op(() => tokens.delete(lockKey(name))),
    renewLock: (name, owner, ttlMs) =>
      op(() => {
        checkTtl('ttlMs', ttlMs);
        return tokens.get(lockKey(name)) === owner && tokens.expire(lockKey(name), ttlMs);
      }),
  };
}

function memoryRecords(records: Expiring<string>, op: Op): RecordStore {
  return {
    readRecord: (name) => op(() => records.get(name) ?? null),
    writeRecord: async (name, value, writeOpts) => {
      const ttlMs = writeOpts?.ttlMs;
      if (ttlMs !== undefined) checkTtl('ttlMs', ttlMs);
      return op(() => records.set(name, value, ttlMs));
    },
  };
}

function memoryRegistry(op: Op, log: Logger | undefined): RegistryStore {
  const models = new Map<string, ModelRecords>();
  const notices = new EventEmitter();
  notices.setMaxListeners(0);
  const model = (name: string): ModelRecords => {
    let m = models.get(name);
    if (!m) {
      m = { next: 0, versions: new Map(), aliases: new Map(), history: [] };
      models.set(name, m);
    }
    return m;
  };
  return {
    nextModelVersion: (name) => op(() => ++model(name).next),
    writeModelVersion: async (input) => {
      checkVersion(input.version);
      const artifact = input.artifact && new Uint8Array(input.artifact); // a copy, as Redis keeps one
      return op(() => {
        const v: { record: string; holdout?: string; artifact?: Uint8Array } = { record: input.record };
        if (input.holdout !== undefined) v.holdout = input.holdout;
        if (artifact !== undefined) v.artifact = artifact;
        model(input.model).versions.set(input.version, v);
      });
    },
    readModelVersion: (name, version) => op(() => models.get(name)?.versions.get(version)?.record ?? null),
    listModelVersions: (name) =>
      op(() => [...(models.get(name)?.versions.keys() ?? [])].sort((a, b) => a - b)),
    readModelArtifact: (name, version) =>
      op(() => {
        const bytes = models.get(name)?.versions.get(version)?.artifact;
        return bytes === undefined ? null : new Uint8Array(bytes);
      }),
    readModelHoldout: (name, version) => op(() => models.get(name)?.versions.get(version)?.holdout ?? null),
    readAlias: (name, alias) => op(() => models.get(name)?.aliases.get(alias) ?? null),
    moveAlias: (move) =>
      op(() => {
        const m = model(move.model);
        if ((m.aliases.get(move.alias) ?? null) !== move.expected) return false;
        m.aliases.set(move.alias, move.next);
        m.history.push(move.historyEntry);
        // Redis delivers after the publishing command has returned; so do we, in publish order
        setImmediate(() => notices.emit('notice', move.notice));
        return true;
      }),
    readAliasHistory: (name) => op(() => [...(models.get(name)?.history ?? [])]),
    watchAliases: (onNotice) =>
      op(() => {
        const listener = (notice: string) => {
          try {
            onNotice(notice);
          } catch (err) {
            // a failing watcher must not break delivery to the others
            log?.error({ err }, 'store: an alias watcher threw');
          }
        };
        notices.on('notice', listener);
        return async () => void notices.off('notice', listener);
      }),
  };
}

function memoryDriftWindows(windows: Expiring<Map<string, number>>, op: Op): DriftWindowStore {
  const docs = new Map<string, string>();
  return {
    addDriftCounts: async (monitor, n, increments, ttlMs) => {
      checkIncrements(increments);
      checkTtl('ttlMs', ttlMs);
      return op(() => {
        const key = driftKeys.window(monitor, n);
        const counts = windows.get(key) ?? new Map<string, number>();
        const out: Record<string, number> = {};
        for (const [field, by] of Object.entries(increments)) {
          const next = (counts.get(field) ?? 0) + by;
          counts.set(field, next);
          out[field] = next;
        }
        if (counts.size > 0) windows.set(key, counts, ttlMs);
        return out;
      });
    },
    takeDriftWindow: (monitor, n) =>
      op(() => {
        const key = driftKeys.window(monitor, n);
        const counts = windows.get(key);
        windows.delete(key);
        return Object.fromEntries(counts ?? []);
      }),
    readDriftRecord: (monitor, name) => op(() => docs.get(driftKeys.record(monitor, name)) ?? null),
    swapDriftRecord: (monitor, name, expected, next) =>
      op(() => {
        const key = driftKeys.record(monitor, name);
        if ((docs.get(key) ?? null) !== expected) return false;
        docs.set(key, next);
        return true;
      }),
  };
}

/** The summary of the entries with time in [t - retention, t), in member order (what the Redis adapter computes). */
function summarize(history: SortedSet | undefined, t: number, query: SummaryQuery): PriorSummary {
  const entries = history?.range({ min: t - query.retentionMs, max: t, maxExclusive: true }) ?? [];
  return summarizePrior(
    parseJoinedMembers(entries.map((e) => e.member).join(MEMBER_JOIN)),
    t,
    query.windowsMs,
  );
}

/** applyCustomerEvent: the APPLY_CUSTOMER_EVENT script (lua.ts), step for step. */
function apply(
  customers: Expiring<Customer>,
  claims: Expiring<CustomerClaim>,
  p: ApplyPlan,
): CustomerEventResult {
  const customer = customers.get(p.history);
  const prior = (): PriorSummary => summarize(customer?.history, p.eventTime, p);
  const claim = claims.get(p.claim);
  if (claim !== undefined) {
    const before: Record<string, number | null> = {};
    for (const f of p.fields) {
      const remembered = claim.get(f);
      before[f] = remembered === undefined ? (customer?.firstSeen.get(f) ?? null) : remembered;
    }
    return { kind: 'duplicate', prior: prior(), firstSeen: before };
  }
  const top = customer?.history.entries.at(-1)?.score;
  if (top !== undefined && !p.applyLate && p.eventTime < top - p.allowedLatenessMs) {
    return { kind: 'too-late', newest: top };
  }
  const result = prior();
  const c: Customer = customer ?? { history: new SortedSet(), latest: p.record, firstSeen: new Map() };
  const before: Record<string, number | null> = {};
  const remembered: CustomerClaim = new Map();
  for (const f of p.fields) {
    const v = c.firstSeen.get(f);
    before[f] = v ?? null;
    remembered.set(f, v ?? null);
    if (v === undefined || p.eventTime < v) c.firstSeen.set(f, p.eventTime);
  }
  c.history.add(p.member, p.eventTime);
  if (c.history.entries.at(-1)?.member === p.member) c.latest = p.record;
  c.history.removeBelow(Math.max(top ?? p.eventTime, p.eventTime) - p.retentionMs - p.allowedLatenessMs);
  c.history.removeFirst(Math.max(c.history.size - p.maxEvents, 0));
  claims.set(p.claim, remembered, p.claimTtlMs);
  customers.set(p.history, c, p.idleTtlMs);
  return { kind: 'applied', prior: result, firstSeen: before };
}
