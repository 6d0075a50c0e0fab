// The one online update of a customer's feature state: what featurize does per event and what a backfill replays.
import type { AcceptedTransaction } from '../events/index.ts';
import type { CustomerEventResult, CustomerHistoryStore } from './customer-history.ts';
import { featuresFromSummary, noveltyKeys } from './compute.ts';
import { type FeatureSet, type HistoryRecord, toHistoryRecord } from './definition.ts';

/** How long an event's claim is kept: a day covers any broker retry schedule. */
export const FEATURIZE_CLAIM_TTL_MS = 24 * 3_600_000;

/** What an update needs besides the event: the store, the feature set (its version names the keys), the bounds. */
export interface FeatureUpdateDeps {
  store: Pick<CustomerHistoryStore, 'applyCustomerEvent'>;
  featureSet: FeatureSet;
  allowedLatenessMs: number;
  /** How long the event is remembered for idempotency. */
  claimTtlMs: number;
}

/**
 * Applies one accepted transaction to its customer's state in the feature set's key namespace, in one atomic store
 * call (claim, history, first sightings, latest record). `eventKey` is the event's source + id (`eventKey()`), the
 * same for the broker's delivery and the event log's record, so live featurize and a backfill claim the same event
 * once. `late: 'apply'` (a backfill) applies an event however far it is behind the customer's newest one.
 */
export async function applyTransaction(
  deps: FeatureUpdateDeps,
  input: { eventKey: string; tx: AcceptedTransaction; late?: 'refuse' | 'apply' },
): Promise<{ record: HistoryRecord; result: CustomerEventResult }> {
  const set = deps.featureSet;
  const record = toHistoryRecord(input.tx);
  const result = await deps.store.applyCustomerEvent({
    customerId: input.tx.customerId,
    eventKey: input.eventKey,
    eventTime: input.tx.occurredAt,
    orderKey: record.id,
    value: record.amount,
    record: JSON.stringify(record),
    windowsMs: set.windowsMs,
    retentionMs: set.retentionMs,
    maxEvents: set.maxEvents,
    allowedLatenessMs: deps.allowedLatenessMs,
    late: input.late ?? 'refuse',
    claimTtlMs: deps.claimTtlMs,
    firstSeen: noveltyKeys(set, record),
    featureSetVersion: set.version,
  });
  return { record, result };
}

/** What a preview needs: the store's read, the feature set (its version names the keys), the allowed lateness. */
export interface FeaturePreviewDeps {
  store: Pick<CustomerHistoryStore, 'previewCustomerEvent'>;
  featureSet: FeatureSet;
  allowedLatenessMs: number;
}

/** What applying a transaction would give, computed without applying it. */
export type TransactionPreview =
  | {
      kind: 'scored';
      /** The transaction id is already in the customer's history: the vector is that of the state before it. */
      duplicate: boolean;
      /** No earlier transaction of the customer within the retention: the vector of a first transaction. */
      first: boolean;
      /** The feature vector in `featureSet.columns` order: what featurize replies when it applies the transaction. */
      vector: number[];
    }
  /** featurize would drop it: it is more than the allowed lateness behind the customer's newest transaction. */
  | { kind: 'too-late'; newest: number };

/**
 * The feature vector `tx` would get if it were applied now (a candidate transaction scored before it is accepted):
 * the window summary and the first sightings of the customer's state as {@link applyTransaction} would read them,
 * in one read that writes nothing, and the vector from featurize's own code. A transaction already applied (its id
 * in the history) is computed on the state before it, without counting itself.
 */
export async function previewTransaction(
  deps: FeaturePreviewDeps,
  tx: Omit<AcceptedTransaction, 'ingestedAt'>,
): Promise<TransactionPreview> {
  const set = deps.featureSet;
  const record = toHistoryRecord(tx);
  const preview = await deps.store.previewCustomerEvent({
    customerId: tx.customerId,
    eventTime: tx.occurredAt,
    orderKey: record.id,
    windowsMs: set.windowsMs,
    retentionMs: set.retentionMs,
    allowedLatenessMs: deps.allowedLatenessMs,
    firstSeen: noveltyKeys(set, record),
    featureSetVersion: set.version,
  });
  if (preview.kind === 'too-late') return preview;
  return {
    kind: 'scored',
    duplicate: preview.kind === 'duplicate',
    first: preview.prior.lastTime === null,
    vector: featuresFromSummary(set, record, preview.prior, preview.firstSeen),
  };
}
