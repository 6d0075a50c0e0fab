// The risk MLP: beats a linear baseline on a non-linear fraud signal, stays calibrated, and is reproducible.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { createLogger } from '../../../shared/runtime/logger.ts';
import { loadTrainingBackend, type Tf } from '../../../shared/training/backend.ts';
import { averagePrecision, rocAuc } from '../../../shared/training/metrics.ts';
import { splitIndices } from '../../../shared/training/random.ts';
import {
  predictRisk,
  RiskTrainingConfigSchema,
  type TrainedRiskModel,
  TrainedRiskModelSchema,
  trainRiskModel,
} from '../../../shared/training/risk-model.ts';
import { fraudDataset } from './datasets.ts';
import { sklearn } from './sklearn.ts';

const data = fraudDataset({ n: 8000, seed: 11 });
const split = splitIndices({ n: data.rows.length, fraction: 0.3, seed: 3, labels: data.labels });
const pick = <T>(xs: T[], idx: Int32Array): T[] => Array.from(idx, (i) => xs[i] as T);
const train = { columns: data.columns, rows: pick(data.rows, split.train) };
const trainLabels = pick(data.labels, split.train);
const holdout = pick(data.rows, split.holdout);
const holdoutLabels = pick(data.labels, split.holdout);

let tf: Tf;
let model: TrainedRiskModel;
let probabilities: Float32Array;

describe('trainRiskModel', () => {
  before(async () => {
    ({ tf } = await loadTrainingBackend({
      log: createLogger({ name: 'test', level: 'silent' }),
      force: 'wasm',
    }));
    model = await trainRiskModel({ tf, data: train, labels: trainLabels });
    probabilities = predictRisk({ tf, model, rows: holdout });
  });

  it('ranks holdout fraud at least as well as scikit-learn LogisticRegression on the same rows', async (t) => {
    const reference = (await sklearn(
      `
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from sklearn.pipeline import make_pipeline
from sklearn.metrics import roc_auc_score, average_precision_score
m = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(data['x'], data['y'])
p = m.predict_proba(data['hx'])[:, 1]
print(json.dumps({'auc': roc_auc_score(data['hy'], p), 'ap': average_precision_score(data['hy'], p)}))
`,
      { x: train.rows, y: trainLabels, hx: holdout, hy: holdoutLabels },
    )) as { auc: number; ap: number };
    const auc = rocAuc(holdoutLabels, probabilities);
    const ceiling = rocAuc(holdoutLabels, pick(data.logits, split.holdout));
    t.diagnostic(
      `holdout ROC AUC: MLP ${auc.toFixed(4)}, LogisticRegression ${reference.auc.toFixed(4)}, true logit ${ceiling.toFixed(4)}`,
    );
    assert.ok(
      auc >= reference.auc,
      `MLP AUC ${auc.toFixed(4)} < logistic regression ${reference.auc.toFixed(4)}`,
    );
    assert.ok(auc <= ceiling + 0.02, `MLP AUC ${auc} above the true-logit ceiling ${ceiling}: leakage?`);
    assert.ok(averagePrecision(holdoutLabels, probabilities) > 0.1);
  });

  it('undoes the class-weight prior shift: mean P(fraud) stays near the holdout fraud rate', () => {
    const rate = holdoutLabels.reduce((a, b) => a + b, 0) / holdoutLabels.length;
    const meanP = probabilities.reduce((a, b) => a + b, 0) / probabilities.length;
    assert.ok(meanP > rate / 2 && meanP < rate * 2, `mean P ${meanP} vs fraud rate ${rate}`);
    assert.equal(model.training.classWeight.positive > 10, true, 'balanced weights up-weight ~3% positives');
  });

  it('returns plain arrays the schema accepts, shaped input → 16 → 8 → 1', () => {
    const parsed = TrainedRiskModelSchema.parse(JSON.parse(JSON.stringify(model)));
    assert.deepEqual(
      parsed.layers.map((l) => [l.kernel.length, l.bias.length]),
      [
        [8, 16],
        [16, 8],
        [8, 1],
      ],
    );
    assert.equal(parsed.scaler.mean.length, 8);
    assert.ok(parsed.training.bestEpoch >= 1 && parsed.training.bestEpoch <= parsed.training.epochsRun);
    assert.equal(parsed.training.validationLoss.length, parsed.training.epochsRun);
  });

  it('gives identical weights when trained twice with the same seed, different ones with another seed', async () => {
    const config = { epochs: 4, validationFraction: 0, seed: 7 };
    const small = { columns: train.columns, rows: train.rows.slice(0, 2000) };
    const labels = trainLabels.slice(0, 2000);
    const a = await trainRiskModel({ tf, data: small, labels, config });
    const b = await trainRiskModel({ tf, data: small, labels, config });
    const c = await trainRiskModel({ tf, data: small, labels, config: { ...config, seed: 8 } });
    assert.deepEqual(a.layers, b.layers);
    assert.deepEqual(a.training.trainLoss, b.training.trainLoss);
    assert.notDeepEqual(a.layers, c.layers);
  });

  it('rejects labels that are not 0/1 or hold a single class, naming the field', async () => {
    const rows = train.rows.slice(0, 10);
    await assert.rejects(
      trainRiskModel({ tf, data: { columns: train.columns, rows }, labels: new Array(10).fill(0) }),
      {
        name: 'InvalidInputError',
        field: 'labels',
      },
    );
    await assert.rejects(
      trainRiskModel({ tf, data: { columns: train.columns, rows }, labels: [2, ...new Array(9).fill(0)] }),
      { field: 'labels[0]' },
    );
  });

  it('fills every hyper-parameter default from an empty config', () => {
    const config = RiskTrainingConfigSchema.parse({});
    assert.deepEqual(config.hiddenUnits, [16, 8]);
    assert.equal(config.classWeight, 'balanced');
  });
});
