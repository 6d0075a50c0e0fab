// One zod schema per event's data (README "Event catalog"); the TypeScript types are inferred from these.
import { z } from 'zod';
import { MODEL_NAMES } from './types.ts';

/** Ids: 1–200 characters, no control characters (history members are ordered by the transaction id's bytes). */
const id = z
  .string()
  .min(1)
  .max(200)
  .refine((s) => !hasControlCharacter(s), 'must not contain control characters');

/** Whether `s` holds a C0 control character or DEL (refused in ids, and in the store's order keys). */
export function hasControlCharacter(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}
/** Epoch milliseconds, or an ISO-8601 timestamp on input (normalised to epoch ms by ingest). */
export const InstantInputSchema = z.union([
  z.number().finite().nonnegative(),
  z.iso.datetime({ offset: true }),
]);
const epochMs = z.number().int().nonnegative();

export const ModelNameSchema = z.enum(MODEL_NAMES);
export const ModelRefSchema = z.object({ name: ModelNameSchema, version: z.number().int().positive() });
export type ModelRef = z.infer<typeof ModelRefSchema>;
export const FeatureSetRefSchema = z.object({ name: z.string().min(1), version: z.string().min(1) });
export type FeatureSetRef = z.infer<typeof FeatureSetRefSchema>;
export const TimeRangeSchema = z.object({ from: epochMs, to: epochMs }).refine((r) => r.from <= r.to, {
  message: 'from must not be after to',
  path: ['from'],
});
export type TimeRange = z.infer<typeof TimeRangeSchema>;

export const CHANNELS = ['pos', 'online', 'atm', 'transfer'] as const;

/** A raw transaction as data sources send it; ingest checks codes and normalises it. */
export const TransactionSchema = z.object({
  transactionId: id,
  customerId: id,
  amount: z.union([z.number(), z.string().regex(/^-?\d+(\.\d+)?$/, 'a decimal number')]),
  currency: z.string().regex(/^[A-Za-z]{3}$/, 'a 3-letter ISO 4217 code'),
  merchantCategory: z.string().min(1).max(64),
  channel: z.enum(CHANNELS),
  country: z.string().regex(/^[A-Za-z]{2}$/, 'a 2-letter ISO 3166-1 code'),
  deviceId: id.optional(),
  occurredAt: InstantInputSchema,
});
export type Transaction = z.infer<typeof TransactionSchema>;

export const LabelSchema = z.object({
  transactionId: id,
  customerId: id,
  isFraud: z.boolean(),
  labelledAt: InstantInputSchema,
});
export type Label = z.infer<typeof LabelSchema>;

/** A transaction after ingest: amounts as numbers in the major unit, codes upper-case, times in epoch ms. */
export const AcceptedTransactionSchema = z.object({
  transactionId: id,
  customerId: id,
  amount: z.number().finite().nonnegative(),
  currency: z.string().regex(/^[A-Z]{3}$/),
  merchantCategory: z.string().min(1).max(64),
  channel: z.enum(CHANNELS),
  country: z.string().regex(/^[A-Z]{2}$/),
  deviceId: id.optional(),
  occurredAt: epochMs,
  ingestedAt: epochMs,
});
export type AcceptedTransaction = z.infer<typeof AcceptedTransactionSchema>;

export const AcceptedLabelSchema = z.object({
  transactionId: id,
  customerId: id,
  isFraud: z.boolean(),
  labelledAt: epochMs,
  ingestedAt: epochMs,
});
export type AcceptedLabel = z.infer<typeof AcceptedLabelSchema>;

export const FeatureValuesSchema = z.record(z.string(), z.number().finite());
export type FeatureValues = z.infer<typeof FeatureValuesSchema>;

export const FeaturesUpdatedSchema = z.object({
  customerId: id,
  transactionId: id,
  featureSet: FeatureSetRefSchema,
  values: FeatureValuesSchema,
  occurredAt: epochMs,
  asOf: epochMs,
});
export type FeaturesUpdated = z.infer<typeof FeaturesUpdatedSchema>;

