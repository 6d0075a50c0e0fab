// The work one row costs a model, read from its ONNX graph: a figure that the machine's load cannot move.
import onnxProto from 'onnx-proto';
import type { onnx as OnnxTypes } from 'onnx-proto';

const { onnx } = onnxProto;

/** Work per single-row inference: graph nodes, and arithmetic operations (a multiply-add counts one). */
export interface GraphCost {
  nodes: number;
  operations: number;
}

/** Integer fields arrive as number or Long, depending on the value. */
type Int = number | { toNumber(): number } | null | undefined;
const int = (v: Int, fallback = 0): number =>
  v === null || v === undefined ? fallback : typeof v === 'number' ? v : v.toNumber();

const size = (dims: readonly number[]): number => dims.reduce((a, b) => a * b, 1);

const UNARY = new Set(['Relu', 'Sigmoid', 'Tanh', 'Log', 'Exp', 'Abs', 'Neg', 'Sqrt', 'Erf', 'Softmax']);
const BINARY = new Set(['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Max', 'Min']);
const REDUCE = new Set(['ReduceSum', 'ReduceMean', 'ReduceMax', 'ReduceMin', 'ArgMin', 'ArgMax']);

/** Numpy broadcasting of two shapes; null when they do not broadcast. */
function broadcast(a: readonly number[], b: readonly number[]): number[] | null {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const x = a[a.length - rank + i] ?? 1;
    const y = b[b.length - rank + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) return null;
    out.push(Math.max(x, y));
  }
  return out;
}

const normalise = (axes: readonly number[], rank: number): number[] =>
  axes.map((a) => (a < 0 ? a + rank : a));

/** The int64 values of a constant tensor (axes), from int64_data or raw little-endian bytes. */
function int64Values(t: OnnxTypes.ITensorProto): number[] {
  if (t.int64Data && t.int64Data.length > 0) return t.int64Data.map((v) => int(v));
  const raw = t.rawData;
  if (!raw || raw.byteLength % 8 !== 0) return [];
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  return Array.from({ length: raw.byteLength / 8 }, (_, i) => Number(view.getBigInt64(i * 8, true)));
}

type Step = { out: number[]; operations: number } | string;

/** One node's output shape and operation count for one row, from its input shapes; a string says why not. */
function step(
  node: OnnxTypes.INodeProto,
  shapes: Map<string, number[]>,
  consts: Map<string, number[]>,
): Step {
  const op = node.opType ?? '';
  const ins = (node.input ?? []).map((name) => (name === '' ? [] : shapes.get(name)));
  const attr = (name: string) => (node.attribute ?? []).find((a) => a.name === name);
  const [a, b, c] = ins;
  if (!a) return `the input of ${op} ${node.name ?? ''} has no known shape`;
  if (UNARY.has(op)) return { out: a, operations: size(a) };
  if (op === 'Identity') return { out: a, operations: 0 };
  if (BINARY.has(op)) {
    const out = b ? broadcast(a, b) : null;
    return out ? { out, operations: size(out) } : `${op} ${node.name ?? ''}: shapes do not broadcast`;
  }
  if (op === 'Gemm' || op === 'MatMul') {
    if (!b || a.length < 2 || b.length !== 2) return `${op} ${node.name ?? ''}: unsupported shapes`;
    const transA = op === 'Gemm' && int(attr('transA')?.i) === 1;
    const transB = op === 'Gemm' && int(attr('transB')?.i) === 1;
    const rows = size(a.slice(0, -2)) * (transA ? (a.at(-1) ?? 1) : (a.at(-2) ?? 1));
    const inner = transA ? (a.at(-2) ?? 1) : (a.at(-1) ?? 1);
    const cols = transB ? (b[0] ?? 1) : (b[1] ?? 1);
    const bias = op === 'Gemm' && c ? rows * cols : 0;
    const out = op === 'Gemm' ? [rows, cols] : [...a.slice(0, -1), cols];
    return { out, operations: rows * inner * cols + bias };
  }
  if (op === 'Unsqueeze' || op === 'Squeeze') {
    const given = consts.get(node.input?.[1] ?? '') ?? (attr('axes')?.ints ?? []).map((v) => int(v));
    if (op === 'Unsqueeze') {
      const out = [...a];
      for (const axis of normalise(given, a.length + given.length).sort((x, y) => x - y))
        out.splice(axis, 0, 1);
      return { out, operations: 0 };
    }
    const drop = given.length > 0 ? normalise(given, a.length) : a.flatMap((d, i) => (d === 1 ? [i] : []));
    return { out: a.filter((_, i) => !drop.includes(i)), operations: 0 };
  }
  if (REDUCE.has(op)) {
    const keep = int(attr('keepdims')?.i, 1) === 1;
    const arg = op.startsWith('Arg');
    const given = arg
      ? [int(attr('axis')?.i)]
      : (consts.get(node.input?.[1] ?? '') ?? (attr('axes')?.ints ?? []).map((v) => int(v)));
    const axes = given.length > 0 ? normalise(given, a.length) : a.map((_, i) => i);
    const out = keep ? a.map((d, i) => (axes.includes(i) ? 1 : d)) : a.filter((_, i) => !axes.includes(i));
    return { out, operations: size(a) };
  }
  return `operator ${op || '(none)'} has no cost model here`;
}

/**
 * The nodes and arithmetic operations of one single-row inference (the batch dimension set to 1), found by
 * propagating shapes through the graph. Covers the operators the trainer exports (onnx-export.ts) and their near
 * kin; any other operator makes the cost unknown, with the reason, rather than guessed.
 */
export function graphCost(bytes: Uint8Array): GraphCost | { unknown: string } {
  let graph: OnnxTypes.IGraphProto | null | undefined;
  try {
    graph = onnx.ModelProto.decode(bytes).graph;
  } catch (err) {
    return { unknown: `not an ONNX model: ${err instanceof Error ? err.message : String(err)}` };
  }
  if (!graph) return { unknown: 'the model has no graph' };
  const shapes = new Map<string, number[]>();
  const consts = new Map<string, number[]>();
  for (const t of graph.initializer ?? []) {
    if (!t.name) continue;
    shapes.set(
      t.name,
      (t.dims ?? []).map((d) => int(d)),
    );
    if (t.dataType === onnx.TensorProto.DataType.INT64) consts.set(t.name, int64Values(t));
  }
  for (const input of graph.input ?? []) {
    if (!input.name || shapes.has(input.name)) continue;
    const dims = input.type?.tensorType?.shape?.dim ?? [];
    // A symbolic or unset dimension is the batch: one row.
    shapes.set(
      input.name,
      dims.map((d) => Math.max(1, int(d.dimValue, 1))),
    );
  }
  let operations = 0;
  const nodes = graph.node ?? [];
  for (const node of nodes) {
    const result = step(node, shapes, consts);
    if (typeof result === 'string') return { unknown: result };
    operations += result.operations;
    for (const name of node.output ?? []) shapes.set(name, result.out);
  }
  return { nodes: nodes.length, operations };
}
