// Exports trained models as ONNX graphs with the feature scaling inside, so serving feeds raw feature rows.
import { MetadataKeys } from '../inference/model-file.ts';
import { encodeModel, floatTensor, int64Tensor, node, valueInfo } from './onnx-graph.ts';
import type { TrainedRiskModel } from './risk-model.ts';
import type { TrainedSegmentModel } from './segment-model.ts';

/** The one input every exported model takes: raw features, float32 [N, F], N symbolic. */
export const INPUT_NAME = 'features';

/** Identity written into metadata_props (the registry reads it back with readModelFile). */
export type ExportMetadata = {
  name: string;
  version?: string;
  featureSet?: string;
  producerVersion?: string;
  extra?: Record<string, string>;
};

function metadataProps(
  kind: string,
  columns: readonly string[],
  meta: ExportMetadata,
): Record<string, string> {
  return {
    ...meta.extra,
    [MetadataKeys.model]: meta.name,
    [MetadataKeys.kind]: kind,
    [MetadataKeys.columns]: JSON.stringify(columns),
    ...(meta.version !== undefined ? { [MetadataKeys.version]: meta.version } : {}),
    ...(meta.featureSet !== undefined ? { [MetadataKeys.featureSet]: meta.featureSet } : {}),
  };
}

function scalingNodes(scaler: { mean: number[]; std: number[] }, transform: 'none' | 'log1p' = 'none') {
  const width = scaler.mean.length;
  const log1p = transform === 'log1p';
  return {
    initializers: [
      floatTensor({ name: 'scaler_mean', dims: [width], values: scaler.mean }),
      floatTensor({ name: 'scaler_std', dims: [width], values: scaler.std }),
      ...(log1p ? [floatTensor({ name: 'one', dims: [1], values: [1] })] : []),
    ],
    nodes: [
      // log1p(max(x, 0)) = Log(Relu(x) + 1), when the model was trained on log-scaled inputs
      ...(log1p
        ? [
            node({ op: 'Relu', inputs: [INPUT_NAME], outputs: ['non_negative'] }),
            node({ op: 'Add', inputs: ['non_negative', 'one'], outputs: ['shifted'] }),
            node({ op: 'Log', inputs: ['shifted'], outputs: ['logged'] }),
          ]
        : []),
      node({ op: 'Sub', inputs: [log1p ? 'logged' : INPUT_NAME, 'scaler_mean'], outputs: ['centred'] }),
      node({ op: 'Div', inputs: ['centred', 'scaler_std'], outputs: ['scaled'] }),
    ],
  };
}

/**
 * Risk MLP → ONNX (IR 8, opset 13): [Log(Relu(x) + 1)] → Sub(mean) → Div(std) → [Gemm → Relu]… → Gemm → Sigmoid.
 * Output `probability` float32 [N, 1] is P(fraud).
 */
export function exportRiskOnnx(model: TrainedRiskModel, meta: ExportMetadata): Uint8Array {
  const width = model.columns.length;
  const scaling = scalingNodes(model.scaler, model.inputTransform ?? 'none');
  const initializers = [...scaling.initializers];
  const nodes = [...scaling.nodes];
  let current = 'scaled';
  model.layers.forEach((layer, l) => {
    const fanIn = layer.kernel.length;
    const fanOut = layer.bias.length;
    initializers.push(
      floatTensor({ name: `dense${l}_kernel`, dims: [fanIn, fanOut], values: layer.kernel.flat() }),
    );
    initializers.push(floatTensor({ name: `dense${l}_bias`, dims: [fanOut], values: layer.bias }));
    const last = l === model.layers.length - 1;
    const gemmOut = last ? 'logit' : `dense${l}_linear`;
    nodes.push(
      node({ op: 'Gemm', inputs: [current, `dense${l}_kernel`, `dense${l}_bias`], outputs: [gemmOut] }),
    );
    current = last ? 'probability' : `dense${l}_relu`;
    nodes.push(node({ op: last ? 'Sigmoid' : 'Relu', inputs: [gemmOut], outputs: [current] }));
  });
  return encodeModel({
    graph: {
      name: 'risk',
      node: nodes,
      initializer: initializers,
      input: [valueInfo({ name: INPUT_NAME, type: 'float32', shape: ['N', width] })],
      output: [valueInfo({ name: 'probability', type: 'float32', shape: ['N', 1] })],
    },
    metadata: metadataProps('risk', model.columns, meta),
    docString: `Flywheel risk model: MLP ${[width, ...model.layers.map((l) => l.bias.length)].join('-')}, P(fraud)`,
    ...(meta.producerVersion !== undefined ? { producerVersion: meta.producerVersion } : {}),
  });
}

/**
 * Segment k-means → ONNX: scale, squared distance to every centroid by broadcasting
 * (Unsqueeze → Sub → Mul → ReduceSum), ArgMin. Outputs `segment` int64 [N] and `distances` float32 [N, K]
 * (squared, standardised units). Ties go to the lower segment id, as in assignSegments.
 */
export function exportSegmentOnnx(model: TrainedSegmentModel, meta: ExportMetadata): Uint8Array {
  const width = model.columns.length;
  const k = model.centroids.length;
  const scaling = scalingNodes(model.scaler);
  return encodeModel({
    graph: {
      name: 'segment',
      node: [
        ...scaling.nodes,
        node({ op: 'Unsqueeze', inputs: ['scaled', 'axis_1'], outputs: ['scaled_3d'] }),
        node({ op: 'Sub', inputs: ['scaled_3d', 'centroids'], outputs: ['diff'] }),
        node({ op: 'Mul', inputs: ['diff', 'diff'], outputs: ['diff_sq'] }),
        node({
          op: 'ReduceSum',
          inputs: ['diff_sq', 'axis_2'],
          outputs: ['distances'],
          attributes: [{ name: 'keepdims', int: 0 }],
        }),
        node({
          op: 'ArgMin',
          inputs: ['distances'],
          outputs: ['segment'],
          attributes: [
            { name: 'axis', int: 1 },
            { name: 'keepdims', int: 0 },
          ],
        }),
      ],
      initializer: [
        ...scaling.initializers,
        int64Tensor({ name: 'axis_1', dims: [1], values: [1] }),
        int64Tensor({ name: 'axis_2', dims: [1], values: [2] }),
        floatTensor({ name: 'centroids', dims: [1, k, width], values: model.centroids.flat() }),
      ],
      input: [valueInfo({ name: INPUT_NAME, type: 'float32', shape: ['N', width] })],
      output: [
        valueInfo({ name: 'segment', type: 'int64', shape: ['N'] }),
        valueInfo({ name: 'distances', type: 'float32', shape: ['N', k] }),
      ],
    },
    metadata: metadataProps('segment', model.columns, meta),
    docString: `Flywheel segment model: k-means, k=${k}, nearest centroid in standardised space`,
    ...(meta.producerVersion !== undefined ? { producerVersion: meta.producerVersion } : {}),
  });
}
