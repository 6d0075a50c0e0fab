// Small builders for ONNX protobuf pieces (tensors, nodes, value infos, models) on top of onnx-proto.
import onnxProto from 'onnx-proto';
import type { onnx as OnnxTypes } from 'onnx-proto';

const { onnx } = onnxProto;

/** IR version 8 (ONNX 1.10) and the default-domain opset the exported graphs are written against. */
export const IR_VERSION = 8;
export const OPSET = 13;

const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT64 = onnx.TensorProto.DataType.INT64;

/** A float32 initializer; values are rounded to float32 by the encoding, exactly as the trainer holds them. */
export function floatTensor(
  name: string,
  dims: readonly number[],
  values: readonly number[],
): OnnxTypes.ITensorProto {
  const size = dims.reduce((a, b) => a * b, 1);
  if (size !== values.length)
    throw new Error(`initializer ${name}: ${values.length} values for dims [${dims.join(', ')}]`);
  return { name, dims: [...dims], dataType: FLOAT, floatData: [...values] };
}

/** An int64 initializer (axes and shapes). */
export function int64Tensor(
  name: string,
  dims: readonly number[],
  values: readonly number[],
): OnnxTypes.ITensorProto {
  return { name, dims: [...dims], dataType: INT64, int64Data: [...values] };
}

type Attribute = { name: string; int: number } | { name: string; float: number };

/** One operator node in the default domain; integer and float attributes only (all these graphs need). */
export function node(
  opType: string,
  io: { inputs: readonly string[]; outputs: readonly string[]; name?: string },
  attributes: readonly Attribute[] = [],
): OnnxTypes.INodeProto {
  return {
    opType,
    name: io.name ?? `${opType}_${io.outputs[0] ?? ''}`,
    input: [...io.inputs],
    output: [...io.outputs],
    attribute: attributes.map((a) =>
      'int' in a
        ? { name: a.name, type: onnx.AttributeProto.AttributeType.INT, i: a.int }
        : { name: a.name, type: onnx.AttributeProto.AttributeType.FLOAT, f: a.float },
    ),
  };
}

/** A graph input or output: element type and shape, where a string dimension is symbolic (the batch, `N`). */
export function valueInfo(
  name: string,
  elemType: 'float32' | 'int64',
  shape: readonly (number | string)[],
): OnnxTypes.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: elemType === 'float32' ? FLOAT : INT64,
        shape: { dim: shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
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
