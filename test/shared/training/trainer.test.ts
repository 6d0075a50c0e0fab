// The trainer end to end on generated history: log → offline features → tfjs → ONNX → metrics, lineage, registry.
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createGenerator } from '../../../local/demo/generator.ts';
import { appendHistory } from '../../../local/demo/history.ts';
import { customerFeatures } from '../../../shared/features/index.ts';
import { loadOnnxModel } from '../../../shared/inference/onnx.ts';
import { assignSegment } from '../../../shared/inference/scoring.ts';
import { createFileEventLog, type EventLog } from '../../../shared/log/index.ts';
import { ModelRegistry } from '../../../shared/registry/index.ts';
import { createLogger } from '../../../shared/runtime/index.ts';
import { createMemoryStore } from '../../../shared/store/index.ts';
import { latestPerCustomer, readLabelledRows, splitByTime } from '../../../shared/training/dataset.ts';
import { adjustedRandIndex } from '../../../shared/training/metrics.ts';
import { modelTrained, readResult, registerResult, writeResult } from '../../../shared/training/result.ts';
import { SEGMENT_COLUMNS, type TrainingResult, train } from '../../../shared/training/trainer.ts';
import { sklearn } from './sklearn.ts';

const log = createLogger({ name: 'trainer', level: 'silent' });
const FROM = Date.UTC(2026, 7, 1);
const TO = FROM + 45 * 86_400_000;

