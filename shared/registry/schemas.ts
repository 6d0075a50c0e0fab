// The model registry's records, zod-checked on the way in and out: lineage, aliases, promotion history, holdout sets.
import { z } from 'zod';
import { DriftBaselineSchema } from '../drift/baseline.ts';
import { ModelNameSchema, TimeRangeSchema } from '../events/schemas.ts';

export const ALIASES = ['champion', 'challenger'] as const;
export const AliasSchema = z.enum(ALIASES);
export type Alias = z.infer<typeof AliasSchema>;

/** Everything needed to reproduce and judge a model version (MLflow's run + model version, in one record). */
export const LineageSchema = z.object({
  featureSet: z.object({
    name: z.string().min(1),
    version: z.string().min(1),
    columns: z.array(z.string()).min(1),
  }),
  dataRange: TimeRangeSchema,
  holdoutRange: TimeRangeSchema.optional(),
  metrics: z.record(z.string(), z.number()),
  hyperParameters: z.record(z.string(), z.union([z.number(), z.string(), z.boolean(), z.null()])),
  codeVersion: z.string().min(1),
  backend: z.object({ name: z.string().min(1), reason: z.string() }),
  trainedBy: z.string().min(1),
  baseline: DriftBaselineSchema.optional(),
});
export type Lineage = z.infer<typeof LineageSchema>;

export const ArtifactSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('inline'), bytes: z.number().int().positive(), sha256: z.string().length(64) }),
  z.object({
    kind: z.literal('uri'),
    uri: z.string().min(1),
    bytes: z.number().int().positive(),
    sha256: z.string().length(64),
  }),
]);
export type Artifact = z.infer<typeof ArtifactSchema>;

export const ModelVersionSchema = z.object({
  name: ModelNameSchema,
  version: z.number().int().positive(),
  createdAt: z.number().int().nonnegative(),
  lineage: LineageSchema,
  artifact: ArtifactSchema,
  /** Input width and names the ONNX file declared when it was registered. */
  signature: z.object({
    inputName: z.string(),
    width: z.number().int().positive(),
    outputs: z.array(z.string()),
  }),
  hasHoldout: z.boolean(),
});
export type ModelVersion = z.infer<typeof ModelVersionSchema>;

export const HistoryEntrySchema = z.object({
  at: z.number().int().nonnegative(),
  name: ModelNameSchema,
  alias: AliasSchema,
  from: z.number().int().positive().nullable(),
  to: z.number().int().positive().nullable(),
  actor: z.string().min(1),
  reason: z.string(),
  rollback: z.boolean(),
});
export type HistoryEntry = z.infer<typeof HistoryEntrySchema>;

/** A labelled holdout set kept with a version, so a promotion gate can score champion and candidate on the same rows. */
export const HoldoutSchema = z.object({
  columns: z.array(z.string()).min(1),
  rows: z.array(z.array(z.number())),
  labels: z.array(z.number()),
});
export type Holdout = z.infer<typeof HoldoutSchema>;

/** The pub/sub notice sent when an alias moves. */
export const AliasNoticeSchema = z.object({
  name: ModelNameSchema,
  alias: AliasSchema,
  version: z.number().int().positive().nullable(),
  previous: z.number().int().positive().nullable(),
});
export type AliasNotice = z.infer<typeof AliasNoticeSchema>;