export const RISK_BANDS = ['low', 'medium', 'high'] as const;
export const RiskBandSchema = z.enum(RISK_BANDS);
export type RiskBand = z.infer<typeof RiskBandSchema>;

export const ScoreComputedSchema = z.object({
  customerId: id,
  transactionId: id,
  risk: z.number().min(0).max(1),
  riskBand: RiskBandSchema,
  segment: z.number().int().nonnegative(),
  model: ModelRefSchema,
  segmentModel: ModelRefSchema,
  featureSet: FeatureSetRefSchema,
  occurredAt: epochMs,
  challenger: z
    .object({ model: ModelRefSchema, risk: z.number().min(0).max(1), riskBand: RiskBandSchema })
    .optional(),
});
export type ScoreComputed = z.infer<typeof ScoreComputedSchema>;

const StatisticValue = z.union([z.number(), z.boolean(), z.string(), z.null()]);
export const DriftReportSchema = z.object({
  model: ModelRefSchema,
  window: z.object({ start: epochMs, end: epochMs, count: z.number().int().nonnegative() }),
  features: z.record(z.string(), z.record(z.string(), StatisticValue)),
  prediction: z.record(z.string(), StatisticValue).optional(),
  drifted: z.boolean(),
  driftedShare: z.number().min(0).max(1),
});
export type DriftReport = z.infer<typeof DriftReportSchema>;

export const DriftDetectedSchema = DriftReportSchema.extend({
  threshold: z.record(z.string(), z.number()),
  consecutiveWindows: z.number().int().positive(),
  reason: z.string().min(1),
});
export type DriftDetected = z.infer<typeof DriftDetectedSchema>;

export const TrainingRequestedSchema = z.object({
  model: ModelNameSchema,
  reason: z.string().min(1).max(500),
  range: TimeRangeSchema.optional(),
});
export type TrainingRequested = z.infer<typeof TrainingRequestedSchema>;

export const TrainingLaunchedSchema = z.object({
  model: ModelNameSchema,
  jobName: z.string().min(1),
  namespace: z.string().min(1),
  executor: z.enum(['kubernetes', 'local']),
  reason: z.string(),
  range: TimeRangeSchema,
  triggeredBy: z.object({ id, source: z.string().min(1), type: z.string().min(1) }),
});
export type TrainingLaunched = z.infer<typeof TrainingLaunchedSchema>;

export const TrainingFailedSchema = z.object({
  model: ModelNameSchema,
  jobName: z.string().optional(),
  namespace: z.string().optional(),
  reason: z.string().min(1),
});
export type TrainingFailed = z.infer<typeof TrainingFailedSchema>;

export const ModelTrainedSchema = z.object({
  model: ModelRefSchema,
  featureSet: FeatureSetRefSchema,
  range: TimeRangeSchema,
  holdout: TimeRangeSchema,
  metrics: z.record(z.string(), z.number()),
  backend: z.string().min(1),
  artifact: z.string().min(1),
});
export type ModelTrained = z.infer<typeof ModelTrainedSchema>;

export const GateCheckSchema = z.object({
  check: z.string(),
  passed: z.boolean(),
  value: z.number().nullable(),
  threshold: z.number().nullable(),
  detail: z.string().optional(),
});
export type GateCheck = z.infer<typeof GateCheckSchema>;

export const ModelPromotedSchema = z.object({
  model: ModelRefSchema,
  alias: z.enum(['champion', 'challenger']),
  previous: z.number().int().positive().nullable(),
  reasons: z.array(z.string()),
  checks: z.array(GateCheckSchema),
});
export type ModelPromoted = z.infer<typeof ModelPromotedSchema>;

export const ModelRejectedSchema = z.object({
  model: ModelRefSchema,
  champion: z.number().int().positive().nullable(),
  reasons: z.array(z.string()).min(1),
  checks: z.array(GateCheckSchema),
});
export type ModelRejected = z.infer<typeof ModelRejectedSchema>;
