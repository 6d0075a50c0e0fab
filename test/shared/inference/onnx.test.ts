// The onnxruntime-node adapter: clear errors for bad files, batched runs on reused buffers, signatures for the registry.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  describeSignature,
  InvalidModelError,
  loadOnnxModel,
  type OnnxModel,
} from '../../../shared/inference/onnx.ts';
import { assignSegment, checkSignature, scoreRisk } from '../../../shared/inference/scoring.ts';
import { createRng } from '../../../shared/training/random.ts';
import { exportRiskOnnx } from '../../../shared/training/onnx-export.ts';
import { encodeModel, floatTensor, node, valueInfo } from '../../../shared/training/onnx-graph.ts';
import type { TrainedRiskModel } from '../../../shared/training/risk-model.ts';
import { handSetTraining } from '../../support/models.ts';

const COLUMNS = ['a', 'b'];

/** A hand-set risk model: scaled = (x − [1, 2]) / [2, 4]; h = relu(scaled); p = sigmoid(h₀ − h₁ + 0.5). */
const handModel: TrainedRiskModel = {
  kind: 'risk',
  columns: COLUMNS,
  scaler: { mean: [1, 2], std: [2, 4] },
  layers: [
    {
      kernel: [
        [1, 0],
        [0, 1],
      ],
      bias: [0, 0],
    },
    { kernel: [[1], [-1]], bias: [0.5] },
  ],
  training: handSetTraining(),
};
const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

/** A scikit-learn-shaped classifier: `label` int64 [N] and `probabilities` float32 [N, 2] (no ZipMap). */
function twoClassModel(): Uint8Array {
  return encodeModel({
    graph: {
      name: 'sk',
      node: [
        node({ op: 'Gemm', inputs: ['float_input', 'W', 'B'], outputs: ['logits'] }),
        node({
          op: 'Softmax',
          inputs: ['logits'],
          outputs: ['probabilities'],
          attributes: [{ name: 'axis', int: 1 }],
        }),
        node({
          op: 'ArgMax',
          inputs: ['logits'],
          outputs: ['label'],
          attributes: [
            { name: 'axis', int: 1 },
            { name: 'keepdims', int: 0 },
          ],
        }),
      ],
      initializer: [
        floatTensor({ name: 'W', dims: [2, 2], values: [0, 1, 0, -1] }),
        floatTensor({ name: 'B', dims: [2], values: [0, 0] }),
      ],
      input: [valueInfo({ name: 'float_input', type: 'float32', shape: ['N', 2] })],
      output: [
        valueInfo({ name: 'label', type: 'int64', shape: ['N'] }),
        valueInfo({ name: 'probabilities', type: 'float32', shape: ['N', 2] }),
      ],
    },
    metadata: {},
    docString: 'two-class test model',
  });
}

/** A model whose input is int64: not servable on float feature rows. */
function int64InputModel(): Uint8Array {
  return encodeModel({
    graph: {
      name: 'ints',
      node: [node({ op: 'Cast', inputs: ['ids'], outputs: ['out'], attributes: [{ name: 'to', int: 1 }] })],
      input: [valueInfo({ name: 'ids', type: 'int64', shape: ['N', 2] })],
      output: [valueInfo({ name: 'out', type: 'float32', shape: ['N', 2] })],
    },
    metadata: {},
    docString: 'int64 input',
  });
}

describe('loadOnnxModel with bad files', () => {
  it('rejects random bytes with InvalidModelError (400, not retriable) and keeps the process usable', async () => {
    const rng = createRng(99);
    const junk = Uint8Array.from({ length: 4096 }, () => rng.int(256));
    const err = await loadOnnxModel(junk).then(
      () => null,
      (e: unknown) => e,
    );
    assert.ok(err instanceof InvalidModelError, String(err));
    assert.equal(err.status, 400);
    assert.equal(err.retriable, false);
    assert.equal(err.field, 'artifact');
    assert.match(err.message, /not an ONNX model|ONNX runtime rejected the model/);
    const good = await loadOnnxModel(exportRiskOnnx(handModel, { name: 'risk' }));
    assert.equal(good.inputWidth, 2);
    await good.close();
  });

  it('rejects an empty file and a truncated model the same way', async () => {
    const bytes = exportRiskOnnx(handModel, { name: 'risk' });
    await assert.rejects(loadOnnxModel(new Uint8Array(0)), InvalidModelError);
    await assert.rejects(loadOnnxModel(bytes.subarray(0, Math.floor(bytes.length / 2))), InvalidModelError);
  });

  it('rejects a model that does not take one float32 [N, F] input, saying what it takes', async () => {
    await assert.rejects(
      loadOnnxModel(int64InputModel()),
      /must take one float32 \[N, F\] input, it takes ids: int64\[N, 2\]/,
    );
  });
});

