// score's candidate form: a raw transaction, checked and normalised as ingest does, scored as if it were applied now.
import { z } from 'zod';
import { ConflictError } from '../../shared/errors/index.ts';
import { normalizeTransaction, TransactionSchema } from '../../shared/events/index.ts';
import {
  type FeatureSet,
  previewTransaction,
  type TransactionPreview,
  toNamedValues,
} from '../../shared/features/index.ts';
import type { OnlineStore } from '../../shared/store/index.ts';
import { type Champions, type Scored, scoreRows } from './scorer.ts';

/** `{"transaction": {...}}`: the catalog's raw transaction, exactly as ingest takes it. */
export const CandidateRequestSchema = z.object({ transaction: TransactionSchema }).strict();

export interface CandidateDeps {
  store: Pick<OnlineStore, 'previewCustomerEvent'>;
  featureSet: FeatureSet;
  /** featurize's ALLOWED_LATENESS_MS: a transaction further behind the customer's newest would be dropped. */
  allowedLatenessMs: number;
  /** ingest's MAX_CLOCK_SKEW_MS: how far in the future occurredAt may be. */
  maxClockSkewMs: number;
  now: () => number;
}

/** One scored candidate: the scores, the vector they were computed from, and how it was computed. */
export interface ScoredCandidate extends Scored {
  customerId: string;
  transactionId: string;
  /** The normalised event time, epoch ms. */
  occurredAt: number;
  featureSet: { name: string; version: string };
  /** The feature vector by name: what featurize's features.updated would carry for this transaction. */
  values: Record<string, number>;
  /** The transaction id is already in the customer's history: scored on the state before it. */
  duplicate: boolean;
  /** No earlier transaction of the customer within the retention (an unknown customer, say). */
  firstTransaction: boolean;
}

/**
 * Scores a transaction before it is accepted: normalised by ingest's normaliser (errors name `transaction.<field>`),
 * its features computed from the customer's current state as featurize would compute them when applying it, and
 * nothing written. A transaction featurize would drop (older than the allowed lateness behind the customer's newest)
 * is a ConflictError (409): it would never get features, so there is nothing to score.
 */
export async function scoreCandidate(
  deps: CandidateDeps,
  champs: Champions,
  raw: z.infer<typeof TransactionSchema>,
): Promise<ScoredCandidate> {
  const tx = normalizeTransaction(raw, { now: deps.now(), maxSkewMs: deps.maxClockSkewMs }, 'transaction');
  const preview: TransactionPreview = await previewTransaction(deps, tx);
  if (preview.kind === 'too-late') {
    throw new ConflictError(
      `transaction ${tx.transactionId} occurred at ${new Date(tx.occurredAt).toISOString()}, more than ` +
        `${deps.allowedLatenessMs} ms before the customer's newest transaction ` +
        `(${new Date(preview.newest).toISOString()}): featurize would drop it, so it has no features to score`,
    );
  }
  const [scored] = await scoreRows(champs, [preview.vector]);
  if (!scored) throw new Error('scoring returned no result');
  const { name, version } = deps.featureSet;
  return {
    customerId: tx.customerId,
    transactionId: tx.transactionId,
    occurredAt: tx.occurredAt,
    ...scored,
    featureSet: { name, version },
    values: toNamedValues(deps.featureSet, preview.vector),
    duplicate: preview.duplicate,
    firstTransaction: preview.first,
  };
}
