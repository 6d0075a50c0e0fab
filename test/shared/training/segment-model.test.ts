// The segment model: k-means recovers customer archetypes, picks k by silhouette, and is reproducible.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { adjustedRandIndex } from '../../../shared/training/metrics.ts';
import {
  assignSegments,
  type TrainedSegmentModel,
  TrainedSegmentModelSchema,
  trainSegmentModel,
} from '../../../shared/training/segment-model.ts';
import { customerDataset } from './datasets.ts';
import { sklearn } from './sklearn.ts';

const customers = customerDataset({ n: 3000, seed: 5 });
const holdout = customerDataset({ n: 1000, seed: 6 });

describe('trainSegmentModel', () => {
  let model: TrainedSegmentModel;
  before(() => {
    model = trainSegmentModel({ data: customers, config: { kRange: [2, 6], silhouetteSample: 1500 } });
  });

  it('chooses k = 4 by silhouette and recovers the four archetypes (ARI ≥ 0.8), on holdout customers too', () => {
    assert.equal(model.metrics.k, 4);
    const best = Math.max(...model.metrics.candidates.map((c) => c.silhouette));
    assert.equal(model.metrics.silhouette, best);
    const train = assignSegments({ model, rows: customers.rows });
    assert.ok(adjustedRandIndex(customers.truth, train) >= 0.8);
    const ari = adjustedRandIndex(holdout.truth, assignSegments({ model, rows: holdout.rows }));
    assert.ok(ari >= 0.8, `holdout ARI ${ari}`);
  });

  it('reaches the inertia of scikit-learn KMeans on the same standardised data', async (t) => {
    const reference = (await sklearn(
      `
from sklearn.cluster import KMeans
from sklearn.preprocessing import StandardScaler
from sklearn.metrics import adjusted_rand_score
x = StandardScaler().fit_transform(data['rows'])
m = KMeans(n_clusters=4, n_init=4, random_state=0).fit(x)
print(json.dumps({'inertia': float(m.inertia_), 'ari': adjusted_rand_score(data['truth'], m.labels_)}))
`,
      { rows: customers.rows, truth: customers.truth },
    )) as { inertia: number; ari: number };
    t.diagnostic(`inertia ${model.metrics.inertia.toFixed(3)} vs sklearn ${reference.inertia.toFixed(3)}`);
    assert.ok(
      model.metrics.inertia <= reference.inertia * 1.001,
      `${model.metrics.inertia} vs ${reference.inertia}`,
    );
    const ours = adjustedRandIndex(customers.truth, assignSegments({ model, rows: customers.rows }));
    assert.ok(ours >= reference.ari - 1e-9, `ARI ${ours} vs sklearn ${reference.ari}`);
  });

  it('numbers segments by size, largest first, and reports sizes that add up', () => {
    const sizes = model.metrics.sizes;
    assert.equal(
      sizes.reduce((a, b) => a + b, 0),
      customers.rows.length,
    );
    assert.deepEqual(
      [...sizes].sort((a, b) => b - a),
      sizes,
    );
    assert.equal(model.metrics.silhouetteSampled, true);
  });

  it('keeps scaled and raw centroids consistent, raw ones in the original units', () => {
    model.centroids.forEach((c, k) => {
      c.forEach((v, j) => {
        const raw = v * (model.scaler.std[j] ?? 1) + (model.scaler.mean[j] ?? 0);
        assert.ok(Math.abs(raw - (model.centroidsRaw[k]?.[j] ?? Number.NaN)) < 1e-9);
      });
    });
    // The loyal archetype (recency ≈ 4 days, frequency ≈ 40) is one of the raw centroids.
    assert.ok(model.centroidsRaw.some((c) => (c[0] ?? 0) < 6 && (c[1] ?? 0) > 30));
  });

  it('gives the same centroids for the same seed and survives a JSON round trip through its schema', () => {
    const again = trainSegmentModel({ data: customers, config: { kRange: [2, 6], silhouetteSample: 1500 } });
    assert.deepEqual(again.centroids, model.centroids);
    assert.deepEqual(TrainedSegmentModelSchema.parse(JSON.parse(JSON.stringify(model))), model);
  });

  it('uses a fixed k when configured', () => {
    const fixed = trainSegmentModel({ data: customers, config: { k: 3 } });
    assert.equal(fixed.metrics.k, 3);
    assert.deepEqual(
      fixed.metrics.candidates.map((c) => c.k),
      [3],
    );
  });

  it('rejects too few rows for the requested k, naming the field', () => {
    const data = { columns: customers.columns, rows: customers.rows.slice(0, 3) };
    assert.throws(() => trainSegmentModel({ data, config: { k: 4 } }), {
      name: 'InvalidInputError',
      field: 'rows',
    });
  });
});
