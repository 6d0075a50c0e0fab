// A source as detect-drift sees it (the demo's, or any other's log records): champions trained on its history, then
// live transactions scored by them.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { bootstrapRange } from '../../../local/bootstrap.ts';
import { createGenerator } from '../../../local/demo/generator.ts';
import { historyRecords } from '../../../local/demo/history.ts';
import type { DriftBaseline } from '../../../shared/drift/baseline.ts';
import { AcceptedTransactionSchema, EventTypes } from '../../../shared/events/index.ts';
import { buildTrainingRows, customerFeatures } from '../../../shared/features/index.ts';
import { loadOnnxModel } from '../../../shared/inference/onnx.ts';
import { assignSegment, scoreRisk } from '../../../shared/inference/scoring.ts';
import { createFileEventLog, type LogRecord } from '../../../shared/log/index.ts';
import { createLogger } from '../../../shared/runtime/index.ts';
import { type TrainingResult, train } from '../../../shared/training/trainer.ts';
import type { ObservedTransaction } from './monitor.ts';

const DAY = 86_400_000;
const log = createLogger({ name: 'trained-stream', level: 'silent' });

export interface TrainedStream {
  risk: TrainingResult & { baseline: DriftBaseline };
  segment: TrainingResult & { baseline: DriftBaseline };
  /** Live transactions in event-time order, with both champions' predictions. */
  live: ObservedTransaction[];
  liveStart: number;
  /** When the generator's programmed drift begins (Infinity: never). */
  driftAt: number;
}

/**
 * Replays `historyDays` of the demo generator into a file event log, trains the first champions on it exactly as
 * `npm start` does, then featurizes and scores the next `liveDays` (see trainedStream).
 */
export async function demoStream(input: {
  seed: number;
  customers: number;
  historyDays: number;
  liveDays: number;
  /** Days into the live phase when the generator's drift (prices × 1.8, a new merchant mix) starts. */
  driftAfterDays?: number;
}): Promise<TrainedStream> {
  const from = Date.UTC(2026, 7, 1);
  const liveStart = from + input.historyDays * DAY;
  const driftAt =
    input.driftAfterDays === undefined ? Number.POSITIVE_INFINITY : liveStart + input.driftAfterDays * DAY;
  const generator = createGenerator({ seed: input.seed, customers: input.customers, driftAt }, from);
  const generated = generator.until(liveStart + input.liveDays * DAY);
  const history = historyRecords(
    generated.filter((g) => g.transaction.occurredAt < liveStart),
    { labelsBefore: liveStart },
  );
  return trainedStream({ historyStart: from, liveStart, driftAt, history, all: historyRecords(generated) });
}

/**
 * Any source as detect-drift sees it: appends `history` (what ingest logged before `liveStart`) to a file event log,
 * trains the first champions exactly as `npm start` does (bootstrapRange: the history after its 30 warm-up days;
 * the real trainer, which builds the baselines), then featurizes every transaction of `all` from `liveStart` on,
 * point-in-time with the offline builder (featurize's code path: one features.updated per transaction, repeated
 * records counted once, as featurize's claim does) and scores each with the trained ONNX models, as score does.
 */
export async function trainedStream(input: {
  historyStart: number;
  liveStart: number;
  driftAt: number;
  history: readonly LogRecord[];
  all: readonly LogRecord[];
}): Promise<TrainedStream> {
  const { liveStart, driftAt } = input;
  const dir = await mkdtemp(path.join(tmpdir(), 'trained-stream-'));
  const eventLog = createFileEventLog({ dataDir: dir, topic: 'events', log });
  try {
    for (let i = 0; i < input.history.length; i += 1000)
      await eventLog.append(input.history.slice(i, i + 1000));
    const common = {
      range: bootstrapRange({ historyStart: input.historyStart, liveStart }),
      eventLog,
      featureSet: customerFeatures,
      log,
      codeVersion: 'test',
      backend: 'cpu' as const,
    };
    const risk = withBaseline(await train({ ...common, model: 'risk' }));
    const segment = withBaseline(await train({ ...common, model: 'segment' }));
    const once = new Map(
      input.all.filter((r) => r.type === EventTypes.transactionAccepted).map((r) => [r.id, r] as const),
    );
    const transactions = [...once.values()].map((r) =>
      AcceptedTransactionSchema.parse((JSON.parse(r.value) as { data: unknown }).data),
    );
    const rows = buildTrainingRows(customerFeatures, transactions).filter((r) => r.time >= liveStart);
    const columns = customerFeatures.columns;
    const segmentIndex = segment.lineage.featureSet.columns.map((c) => columns.indexOf(c));
    const risks = await run(risk.artifact, (m) =>
      scoreRisk(m, Float32Array.from(rows.flatMap((r) => r.values)), rows.length),
    );
    const segments = await run(segment.artifact, (m) =>
      assignSegment(
        m,
        Float32Array.from(rows.flatMap((r) => segmentIndex.map((i) => r.values[i] ?? 0))),
        rows.length,
      ),
    );
    const live = rows.map((r, i) => ({
      features: Object.fromEntries(columns.map((c, j) => [c, r.values[j] ?? Number.NaN])),
      predictions: { risk: risks[i] ?? Number.NaN, segment: segments[i] ?? Number.NaN },
      unit: r.customerId,
      at: r.time,
    }));
    return { risk, segment, live, liveStart, driftAt };
  } finally {
    await eventLog.close();
    await rm(dir, { recursive: true, force: true });
  }
}

function withBaseline(result: TrainingResult): TrainingResult & { baseline: DriftBaseline } {
  const baseline = result.lineage.baseline;
  if (!baseline) throw new Error(`the trainer recorded no drift baseline for ${result.model}`);
  return { ...result, baseline };
}

async function run<T>(
  artifact: Uint8Array,
  use: (model: Awaited<ReturnType<typeof loadOnnxModel>>) => Promise<T>,
): Promise<T> {
  const model = await loadOnnxModel(artifact);
  try {
    return await use(model);
  } finally {
    await model.close();
  }
}
