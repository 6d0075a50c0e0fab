// The risk champion retrained after the foreign source's shift A, on its held-out attacks, against scikit-learn.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EventTypes } from '../../../shared/events/index.ts';
import { customerFeatures } from '../../../shared/features/index.ts';
import { loadOnnxModel } from '../../../shared/inference/onnx.ts';
import { scoreRisk } from '../../../shared/inference/scoring.ts';
import { createFileEventLog, type EventLog } from '../../../shared/log/index.ts';
import { createLogger } from '../../../shared/runtime/index.ts';
import { readLabelledRows, splitByTime } from '../../../shared/training/dataset.ts';
import { rocAuc } from '../../../shared/training/metrics.ts';
import { type TrainingResult, train } from '../../../shared/training/trainer.ts';
import { createDeliveryPlan, DEFAULT_DELIVERY } from '../../support/foreign-source/delivery.ts';
import {
  createForeignGenerator,
  DEFAULT_FOREIGN_GENERATOR,
  FOREIGN_FRAUDS,
  type ForeignFraud,
} from '../../support/foreign-source/generator.ts';
import { ingestRecords } from '../../support/foreign-source/log-records.ts';
import { referenceRiskAucs } from './sklearn.ts';

const DAY = 86_400_000;
const log = createLogger({ name: 'foreign-risk', level: 'silent' });
const FROM = Date.UTC(2026, 2, 1);
/** Shift A (prices ×1.5, online +35 points, wallet devices) on day 50 of the source's calendar. */
const SHIFT_A = FROM + 50 * DAY;
/** The retraining range: after the 30-day warm-up, ending a week into shift A (labels only as far as they came). */
const TRAIN = { from: FROM + 30 * DAY, to: FROM + 57 * DAY };
/** The held-out week after the training range, all of it after shift A, scored against the generated truth. */
const HELD_OUT = { from: TRAIN.to, to: FROM + 64 * DAY };

describe('the risk model on the foreign source after shift A', () => {
  let dir: string;
  let eventLog: EventLog;
  let risk: TrainingResult;
  const truth = new Map<string, ForeignFraud>();
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'foreign-risk-'));
    eventLog = createFileEventLog({ dataDir: dir, topic: 'events', log });
    const generator = createForeignGenerator(
      { seed: 5, customers: 500, shiftA: { ...DEFAULT_FOREIGN_GENERATOR.shiftA, at: SHIFT_A } },
      FROM,
    );
    const plan = createDeliveryPlan(generator, { ...DEFAULT_DELIVERY, seed: 5 }, (g) => {
      if (g.fraud) truth.set(g.transaction.transactionId, g.fraud);
    });
    // everything sent before the held-out week ends, re-sends included: the trainer must drop the repeats itself
    await eventLog.append(ingestRecords(plan.due(HELD_OUT.to)));
    risk = await train({
      model: 'risk',
      range: TRAIN,
      eventLog,
      featureSet: customerFeatures,
      log,
      codeVersion: 'test',
      backend: 'cpu',
    });
  });
  after(async () => {
    await eventLog?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('ranks held-out attacks with ROC AUC ≥ 0.95, not below HistGradientBoosting on the same rows − 0.01', async (t) => {
    const data = await readLabelledRows({ eventLog, range: TRAIN, featureSet: customerFeatures });
    const split = splitByTime(
      data.rows.map((r, i) => ({ ...r, label: data.labels[i] ?? 0 })),
      0.2,
    );
    assert.equal(split.train.length, risk.lineage.metrics.trainRows, 'the references fit the trainer’s rows');
    const held = await readLabelledRows({ eventLog, range: HELD_OUT, featureSet: customerFeatures });
    const x = held.rows.map((r) => r.values);
    const y = held.rows.map((r): number => (truth.has(r.transactionId) ? 1 : 0));
    const attacks = y.reduce((a, b) => a + b, 0);
    assert.ok(attacks >= 80 && held.rows.length > 5000, `${attacks} attacks in ${held.rows.length} rows`);

    const model = await loadOnnxModel(risk.artifact);
    const scores = await scoreRisk(model, Float32Array.from(x.flat()), x.length).finally(() => model.close());
    const auc = rocAuc(y, scores);
    const reference = await referenceRiskAucs({
      train: { x: split.train.map((r) => r.values), y: split.train.map((r) => r.label) },
      holdout: { x, y },
    });
    const byPattern = FOREIGN_FRAUDS.map((f) => {
      const keep = held.rows.flatMap((r, i) => ((truth.get(r.transactionId) ?? f) === f ? [i] : []));
      const a = rocAuc(
        keep.map((i) => y[i] ?? 0),
        keep.map((i) => scores[i] ?? 0),
      );
      return `${f} ${a.toFixed(4)}`;
    });
    t.diagnostic(
      `held-out ROC AUC: Flywheel MLP ${auc.toFixed(4)} (${byPattern.join(', ')}), ` +
        `HistGradientBoosting ${reference.histGradientBoosting.toFixed(4)}, ` +
        `LogisticRegression ${reference.logisticRegression.toFixed(4)}; ` +
        `${split.train.length} training rows (${split.train.filter((r) => r.label === 1).length} labelled fraud), ` +
        `${attacks} attacks in ${held.rows.length} held-out rows`,
    );
    assert.ok(auc >= 0.95, `MLP AUC ${auc.toFixed(4)} < 0.95`);
    assert.ok(
      auc >= reference.histGradientBoosting - 0.01,
      `MLP AUC ${auc.toFixed(4)} < HistGradientBoosting ${reference.histGradientBoosting.toFixed(4)} − 0.01`,
    );
  });

  it('trains on each repeated record once: the log holds every re-send, the rows one per transaction', async () => {
    const records = await eventLog.readRange(TRAIN);
    const transactions = records.filter((r) => r.type === EventTypes.transactionAccepted);
    const unique = new Set(transactions.map((r) => r.id));
    assert.ok(transactions.length > unique.size * 1.15, `${transactions.length} records, ${unique.size} ids`);
    const data = await readLabelledRows({ eventLog, range: TRAIN, featureSet: customerFeatures });
    assert.equal(data.rows.length, unique.size);
    assert.equal(new Set(data.rows.map((r) => r.transactionId)).size, data.rows.length);
  });
});
