// What featurize, score and the backfill need from a store of customer histories: the one port the online store's
// adapters implement for features (docs/architecture.md, "The online store by role"). Defined here, beside the
// window math it returns, so the features code never imports the store.
import type { PriorSummary } from './windows.ts';

export type { PriorSummary, WindowStats } from './windows.ts';

/** One entry of a customer's history: the event time (epoch ms) and the record the caller stored. */
export interface HistoryEntry {
  time: number;
  record: string;
}

/** Input of {@link CustomerHistoryStore.applyCustomerEvent}; all durations in milliseconds. */
export interface CustomerEventInput {
  customerId: string;
  /** Idempotency key of the event: source + id (`eventKey(event)` from shared/events). */
  eventKey: string;
  /** Event time, epoch ms: the history's score. */
  eventTime: number;
  /** Events with equal times are ordered by this key's UTF-8 bytes (the transaction id); no control characters. */
  orderKey: string;
  /** The number the windows aggregate (the amount); finite. */
  value: number;
  /** Opaque record (usually JSON) kept as the customer's latest while this event is the newest; readCustomers returns it. */
  record: string;
  /** Lengths of the windows the prior summary covers, each > 0 and at most retentionMs. */
  windowsMs: readonly number[];
  /**
   * Window history kept behind an event: entries with time < newest - retentionMs - allowedLatenessMs are trimmed,
   * so an event still accepted (or redelivered) after newer ones sees its whole window.
   */
  retentionMs: number;
  /** At most this many newest entries are kept (integer >= 1). */
  maxEvents: number;
  /** An event older than newest - allowedLatenessMs is refused as too late (unless `late` is 'apply'). */
  allowedLatenessMs: number;
  /**
   * What happens to an event older than newest - allowedLatenessMs: 'refuse' (the default, live featurize) answers
   * too-late and writes nothing; 'apply' (a backfill, whose older events arrive after live traffic wrote newer ones)
   * applies it. Trimming is the same either way, so an applied event behind the trim horizon leaves only its claim
   * and its first sightings, as it did when it was applied in time.
   */
  late?: 'refuse' | 'apply';
  /** The feature-set version whose key namespace the event is applied in (keys.ts); none = the unversioned keys. */
  featureSetVersion?: string;
  /** How long the event's claim is kept (integer >= 1): redeliveries within it are duplicates. */
  claimTtlMs: number;
  /** First-seen fields this event touches, e.g. 'country:DE' (duplicates are ignored). */
  firstSeen: readonly string[];
  /** Idle expiry of the customer's keys, refreshed on every applied event; default retentionMs + max(allowedLatenessMs, 1 h). */
  idleTtlMs?: number;
}

/** What applyCustomerEvent saw: the same shape for an applied event and for its redelivery. */
export type CustomerEventResult =
  | {
      kind: 'applied' | 'duplicate';
      /**
       * Summary of the history entries with time in [eventTime - retentionMs, eventTime), taken in time order
       * (ties: by order key): per window of `windowsMs`, the entries with time > eventTime - window.
       */
      prior: PriorSummary;
      /** For each requested field, its first-seen time before the event was applied (null: never seen). */
      firstSeen: Record<string, number | null>;
    }
  | { kind: 'too-late'; newest: number };

/** Input of {@link CustomerHistoryStore.previewCustomerEvent}: what applyCustomerEvent would be given, less what it writes. */
export interface CustomerEventPreviewInput {
  customerId: string;
  /** Event time, epoch ms. */
  eventTime: number;
  /** The order key the event would be stored under (the transaction id): an entry with it makes a duplicate. */
  orderKey: string;
  windowsMs: readonly number[];
  retentionMs: number;
  /** An event older than newest - allowedLatenessMs would be refused as too late (a duplicate never is). */
  allowedLatenessMs: number;
  /** First-seen fields the event would touch, e.g. 'country:DE'. */
  firstSeen: readonly string[];
  featureSetVersion?: string;
}

/** What applyCustomerEvent would see for an event, read without writing anything. */
export type CustomerEventPreview =
  | {
      /**
       * 'new': no entry with the order key in the history from eventTime - retentionMs on; 'duplicate': there is
       * one (the event, or a copy of it, was applied): its entries are left out of the summary.
       */
      kind: 'new' | 'duplicate';
      /** Summary of the other entries with time in [eventTime - retentionMs, eventTime), as applyCustomerEvent takes it. */
      prior: PriorSummary;
      /** For each requested field, its first-seen time now (null: never seen). */
      firstSeen: Record<string, number | null>;
    }
  | { kind: 'too-late'; newest: number };

/** One customer's stored state, as readCustomers returns it. */
export interface CustomerState {
  /** The customer's latest event (last in time, then order-key order). */
  latest: HistoryEntry;
  /** Summary of the entries before the latest, as applyCustomerEvent summarised them for it. */
  prior: PriorSummary;
  firstSeen: Record<string, number>;
}

/**
 * What readCustomers summarises: the retention and the windows as given to applyCustomerEvent, and the feature-set
 * version whose keys are read (none = the unversioned keys). A FeatureSet is a SummaryQuery.
 */
export interface SummaryQuery {
  retentionMs: number;
  windowsMs: readonly number[];
  version?: string;
}

/**
 * Customer histories: each customer's recent events with their windows' statistics, first sightings and latest
 * record, applied and read atomically per customer. Keys (hash-tagged by customer id) are the adapter's business.
 */
export interface CustomerHistoryStore {
  /**
   * The featurize core, in ONE round trip and atomically (one Lua script on Redis; all keys tagged {customerId}):
   * claims `eventKey` for claimTtlMs, summarises the customer's earlier entries (see CustomerEventResult); unless
   * the event is a duplicate or too late, adds the event's compact member (order key, hash, time, value) to the
   * customer's history scored by eventTime and keeps `record` as the latest when the event is the newest, trims the
   * history to entries with time >= newest - retentionMs - allowedLatenessMs and to the newest maxEvents, records min(existing, eventTime) for every `firstSeen` field, and refreshes the idle expiry of the
   * customer's keys. Too late = eventTime < newest - allowedLatenessMs: nothing is written, the claim is not kept.
   * A duplicate returns the summary of the prior entries as they are now and the first-seen values recorded at the first claim, so
   * a redelivery recomputes the same reply.
   */
  applyCustomerEvent(input: CustomerEventInput): Promise<CustomerEventResult>;
  /**
   * Reads many customers in ONE round trip: each one's latest event, the summary of the events before it and the
   * first-seen hash. Customers without history are absent.
   */
  readCustomers(customerIds: readonly string[], query: SummaryQuery): Promise<Map<string, CustomerState>>;
  /**
   * What applyCustomerEvent would see for an event not applied yet, in ONE round trip and writing nothing (score's
   * candidate transactions): the summary of the entries in [eventTime - retentionMs, eventTime), the first-seen
   * values, and whether it would be too late. An entry with the same order key from eventTime - retentionMs on makes
   * it a duplicate, scored on the state before it: that entry is left out of the summary, and a duplicate is never
   * too late (applyCustomerEvent answers a redelivery whatever its age).
   */
  previewCustomerEvent(input: CustomerEventPreviewInput): Promise<CustomerEventPreview>;
  /**
   * The entries kept in a customer's history now, oldest first (time, then order key): what the trims left, for
   * operators and checks. [] for a customer without history.
   */
  readHistory(customerId: string, version?: string): Promise<{ time: number; orderKey: string }[]>;
}
