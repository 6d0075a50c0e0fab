// A training run's result: the file a local run hands back, registering it, and the events that announce it.
import { readFile, writeFile } from 'node:fs/promises';
import { z } from 'zod';
import { EventTypes, type FlywheelEvent, makeEvent, ModelNameSchema } from '../events/index.ts';
import { HoldoutSchema, LineageSchema, type ModelRegistry, type ModelVersion } from '../registry/index.ts';
import type { TrainingResult } from './trainer.ts';

export const TRAINER_SOURCE = 'flywheel/trainer';

/**
 * The trainer's exit code when it failed for a reason a later attempt may not meet (a dependency down): EX_TEMPFAIL
 * from sysexits.h. The local executor and the Job's podFailurePolicy retry it; any other non-zero code fails the run.
 */
export const TRAINER_EXIT_RETRIABLE = 75;

const ResultFileSchema = z.object({
  model: ModelNameSchema,
  artifact: z.string().min(1),
  lineage: LineageSchema,
  holdout: HoldoutSchema.optional(),
});

/** Writes a result for the process that launched the trainer (the local executor). */
export async function writeResult(path: string, result: TrainingResult): Promise<void> {
  const file = { ...result, artifact: Buffer.from(result.artifact).toString('base64') };
  await writeFile(path, JSON.stringify(file));
}

/** Reads and checks a result file. */
export async function readResult(path: string): Promise<TrainingResult> {
  const file = ResultFileSchema.parse(JSON.parse(await readFile(path, 'utf8')));
  const result: TrainingResult = {
    model: file.model,
    artifact: new Uint8Array(Buffer.from(file.artifact, 'base64')),
    lineage: file.lineage,
  };
  if (file.holdout) result.holdout = file.holdout;
  return result;
}

/** Registers the trained model as a new version (the registry checks its ONNX signature). */
export function registerResult(registry: ModelRegistry, result: TrainingResult): Promise<ModelVersion> {
  return registry.register({
    name: result.model,
    artifact: result.artifact,
    lineage: result.lineage,
    ...(result.holdout ? { holdout: result.holdout } : {}),
  });
}

/** model.trained for a registered version; its id names the version, so a re-send is the same event. */
export function modelTrained(record: ModelVersion): FlywheelEvent<typeof EventTypes.modelTrained> {
  const { lineage } = record;
  return makeEvent({
    type: EventTypes.modelTrained,
    source: TRAINER_SOURCE,
    id: `${record.name}-v${record.version}`,
    subject: record.name,
    data: {
      model: { name: record.name, version: record.version },
      featureSet: { name: lineage.featureSet.name, version: lineage.featureSet.version },
      range: lineage.dataRange,
      holdout: lineage.holdoutRange ?? lineage.dataRange,
      metrics: lineage.metrics,
      backend: lineage.backend.name,
      artifact:
        record.artifact.kind === 'uri' ? record.artifact.uri : `registry://${record.name}/${record.version}`,
    },
    extensions: { flywheelmodel: record.name },
  });
}

/** training.failed with the reason, for a run that could not produce a model. */
export function trainingFailed(input: {
  model: z.infer<typeof ModelNameSchema>;
  reason: string;
  jobName?: string | undefined;
}) {
  return makeEvent({
    type: EventTypes.trainingFailed,
    source: TRAINER_SOURCE,
    subject: input.model,
    data: {
      model: input.model,
      reason: input.reason.slice(0, 2000),
      ...(input.jobName ? { jobName: input.jobName } : {}),
    },
    extensions: { flywheelmodel: input.model },
  });
}
