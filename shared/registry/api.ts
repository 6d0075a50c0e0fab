// The registry's HTTP read API as data: the views promote serves and `flywheel models` reads, one zod schema each.
import { z } from 'zod';
import { ModelNameSchema, TimeRangeSchema } from '../events/schemas.ts';
import { type Alias, ALIASES, AliasSchema, HistoryEntrySchema, type ModelVersion } from './schemas.ts';

/** One version as the API shows it: the record without storage paths or the drift baseline, with its aliases. */
export const VersionViewSchema = z.object({
  name: ModelNameSchema,
  version: z.number().int().positive(),
  /** Epoch milliseconds. */
  createdAt: z.number().int().nonnegative(),
  aliases: z.array(AliasSchema),
  metrics: z.record(z.string(), z.number()),
  lineage: z.object({
    featureSet: z.object({ name: z.string(), version: z.string(), columns: z.array(z.string()) }),
    /** The training data's event-time range. */
    dataRange: TimeRangeSchema,
    holdoutRange: TimeRangeSchema.optional(),
    hyperParameters: z.record(z.string(), z.union([z.number(), z.string(), z.boolean(), z.null()])),
    codeVersion: z.string(),
    backend: z.object({ name: z.string(), reason: z.string() }),
    trainedBy: z.string(),
    hasBaseline: z.boolean(),
  }),
  artifact: z.object({
    bytes: z.number().int().positive(),
    /** Hex SHA-256 of the ONNX bytes; the download's ETag. */
    sha256: z.string().length(64),
    storage: z.enum(['inline', 'file']),
    /** The download's path on the same server. */
    href: z.string(),
  }),
  signature: z.object({
    inputName: z.string(),
    width: z.number().int().positive(),
    outputs: z.array(z.string()),
  }),
  hasHoldout: z.boolean(),
});
export type VersionView = z.infer<typeof VersionViewSchema>;

/** A registered model: its aliases and how many versions it has (MLflow's RegisteredModel, in brief). */
export const ModelSummarySchema = z.object({
  name: ModelNameSchema,
  champion: z.number().int().positive().nullable(),
  challenger: z.number().int().positive().nullable(),
  latestVersion: z.number().int().positive().nullable(),
  versionCount: z.number().int().nonnegative(),
});
export type ModelSummary = z.infer<typeof ModelSummarySchema>;

export const ModelListSchema = z.object({ models: z.array(ModelSummarySchema) });
export const VersionListSchema = z.object({ name: ModelNameSchema, versions: z.array(VersionViewSchema) });
export const HistoryViewSchema = z.object({ name: ModelNameSchema, entries: z.array(HistoryEntrySchema) });

/** GET /v1/status: what `flywheel status` prints. */
export const StatusViewSchema = z.object({
  registry: z.object({ reachable: z.boolean() }),
  models: z.array(ModelSummarySchema),
  /** The most recent alias move of any model, or null when none moved yet. */
  lastMove: HistoryEntrySchema.nullable(),
  /** Server time, epoch milliseconds. */
  at: z.number().int().nonnegative(),
});
export type StatusView = z.infer<typeof StatusViewSchema>;

/** What the admin API answers after a move. */
export const MoveAnswerSchema = z.object({
  model: z.object({ name: ModelNameSchema, version: z.number().int().positive().nullable() }),
  alias: AliasSchema,
  previous: z.number().int().positive().nullable(),
  entry: HistoryEntrySchema,
});
export type MoveAnswer = z.infer<typeof MoveAnswerSchema>;

/** RFC 9457 problem document, as every Flywheel function answers a refusal. */
export const ProblemSchema = z.object({
  type: z.string(),
  title: z.string(),
  status: z.number().int(),
  detail: z.string(),
  field: z.string().optional(),
  retriable: z.boolean(),
});

/** The artifact's download path. */
export const artifactPath = (name: string, version: number): string =>
  `/v1/models/${name}/versions/${version}/artifact`;

/** A version record as the API shows it, given the model's current aliases. */
export function versionView(
  record: ModelVersion,
  aliases: Readonly<Record<Alias, number | null>>,
): VersionView {
  const { lineage } = record;
  return {
    name: record.name,
    version: record.version,
    createdAt: record.createdAt,
    aliases: ALIASES.filter((a) => aliases[a] === record.version),
    metrics: lineage.metrics,
    lineage: {
      featureSet: lineage.featureSet,
      dataRange: lineage.dataRange,
      ...(lineage.holdoutRange ? { holdoutRange: lineage.holdoutRange } : {}),
      hyperParameters: lineage.hyperParameters,
      codeVersion: lineage.codeVersion,
      backend: lineage.backend,
      trainedBy: lineage.trainedBy,
      hasBaseline: lineage.baseline !== undefined,
    },
    artifact: {
      bytes: record.artifact.bytes,
      sha256: record.artifact.sha256,
      storage: record.artifact.kind === 'inline' ? 'inline' : 'file',
      href: artifactPath(record.name, record.version),
    },
    signature: record.signature,
    hasHoldout: record.hasHoldout,
  };
}
