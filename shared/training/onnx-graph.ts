// Small builders for ONNX protobuf pieces (tensors, nodes, value infos, models) on top of onnx-proto.
import onnxProto from 'onnx-proto';
import type { onnx as OnnxTypes } from 'onnx-proto';

const { onnx } = onnxProto;

/** IR version 8 (ONNX 1.10) and the default-domain opset the exported graphs are written against. */
export const IR_VERSION = 8;
export const OPSET = 13;

const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT64 = onnx.TensorProto.DataType.INT64;

type TensorSpec = { name: string; dims: readonly number[]; values: readonly number[] };

/** A float32 initializer; values are rounded to float32 by the encoding, exactly as the trainer holds them. */
export function floatTensor(spec: TensorSpec): OnnxTypes.ITensorProto {
  const size = spec.dims.reduce((a, b) => a * b, 1);
  if (size !== spec.values.length) {
    throw new Error(
      `initializer ${spec.name}: ${spec.values.length} values for dims [${spec.dims.join(', ')}]`,
    );
  }
  return { name: spec.name, dims: [...spec.dims], dataType: FLOAT, floatData: [...spec.values] };
}

/** An int64 initializer (axes and shapes). */
export function int64Tensor(spec: TensorSpec): OnnxTypes.ITensorProto {
  return { name: spec.name, dims: [...spec.dims], dataType: INT64, int64Data: [...spec.values] };
}

type Attribute = { name: string; int: number } | { name: string; float: number };

/** One operator node in the default domain; integer and float attributes only (all these graphs need). */
export function node(spec: {
  op: string;
  inputs: readonly string[];
  outputs: readonly string[];
  attributes?: readonly Attribute[];
  name?: string;
}): OnnxTypes.INodeProto {
  return {
    opType: spec.op,
    name: spec.name ?? `${spec.op}_${spec.outputs[0] ?? ''}`,
    input: [...spec.inputs],
    output: [...spec.outputs],
    attribute: (spec.attributes ?? []).map((a) =>
      'int' in a
        ? { name: a.name, type: onnx.AttributeProto.AttributeType.INT, i: a.int }
        : { name: a.name, type: onnx.AttributeProto.AttributeType.FLOAT, f: a.float },
    ),
  };
}

/** A graph input or output: element type and shape, where a string dimension is symbolic (the batch, `N`). */
export function valueInfo(spec: {
  name: string;
  type: 'float32' | 'int64';
  shape: readonly (number | string)[];
}): OnnxTypes.IValueInfoProto {
  return {
    name: spec.name,
    type: {
      tensorType: {
        elemType: spec.type === 'float32' ? FLOAT : INT64,
        shape: { dim: spec.shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

/** Serialises a graph into a model file with the IR version, opset and metadata properties. */
export function encodeModel(opts: {
  graph: OnnxTypes.IGraphProto;
  metadata: Record<string, string>;
  docString: string;
  producerVersion?: string;
}): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: IR_VERSION,
    opsetImport: [{ domain: '', version: OPSET }],
    producerName: 'flywheel',
    producerVersion: opts.producerVersion ?? '',
    docString: opts.docString,
    graph: opts.graph,
    metadataProps: Object.entries(opts.metadata).map(([key, value]) => ({ key, value })),
  });
  return onnx.ModelProto.encode(model).finish();
}
