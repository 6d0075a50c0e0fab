// Metrics agree with scikit-learn on fixed data, ties and edge cases included.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import {
  adjustedRandIndex,
  averagePrecision,
  brierScore,
  inertia,
  logLoss,
  rocAuc,
  silhouette,
} from '../../../shared/training/metrics.ts';
import { createRng } from '../../../shared/training/random.ts';
import { sklearn } from './sklearn.ts';

const rng = createRng(2024);
const n = 400;
const labels = Array.from({ length: n }, () => (rng.next() < 0.2 ? 1 : 0));
// Scores rounded to 2 decimals: many ties, which is where AUC and AP definitions differ.
const scores = labels.map(
  (y) => Math.round(Math.min(0.99, Math.max(0.01, 0.35 * y + 0.6 * rng.next())) * 100) / 100,
);
const points = Array.from({ length: 240 }, (_, i) => {
  const c = i % 3;
  return [c * 3 + rng.normal(), (c === 1 ? 4 : 0) + rng.normal(), rng.normal() * 0.5];
});
const pointLabels = points.map((_, i) => (rng.next() < 0.1 ? rng.int(3) : i % 3));
const otherLabels = points.map((_, i) => (rng.next() < 0.3 ? rng.int(4) : (i % 3) + 10));
const flat = Float64Array.from(points.flat());

type Reference = { auc: number; ap: number; logloss: number; brier: number; silhouette: number; ari: number };
let ref: Reference;

describe('metrics against scikit-learn', () => {
  before(async () => {
    ref = (await sklearn(
      `
from sklearn.metrics import roc_auc_score, average_precision_score, log_loss, brier_score_loss
from sklearn.metrics import silhouette_score, adjusted_rand_score
y, s = data['labels'], data['scores']
print(json.dumps({
  'auc': roc_auc_score(y, s), 'ap': average_precision_score(y, s),
  'logloss': log_loss(y, s, eps=1e-15), 'brier': brier_score_loss(y, s),
  'silhouette': float(silhouette_score(data['points'], data['pointLabels'])),
  'ari': adjusted_rand_score(data['pointLabels'], data['otherLabels']),
}))
`,
      { labels, scores, points, pointLabels, otherLabels },
    )) as Reference;
  });

  it('ROC AUC equals roc_auc_score with tied scores counted as one half', () => {
    assert.ok(Math.abs(rocAuc(labels, scores) - ref.auc) < 1e-12, `${rocAuc(labels, scores)} vs ${ref.auc}`);
  });

  it('PR AUC equals average_precision_score (step interpolation over distinct thresholds)', () => {
    assert.ok(
      Math.abs(averagePrecision(labels, scores) - ref.ap) < 1e-12,
      `${averagePrecision(labels, scores)} vs ${ref.ap}`,
    );
  });

  it('log loss and Brier score equal log_loss and brier_score_loss', () => {
    assert.ok(Math.abs(logLoss(labels, scores) - ref.logloss) < 1e-12);
    assert.ok(Math.abs(brierScore(labels, scores) - ref.brier) < 1e-12);
  });

  it('silhouette equals silhouette_score on the same points and labels', () => {
    const s = silhouette({ points: { data: flat, width: 3 }, labels: pointLabels });
    assert.ok(Math.abs(s - ref.silhouette) < 1e-9, `${s} vs ${ref.silhouette}`);
  });

  it('adjusted Rand index equals adjusted_rand_score, independent of label names', () => {
    assert.ok(Math.abs(adjustedRandIndex(pointLabels, otherLabels) - ref.ari) < 1e-12);
    assert.equal(adjustedRandIndex([0, 0, 1, 1, 2], [7, 7, 3, 3, 9]), 1);
  });
});

describe('metrics on hand-computed cases', () => {
  it('scores a perfect ranking 1 and a reversed one 0', () => {
    assert.equal(rocAuc([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]), 1);
    assert.equal(rocAuc([0, 0, 1, 1], [0.9, 0.8, 0.2, 0.1]), 0);
    assert.equal(rocAuc([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5]), 0.5);
  });

  it('clips probabilities of 0 and 1 so log loss stays finite', () => {
    const value = logLoss([1, 0], [0, 1]);
    assert.ok(Number.isFinite(value));
    // 1 − (1 − 1e-15) is not exactly 1e-15 in binary floating point, hence the loose bound.
    assert.ok(Math.abs(value - -Math.log(1e-15)) < 1e-2, String(value));
  });

  it('computes inertia as the summed squared distance to the assigned centroid', () => {
    const pts = { data: Float64Array.from([0, 0, 2, 0, 10, 10]), width: 2 };
    assert.equal(
      inertia({ points: pts, labels: [0, 0, 1], centroids: Float64Array.from([1, 0, 10, 11]) }),
      3,
    );
  });

  it('samples the silhouette reproducibly when asked for fewer points', () => {
    const opts = { points: { data: flat, width: 3 }, labels: pointLabels, sampleSize: 100, seed: 5 };
    assert.equal(silhouette(opts), silhouette(opts));
    assert.notEqual(silhouette(opts), silhouette({ ...opts, seed: 6 }));
  });

  it('rejects a single-class label set for ROC AUC with a message naming the field', () => {
    assert.throws(() => rocAuc([0, 0, 0], [0.1, 0.2, 0.3]), { name: 'InvalidInputError', field: 'labels' });
  });
});
