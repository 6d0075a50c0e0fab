// Typed reads of model outputs (risk probability, segment id) and the signature check a registry runs on upload.
import { InvalidModelError } from './model-file.ts';
import type { OnnxModel, OnnxOutput, OnnxSignature, TensorInfo } from './onnx.ts';

/** The model kinds Flywheel serves and the output each must provide. */
export type ModelKind = 'risk' | 'segment';

/**
 * The output a risk model's probability comes from: `probability` if present, else the only float output.
 * A [N, 2] float output (scikit-learn's `probabilities` without ZipMap) is read as column 1, P(positive).
 */
function riskOutput(outputs: readonly TensorInfo[]): TensorInfo | undefined {
  const floats = outputs.filter((o) => o.type === 'float32');
  return (
    floats.find((o) => o.name === 'probability') ??
    floats.find((o) => o.name === 'probabilities') ??
    (floats.length === 1 ? floats[0] : undefined)
  );
}

/** The output a segment model's id comes from: `segment` if present, else the only integer output (e.g. `label`). */
function segmentOutput(outputs: readonly TensorInfo[]): TensorInfo | undefined {
  const ints = outputs.filter((o) => o.type === 'int64' || o.type === 'int32');
  return ints.find((o) => o.name === 'segment') ?? (ints.length === 1 ? ints[0] : undefined);
}

/** Whether a model can be served for `kind` on `columns`; reasons name every mismatch found. */
export function checkSignature(opts: {
  signature: OnnxSignature;
  kind: ModelKind;
  columns: readonly string[];
}): { kind: 'compatible' } | { kind: 'incompatible'; reasons: string[] } {
  const { signature, columns } = opts;
  const reasons: string[] = [];
  if (signature.inputWidth !== null && signature.inputWidth !== columns.length) {
    reasons.push(`model takes ${signature.inputWidth} features, the feature set has ${columns.length}`);
  }
  const fileColumns = signature.file.columns;
  if (fileColumns !== null && fileColumns.join('\u0000') !== columns.join('\u0000')) {
    const differ = fileColumns.findIndex((c, i) => c !== columns[i]);
    reasons.push(
      `model columns differ from the feature set at position ${differ < 0 ? fileColumns.length : differ}`,
    );
  }
  const output = opts.kind === 'risk' ? riskOutput(signature.outputs) : segmentOutput(signature.outputs);
  if (!output) reasons.push(`no ${opts.kind === 'risk' ? 'float probability' : 'integer segment'} output`);
  return reasons.length === 0 ? { kind: 'compatible' } : { kind: 'incompatible', reasons };
}

function pick(
  outputs: Record<string, OnnxOutput>,
  info: TensorInfo | undefined,
  kind: ModelKind,
): OnnxOutput {
  const out = info ? outputs[info.name] : undefined;
  if (!out) throw new InvalidModelError(`model has no usable ${kind} output`);
  return out;
}

/** P(fraud) per row from a risk model, one batched run; a [N, 2] output gives its second column. */
export async function scoreRisk(model: OnnxModel, rows: Float32Array, nRows: number): Promise<Float32Array> {
  const out = pick(await model.run(rows, nRows), riskOutput(model.signature.outputs), 'risk');
  if (out.type !== 'float32') throw new InvalidModelError(`risk output is ${out.type}, expected float32`);
  const columns = out.dims.length === 2 ? (out.dims[1] ?? 1) : 1;
  if (columns === 1) return out.data;
  const p = new Float32Array(nRows);
  for (let i = 0; i < nRows; i++) p[i] = out.data[i * columns + columns - 1] ?? 0;
  return p;
}

/** Segment id per row from a segment model, one batched run (int64 ids narrowed to Int32Array). */
export async function assignSegment(
  model: OnnxModel,
  rows: Float32Array,
  nRows: number,
): Promise<Int32Array> {
  const out = pick(await model.run(rows, nRows), segmentOutput(model.signature.outputs), 'segment');
  if (out.type === 'int32') return out.data;
  if (out.type !== 'int64') throw new InvalidModelError(`segment output is ${out.type}, expected an integer`);
  const ids = new Int32Array(out.data.length);
  for (let i = 0; i < ids.length; i++) ids[i] = Number(out.data[i] ?? 0n);
  return ids;
}
