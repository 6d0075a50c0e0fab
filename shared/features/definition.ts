// The feature definition language: what a feature set may declare, and its version (a hash of the definitions).
import { createHash } from 'node:crypto';
import type { AcceptedTransaction } from '../events/index.ts';

/** Transaction fields that features may read. */
export type NumericField = 'amount';
export type CategoricalField = 'country' | 'deviceId' | 'merchantCategory' | 'channel' | 'currency';

export type Aggregation = 'count' | 'sum' | 'mean' | 'min' | 'max' | 'std' | 'last';

export type FeatureDefinition =
  /** The current event's own value. */
  | { name: string; kind: 'value'; field: NumericField }
  /** An aggregation of the customer's earlier events inside a sliding window (the current event excluded). */
  | { name: string; kind: 'aggregate'; field: NumericField; aggregation: Aggregation; window: string }
  /** Seconds since the customer's previous event; `cap` seconds when there is none. */
  | { name: string; kind: 'recency'; cap: number }
  /** numerator / denominator, both feature names; `neutral` when the denominator is 0; clipped at `max`. */
  | { name: string; kind: 'ratio'; numerator: string; denominator: string; neutral: number; max: number }
  /** 1 when this value of `field` was never seen for this customer before this event; 0 when seen or absent. */
  | { name: string; kind: 'novelty'; field: CategoricalField }
  /** 1 when `field` equals `equals`, else 0. */
  | { name: string; kind: 'indicator'; field: CategoricalField; equals: string };

export interface FeatureSetDefinition {
  name: string;
  /** The entity key every feature is computed for. */
  entity: 'customerId';
  /** Named sliding windows in milliseconds. */
  windows: Record<string, number>;
  /** Most events kept per customer (bounds state and the work per event). */
  maxEvents: number;
  features: readonly FeatureDefinition[];
}

/** A feature set ready to use: its definition plus the derived version, columns and retention. */
export interface FeatureSet extends FeatureSetDefinition {
  version: string;
  columns: readonly string[];
  /** The longest window: history older than this is never read. */
  retentionMs: number;
  /** The window names, and their lengths in the same order (the order of every PriorSummary). */
  windowNames: readonly string[];
  windowsMs: readonly number[];
}

/** Checks a definition and derives its version: the first 12 hex of SHA-256 over the canonical definition. */
export function defineFeatureSet(def: FeatureSetDefinition): FeatureSet {
  const names = new Set<string>();
  for (const f of def.features) {
    if (names.has(f.name)) throw new Error(`feature ${f.name} is defined twice`);
    if (f.kind === 'aggregate' && def.windows[f.window] === undefined) {
      throw new Error(`feature ${f.name} uses unknown window ${f.window}`);
    }
    if (f.kind === 'ratio' && (!names.has(f.numerator) || !names.has(f.denominator))) {
      throw new Error(`ratio ${f.name} must come after ${f.numerator} and ${f.denominator}`);
    }
    names.add(f.name);
  }
  const { name, entity, windows, maxEvents, features } = def;
  const definition: FeatureSetDefinition = { name, entity, windows, maxEvents, features };
  const version = createHash('sha256').update(canonical(definition)).digest('hex').slice(0, 12);
  const windowNames = Object.keys(windows);
  const windowsMs = windowNames.map((w) => windows[w] as number);
  const retentionMs = Math.max(...windowsMs);
  for (const [w, ms] of Object.entries(windows)) {
    if (!Number.isFinite(ms) || ms <= 0)
      throw new Error(`window ${w} must be a positive number of ms, got ${ms}`);
  }
  return {
    ...definition,
    version,
    columns: features.map((f) => f.name),
    retentionMs,
    windowNames,
    windowsMs,
  };
}

/** The fields of a transaction that the history keeps (everything any feature can read). */
export interface HistoryRecord {
  id: string;
  t: number;
  amount: number;
  country: string;
  deviceId?: string;
  merchantCategory: string;
  channel: string;
  currency: string;
}

/** The compact record stored in the customer's history. */
export function toHistoryRecord(tx: Omit<AcceptedTransaction, 'ingestedAt'>): HistoryRecord {
  const r: HistoryRecord = {
    id: tx.transactionId,
    t: tx.occurredAt,
    amount: tx.amount,
    country: tx.country,
    merchantCategory: tx.merchantCategory,
    channel: tx.channel,
    currency: tx.currency,
  };
  if (tx.deviceId !== undefined) r.deviceId = tx.deviceId;
  return r;
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