describe('a loaded model', () => {
  let risk: OnnxModel;
  before(async () => {
    risk = await loadOnnxModel(exportRiskOnnx(handModel, { name: 'risk', version: '7' }));
  });
  after(() => risk.close());

  it('scores a batch in one run with the scaling baked into the graph', async () => {
    const p = await scoreRisk(risk, Float32Array.from([3, 2, 1, 10, -1, 2]), 3);
    const want = [sigmoid(1.5), sigmoid(-1.5), sigmoid(0.5)];
    assert.equal(p.length, 3);
    for (const [i, w] of want.entries()) assert.ok(Math.abs((p[i] ?? 0) - w) < 1e-6, `${p[i]} vs ${w}`);
  });

  it('reads only the first nRows rows of a larger reused buffer, also from a view at an offset', async () => {
    const buffer = new Float32Array(64).fill(1000);
    buffer.set([3, 2, 1, 10], 10);
    const view = buffer.subarray(10);
    const p = await scoreRisk(risk, view, 2);
    assert.equal(p.length, 2);
    assert.ok(Math.abs((p[0] ?? 0) - sigmoid(1.5)) < 1e-6);
    assert.ok(Math.abs((p[1] ?? 0) - sigmoid(-1.5)) < 1e-6);
  });

  it('rejects a buffer too short for nRows rows as invalid features, and scores zero rows as nothing', async () => {
    await assert.rejects(risk.run(new Float32Array(3), 2), { name: 'InvalidInputError', field: 'features' });
    assert.equal((await scoreRisk(risk, new Float32Array(0), 0)).length, 0);
  });

  it('gives the same scores with two intra-op threads as with one', async () => {
    const rows = Float32Array.from({ length: 200 }, (_, i) => (i % 7) - 3);
    const two = await loadOnnxModel(exportRiskOnnx(handModel, { name: 'risk' }), { intraOpNumThreads: 2 });
    try {
      assert.deepEqual(await scoreRisk(two, rows, 100), await scoreRisk(risk, rows, 100));
    } finally {
      await two.close();
    }
  });
});

describe('signatures from other exporters', () => {
  it('describes input width, names and metadata without keeping a session', async () => {
    const sig = await describeSignature(exportRiskOnnx(handModel, { name: 'risk', version: '7' }));
    assert.equal(sig.inputName, 'features');
    assert.equal(sig.inputWidth, 2);
    assert.deepEqual(
      sig.outputs.map((o) => o.name),
      ['probability'],
    );
    assert.equal(sig.file.metadata['flywheel.version'], '7');
    assert.equal(sig.file.producer, 'flywheel');
  });

  it('reads a scikit-learn style [N, 2] probability output as P(class 1) and `label` as the segment', async () => {
    const model = await loadOnnxModel(twoClassModel());
    try {
      // logits = x·W = [0, x₀ − x₁]: P(class 1) = sigmoid(x₀ − x₁), label = 1 when x₀ > x₁.
      const rows = Float32Array.from([2, 0, -1, 0]);
      const p = await scoreRisk(model, rows, 2);
      assert.ok(Math.abs((p[0] ?? 0) - sigmoid(2)) < 1e-6, String(p[0]));
      assert.ok(Math.abs((p[1] ?? 0) - sigmoid(-1)) < 1e-6, String(p[1]));
      assert.deepEqual(Array.from(await assignSegment(model, rows, 2)), [1, 0]);
      assert.equal(model.signature.file.columns, null);
    } finally {
      await model.close();
    }
  });

  it('lists every mismatch against a feature set: width, column order, missing output', async () => {
    const sig = await describeSignature(exportRiskOnnx(handModel, { name: 'risk' }));
    assert.deepEqual(checkSignature({ signature: sig, kind: 'risk', columns: COLUMNS }), {
      kind: 'compatible',
    });
    const swapped = checkSignature({ signature: sig, kind: 'risk', columns: ['b', 'a'] });
    assert.deepEqual(swapped, {
      kind: 'incompatible',
      reasons: ['model columns differ from the feature set at position 0'],
    });
    const wider = checkSignature({ signature: sig, kind: 'segment', columns: ['a', 'b', 'c'] });
    assert.equal(wider.kind, 'incompatible');
    assert.deepEqual(wider.kind === 'incompatible' ? wider.reasons : [], [
      'model takes 2 features, the feature set has 3',
      'model columns differ from the feature set at position 2',
      'no integer segment output',
    ]);
  });
});
