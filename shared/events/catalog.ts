// The event catalog: each type's data schema, its producers and consumers (README "Event catalog"), used for validation and wiring checks.
import type { z } from 'zod';
import * as s from './schemas.ts';
import { type EventType, EventTypes, type FunctionName, type Producer } from './types.ts';

interface CatalogEntry<S extends z.ZodType> {
  schema: S;
  producedBy: readonly Producer[];
  consumedBy: readonly FunctionName[];
  description: string;
}

const entry = <S extends z.ZodType>(e: CatalogEntry<S>): CatalogEntry<S> => e;

/** Every event type with its schema, producers and consumers. Trigger wiring is tested against this table. */
export const Catalog = {
  [EventTypes.transaction]: entry({
    schema: s.TransactionSchema,
    producedBy: ['data-source'],
    consumedBy: ['ingest'],
    description: 'a card or account transaction as a data source sends it',
  }),
  [EventTypes.label]: entry({
    schema: s.LabelSchema,
    producedBy: ['data-source'],
    consumedBy: ['ingest'],
    description: 'a fraud verdict for a past transaction (chargeback, review)',
  }),
  [EventTypes.transactionAccepted]: entry({
    schema: s.AcceptedTransactionSchema,
    producedBy: ['ingest'],
    consumedBy: ['featurize'],
    description: 'the transaction, normalised, plus ingestion time',
  }),
  [EventTypes.labelAccepted]: entry({
    schema: s.AcceptedLabelSchema,
    producedBy: ['ingest'],
    consumedBy: [],
    description: 'the label, normalised (kept in the event log for training)',
  }),
  [EventTypes.featuresUpdated]: entry({
    schema: s.FeaturesUpdatedSchema,
    producedBy: ['featurize'],
    consumedBy: ['score', 'detect-drift'],
    description: "the customer's feature vector as of this transaction",
  }),
  [EventTypes.scoreComputed]: entry({
    schema: s.ScoreComputedSchema,
    producedBy: ['score'],
    consumedBy: ['detect-drift'],
    description: 'risk and segment from the champions (and the shadow challenger)',
  }),
  [EventTypes.driftMeasured]: entry({
    schema: s.DriftReportSchema,
    producedBy: ['detect-drift'],
    consumedBy: [],
    description: 'per-window drift statistics, for dashboards',
  }),
  [EventTypes.driftDetected]: entry({
    schema: s.DriftDetectedSchema,
    producedBy: ['detect-drift'],
    consumedBy: ['launch-training'],
    description: 'drift that held for k consecutive windows',
  }),
  [EventTypes.trainingRequested]: entry({
    schema: s.TrainingRequestedSchema,
    producedBy: ['schedule', 'operator'],
    consumedBy: ['launch-training'],
    description: 'a scheduled or manual request to retrain a model',
  }),
  [EventTypes.trainingLaunched]: entry({
    schema: s.TrainingLaunchedSchema,
    producedBy: ['launch-training'],
    consumedBy: [],
    description: 'a training Job (or local trainer process) was started',
  }),
  [EventTypes.trainingFailed]: entry({
    schema: s.TrainingFailedSchema,
    producedBy: ['launch-training', 'trainer'],
    consumedBy: ['launch-training', 'detect-drift'],
    description: 'training could not be launched or did not finish',
  }),
  [EventTypes.modelTrained]: entry({
    schema: s.ModelTrainedSchema,
    producedBy: ['trainer'],
    consumedBy: ['promote', 'launch-training'],
    description: 'a new model version is registered with its metrics and lineage',
  }),
  [EventTypes.modelPromoted]: entry({
    schema: s.ModelPromotedSchema,
    producedBy: ['promote'],
    consumedBy: [],
    description: 'an alias moved to a new version',
  }),
  [EventTypes.modelRejected]: entry({
    schema: s.ModelRejectedSchema,
    producedBy: ['promote'],
    consumedBy: [],
    description: 'a candidate failed the promotion gate, with every failed check',
  }),
} satisfies Record<EventType, CatalogEntry<z.ZodType>>;

/** The data type of each event type, inferred from its schema. */
export type EventData = { [T in EventType]: z.infer<(typeof Catalog)[T]['schema']> };

/** Type guard: is `type` one of the catalog's event types? */
export function isEventType(type: string): type is EventType {
  return Object.hasOwn(Catalog, type);
}