describe('train()', () => {
  let eventLog: EventLog;
  let dir: string;
  let generator: ReturnType<typeof createGenerator>;
  let risk: TrainingResult;
  let segment: TrainingResult;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'trainer-'));
    eventLog = createFileEventLog({ dataDir: dir, topic: 'events', log });
    generator = createGenerator({ seed: 3, customers: 160, fraudRate: 0.02 }, FROM);
    await appendHistory(eventLog, generator.until(TO), { labelsBefore: TO });
    const common = {
      range: { from: FROM, to: TO },
      eventLog,
      featureSet: customerFeatures,
      log,
      codeVersion: 'test',
    };
    risk = await train({ ...common, model: 'risk', backend: 'cpu', risk: { epochs: 40 } });
    segment = await train({ ...common, model: 'segment', backend: 'cpu' });
  });
  after(() => eventLog.close());

  it('beats or matches scikit-learn LogisticRegression on the same time-split rows (holdout ROC AUC)', async () => {
    const data = await readLabelledRows({
      eventLog,
      range: { from: FROM, to: TO },
      featureSet: customerFeatures,
    });
    const split = splitByTime(
      data.rows.map((r, i) => ({ ...r, label: data.labels[i] ?? 0 })),
      0.2,
    );
    const reference = (await sklearn(
      `from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from sklearn.pipeline import make_pipeline
from sklearn.metrics import roc_auc_score
m = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(data['xt'], data['yt'])
print(json.dumps(roc_auc_score(data['yh'], m.predict_proba(data['xh'])[:, 1])))`,
      {
        xt: split.train.map((r) => r.values),
        yt: split.train.map((r) => r.label),
        xh: split.holdout.map((r) => r.values),
        yh: split.holdout.map((r) => r.label),
      },
    )) as number;
    const auc = risk.lineage.metrics.rocAuc ?? 0;
    assert.ok(auc >= reference - 0.005, `MLP holdout AUC ${auc} vs LogisticRegression ${reference}`);
    assert.ok(auc > 0.8, `AUC ${auc}`);
    assert.equal(risk.lineage.metrics.holdoutRows, split.holdout.length);
  });

  it('recovers the generated customer archetypes as segments (adjusted Rand index ≥ 0.8)', async () => {
    const data = await readLabelledRows({
      eventLog,
      range: { from: FROM, to: TO },
      featureSet: customerFeatures,
    });
    const customers = latestPerCustomer(data.rows, Number.POSITIVE_INFINITY);
    const index = SEGMENT_COLUMNS.map((c) => customerFeatures.columns.indexOf(c));
    const rows = customers.map((r) => index.map((i) => r.values[i] ?? 0));
    const model = await loadOnnxModel(segment.artifact);
    const ids = await assignSegment(model, Float32Array.from(rows.flat()), rows.length);
    await model.close();
    const archetype = new Map(generator.customers.map((c) => [c.id, c.archetype]));
    const truth = customers.map((r) =>
      ['commuter', 'traveller', 'big-spender', 'occasional'].indexOf(archetype.get(r.customerId) ?? ''),
    );
    const ari = adjustedRandIndex(truth, ids);
    assert.ok(ari >= 0.8, `ARI ${ari}, k = ${segment.lineage.metrics.k}`);
  });

  it('leaves out transactions younger than labelMaturityMs at the range end (their chargebacks may not have come)', async () => {
    // All but the first hour of the range is too young: far fewer than the 50 rows a model needs remain.
    await assert.rejects(
      train({
        range: { from: FROM, to: TO },
        eventLog,
        featureSet: customerFeatures,
        log,
        codeVersion: 'test',
        model: 'risk',
        backend: 'cpu',
        labelMaturityMs: TO - FROM - 3_600_000,
      }),
      /only \d+ transactions in the range; need at least 50/,
    );
  });

  it('records lineage: backend and why, data range, feature-set version, metrics, a drift baseline and a holdout', async () => {
    assert.equal(risk.lineage.backend.name, 'cpu');
    assert.match(risk.lineage.backend.reason, /./);
    assert.deepEqual(risk.lineage.dataRange, { from: FROM, to: TO });
    assert.equal(risk.lineage.featureSet.version, customerFeatures.version);
    const rm = risk.lineage.metrics;
    for (const m of ['rocAuc', 'prAuc', 'brier']) {
      const v = rm[m] ?? Number.NaN;
      assert.ok(v >= 0 && v <= 1, `${m} ${v}`);
    }
    assert.ok((rm.logLoss ?? Number.NaN) > 0 && Number.isFinite(rm.logLoss), `logLoss ${rm.logLoss}`);
    assert.equal(risk.lineage.baseline?.prediction?.name, 'risk');
    assert.ok(Object.keys(risk.lineage.baseline?.features ?? {}).includes('amount'));
    assert.ok((risk.holdout?.rows.length ?? 0) > 100);
    assert.equal(segment.lineage.baseline?.prediction?.name, 'segment');
    assert.deepEqual(segment.lineage.featureSet.columns, [...SEGMENT_COLUMNS]);
    const sm = segment.lineage.metrics;
    assert.ok((sm.inertia ?? Number.NaN) > 0 && Number.isFinite(sm.inertia), `inertia ${sm.inertia}`);
    assert.ok(
      (sm.silhouette ?? Number.NaN) >= -1 && (sm.silhouette ?? Number.NaN) <= 1,
      `silhouette ${sm.silhouette}`,
    );
    assert.ok(Number.isInteger(sm.k) && (sm.k ?? 0) >= 2, `k ${sm.k}`);
  });

  it("baselines both models per transaction, as detect-drift's windows observe them, with each customer's clustering", async () => {
    const data = await readLabelledRows({
      eventLog,
      range: { from: FROM, to: TO },
      featureSet: customerFeatures,
    });
    const train = splitByTime(data.rows, 0.2).train;
    const customers = new Set(train.map((r) => r.customerId)).size;
    for (const result of [risk, segment]) {
      const baseline = result.lineage.baseline;
      assert.ok(baseline, `${result.model}: no baseline`);
      // One row per training transaction — not one per customer (the segment model's own training rows).
      assert.equal(baseline.rows, train.length, result.model);
      assert.ok(train.length > 10 * customers, `${train.length} transactions of ${customers} customers`);
      const streams = [...Object.values(baseline.features), baseline.prediction?.baseline];
      for (const s of streams) {
        assert.ok(s && s.unitCorrelation !== undefined && s.effectiveCount !== undefined, result.model);
        assert.ok(s.effectiveCount <= s.count);
      }
    }
    // The segment id's shares are those of the champion's segment for each training transaction.
    const index = SEGMENT_COLUMNS.map((c) => customerFeatures.columns.indexOf(c));
    const rows = train.map((r) => index.map((i) => r.values[i] ?? 0));
    const model = await loadOnnxModel(segment.artifact);
    const ids = await assignSegment(model, Float32Array.from(rows.flat()), rows.length);
    await model.close();
    const p = segment.lineage.baseline?.prediction?.baseline;
    assert.ok(p?.kind === 'categorical');
    const share = (key: string) => ids.filter((id) => String(id) === key).length / ids.length;
    for (const [i, key] of p.categories.entries())
      assert.equal(p.proportions[i], share(key), `segment ${key}`);
    assert.deepEqual(Object.keys(segment.lineage.baseline?.features ?? {}), [...SEGMENT_COLUMNS]);
  });

  it('round-trips through a result file into the registry and announces model.trained', async () => {
    const file = path.join(dir, 'risk.json');
    await writeResult(file, risk);
    const registry = new ModelRegistry({ store: createMemoryStore({ log }) });
    const record = await registerResult(registry, await readResult(file));
    assert.equal(record.version, 1);
    assert.equal(record.lineage.backend.name, 'cpu');
    assert.equal(record.hasHoldout, true);
    assert.equal(Buffer.compare(await registry.artifact('risk', 1), risk.artifact), 0);
    const event = modelTrained(record);
    assert.deepEqual(event.data.model, { name: 'risk', version: 1 });
    assert.equal(event.id, 'risk-v1');
    assert.equal(event.extensions.flywheelmodel, 'risk');
  });
});
