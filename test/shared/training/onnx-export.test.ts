// Exported ONNX graphs, run by onnxruntime-node through the adapter, reproduce the trainers' own predictions.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadOnnxModel, type OnnxModel } from '../../../shared/inference/onnx.ts';
import { assignSegment, checkSignature, scoreRisk } from '../../../shared/inference/scoring.ts';
import { createLogger } from '../../../shared/runtime/logger.ts';
import { loadTrainingBackend } from '../../../shared/training/backend.ts';
import { toFloat32 } from '../../../shared/training/matrix.ts';
import { exportRiskOnnx, exportSegmentOnnx } from '../../../shared/training/onnx-export.ts';
import { predictRisk, type TrainedRiskModel, trainRiskModel } from '../../../shared/training/risk-model.ts';
import {
  assignSegments,
  type TrainedSegmentModel,
  trainSegmentModel,
} from '../../../shared/training/segment-model.ts';
import { customerDataset, fraudDataset } from './datasets.ts';

const fraud = fraudDataset({ n: 3000, seed: 21 });
const fraudHoldout = fraudDataset({ n: 1000, seed: 22 });
const customers = customerDataset({ n: 1200, seed: 23 });
const customerHoldout = customerDataset({ n: 800, seed: 24 });

describe('ONNX export parity', () => {
  let risk: TrainedRiskModel;
  let segment: TrainedSegmentModel;
  let riskOnnx: OnnxModel;
  let segmentOnnx: OnnxModel;
  let expected: Float32Array;

  before(async () => {
    const { tf } = await loadTrainingBackend({
      log: createLogger({ name: 'test', level: 'silent' }),
      force: 'wasm',
    });
    risk = await trainRiskModel({
      tf,
      data: fraud,
      labels: fraud.labels,
      config: { epochs: 8, validationFraction: 0 },
    });
    expected = predictRisk({ tf, model: risk, rows: fraudHoldout.rows });
    segment = trainSegmentModel({ data: customers, config: { k: 4 } });
    riskOnnx = await loadOnnxModel(exportRiskOnnx(risk, { name: 'risk', version: '3', featureSet: 'tx-v1' }));
    segmentOnnx = await loadOnnxModel(exportSegmentOnnx(segment, { name: 'segment', version: '1' }));
  });
  after(async () => {
    await riskOnnx.close();
    await segmentOnnx.close();
  });

  it('gives the tfjs probabilities on raw holdout rows within 1e-4 (scaling is inside the graph)', async () => {
    const got = await scoreRisk(riskOnnx, toFloat32(fraudHoldout.rows, 8), fraudHoldout.rows.length);
    assert.equal(got.length, expected.length);
    let worst = 0;
    for (let i = 0; i < got.length; i++)
      worst = Math.max(worst, Math.abs((got[i] ?? 0) - (expected[i] ?? 0)));
    assert.ok(worst < 1e-4, `largest difference ${worst}`);
    assert.ok(new Set(Array.from(got, (p) => p.toFixed(3))).size > 50, 'probabilities vary across rows');
  });

  it('gives exactly the TypeScript segment of every holdout customer', async () => {
    const got = await assignSegment(
      segmentOnnx,
      toFloat32(customerHoldout.rows, 4),
      customerHoldout.rows.length,
    );
    assert.deepEqual(
      Array.from(got),
      Array.from(assignSegments({ model: segment, rows: customerHoldout.rows })),
    );
    assert.deepEqual(new Set(got), new Set([0, 1, 2, 3]));
  });

  it('outputs squared standardised distances whose minimum is the chosen segment', async () => {
    const rows = customerHoldout.rows.slice(0, 5);
    const out = await segmentOnnx.run(toFloat32(rows, 4), rows.length);
    const distances = out.distances;
    const ids = out.segment;
    assert.ok(distances?.type === 'float32' && ids?.type === 'int64');
    assert.deepEqual(distances.dims, [5, 4]);
    rows.forEach((row, i) => {
      const scaled = row.map((v, j) => (v - (segment.scaler.mean[j] ?? 0)) / (segment.scaler.std[j] ?? 1));
      segment.centroids.forEach((c, k) => {
        const d = c.reduce((s, v, j) => s + (v - (scaled[j] ?? 0)) ** 2, 0);
        assert.ok(Math.abs((distances.data[i * 4 + k] ?? 0) - d) < 1e-4 * Math.max(1, d));
      });
      const row4 = Array.from(distances.data.subarray(i * 4, i * 4 + 4));
      assert.equal(Number(ids.data[i]), row4.indexOf(Math.min(...row4)));
    });
  });

  it('declares a dynamic batch, the feature width and the identity in metadata_props', () => {
    assert.deepEqual(riskOnnx.signature.inputs, [{ name: 'features', type: 'float32', shape: ['N', 8] }]);
    assert.deepEqual(riskOnnx.signature.outputs, [{ name: 'probability', type: 'float32', shape: ['N', 1] }]);
    assert.equal(riskOnnx.signature.file.irVersion, 8);
    assert.deepEqual(riskOnnx.signature.file.opsets, [{ domain: '', version: 13 }]);
    assert.deepEqual(riskOnnx.signature.file.columns, fraud.columns);
    assert.equal(riskOnnx.signature.file.metadata['flywheel.version'], '3');
    assert.equal(riskOnnx.signature.file.metadata['flywheel.featureSet'], 'tx-v1');
    assert.deepEqual(segmentOnnx.outputNames, ['segment', 'distances']);
    assert.deepEqual(
      checkSignature({ signature: segmentOnnx.signature, kind: 'segment', columns: customers.columns }),
      {
        kind: 'compatible',
      },
    );
  });
});
