// featurize: updates a customer's feature state atomically and idempotently, and replies features.updated.
import {
  type EventTypes as ET,
  EventTypes,
  eventKey,
  type FlywheelEvent,
  makeEvent,
} from '../../shared/events/index.ts';
import {
  applyTransaction,
  type FeatureUpdateDeps,
  featuresFromSummary,
  toNamedValues,
} from '../../shared/features/index.ts';
import type { EventOf, HandlerContext, Outcome } from '../../shared/runtime/index.ts';

export type FeaturizeType = typeof ET.transactionAccepted;

/** The update's dependencies (store, feature set, lateness, claim TTL) plus the reply's source and clock. */
export interface FeaturizeDeps extends FeatureUpdateDeps {
  source: string;
  now: () => number;
}

/**
 * One round trip to the store (claim + history update + first-seen, atomically; it returns the summary of the
 * customer's earlier events per window), then the vector is computed from that summary. A redelivered event gets
 * the same reply (same id and values): a reply lost on the way is recovered by the broker's retry, and consumers de-duplicate by source + id. Events older than the allowed
 * lateness are counted and dropped without touching state. The update itself is `applyTransaction`, the one
 * `flywheel backfill` replays the event log through, in the keys of the feature set's version.
 */
export async function handle(
  event: EventOf<FeaturizeType>,
  deps: FeaturizeDeps,
  ctx: HandlerContext,
): Promise<Outcome> {
  const tx = event.data;
  const set = deps.featureSet;
  const { record: current, result } = await applyTransaction(deps, { eventKey: eventKey(event), tx });
  if (result.kind === 'too-late') {
    ctx.metrics
      .counter(
        'flywheel_late_events_dropped_total',
        'Events older than the allowed lateness, dropped by featurize',
      )
      .inc();
    ctx.log.info({ newest: result.newest, occurredAt: tx.occurredAt }, 'event too late: dropped');
    return { kind: 'accepted', detail: 'dropped: older than the allowed lateness' };
  }
  if (result.kind === 'duplicate') {
    ctx.metrics
      .counter('flywheel_duplicate_events_total', 'Redelivered events recognised by source + id')
      .inc();
  }
  const values = featuresFromSummary(set, current, result.prior, result.firstSeen);
  return { kind: 'reply', event: featuresUpdated(event, deps, values) };
}

function featuresUpdated(
  event: EventOf<FeaturizeType>,
  deps: FeaturizeDeps,
  values: number[],
): FlywheelEvent<typeof ET.featuresUpdated> {
  const tx = event.data;
  return makeEvent({
    type: EventTypes.featuresUpdated,
    source: deps.source,
    id: event.id,
    time: deps.now(),
    data: {
      customerId: tx.customerId,
      transactionId: tx.transactionId,
      featureSet: { name: deps.featureSet.name, version: deps.featureSet.version },
      values: toNamedValues(deps.featureSet, values),
      occurredAt: tx.occurredAt,
      asOf: deps.now(),
    },
  });
}
