// The onnxruntime-node adapter (the only importer of it): load a model once, score batches, describe its signature.
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { InvalidInputError } from '../errors/index.ts';
import { InvalidModelError, type ModelFileInfo, readModelFile } from './model-file.ts';

export { InvalidModelError };

/** One input or output as the model declares it; a string dimension is symbolic (for example the batch `N`). */
export type TensorInfo = { name: string; type: string; shape: (number | string)[] };

/** What a model takes and gives: enough for a registry to check it against a feature set before serving it. */
export type OnnxSignature = {
  inputName: string;
  /** Features per row: the input's second dimension, else the length of the file's `flywheel.columns`. */
  inputWidth: number | null;
  inputs: TensorInfo[];
  outputs: TensorInfo[];
  file: ModelFileInfo;
};

/** An output tensor; `data` is the runtime's buffer for this call, handed over without a copy. */
export type OnnxOutput =
  | { type: 'float32'; data: Float32Array; dims: readonly number[] }
  | { type: 'int64'; data: BigInt64Array; dims: readonly number[] }
  | { type: 'int32'; data: Int32Array; dims: readonly number[] }
  | { type: 'float64'; data: Float64Array; dims: readonly number[] }
  | { type: 'unsupported'; elementType: string; dims: readonly number[] };

/** A loaded model. `run` takes raw rows row-major (`nRows × inputWidth` floats) and scores them in one call. */
export type OnnxModel = {
  readonly signature: OnnxSignature;
  readonly inputName: string;
  readonly inputWidth: number | null;
  readonly outputNames: readonly string[];
  run(rows: Float32Array, nRows: number): Promise<Record<string, OnnxOutput>>;
  close(): Promise<void>;
};

/** Session knobs; the defaults suit tiny models on a shared CPU (one thread per session, quiet logs). */
export type OnnxLoadOptions = { intraOpNumThreads?: number; interOpNumThreads?: number };

function describe(meta: readonly InferenceSession.ValueMetadata[]): TensorInfo[] {
  return meta.map((m) =>
    m.isTensor
      ? { name: m.name, type: m.type, shape: [...m.shape] }
      : { name: m.name, type: 'non-tensor', shape: [] },
  );
}

/** The output as its element type, when the runtime's buffer is the typed array that type promises. */
function toOutput(t: Tensor): OnnxOutput {
  const dims = t.dims;
  if (t.type === 'float32' && t.data instanceof Float32Array) return { type: 'float32', data: t.data, dims };
  if (t.type === 'int64' && t.data instanceof BigInt64Array) return { type: 'int64', data: t.data, dims };
  if (t.type === 'int32' && t.data instanceof Int32Array) return { type: 'int32', data: t.data, dims };
  if (t.type === 'float64' && t.data instanceof Float64Array) return { type: 'float64', data: t.data, dims };
  return { type: 'unsupported', elementType: t.type, dims };
}

/**
 * Creates one inference session for `bytes` (reuse it for every request: creation costs milliseconds, a run
 * microseconds). The model must take one float32 [N, F] input. A file that is not a valid model throws
 * InvalidModelError with the runtime's reason; nothing crashes the process.
 */
export async function loadOnnxModel(bytes: Uint8Array, options: OnnxLoadOptions = {}): Promise<OnnxModel> {
  const file = readModelFile(bytes);
  let session: InferenceSession;
  try {
    session = await InferenceSession.create(bytes, {
      executionProviders: ['cpu'],
      intraOpNumThreads: options.intraOpNumThreads ?? 1,
      interOpNumThreads: options.interOpNumThreads ?? 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
      logSeverityLevel: 3,
    });
  } catch (err) {
    throw new InvalidModelError(
      `ONNX runtime rejected the model: ${err instanceof Error ? err.message : String(err)}`,
      {
        cause: err,
      },
    );
  }
  const inputs = describe(session.inputMetadata);
  const outputs = describe(session.outputMetadata);
  const input = inputs[0];
  if (inputs.length !== 1 || !input || input.type !== 'float32' || input.shape.length !== 2) {
    await session.release();
    const seen = inputs.map((i) => `${i.name}: ${i.type}[${i.shape.join(', ')}]`).join('; ');
    throw new InvalidModelError(`model must take one float32 [N, F] input, it takes ${seen || 'none'}`);
  }
  const declared = input.shape[1];
  const inputWidth = typeof declared === 'number' && declared > 0 ? declared : (file.columns?.length ?? null);
  const signature: OnnxSignature = { inputName: input.name, inputWidth, inputs, outputs, file };
  const inputName = input.name;
  return {
    signature,
    inputName,
    inputWidth,
    outputNames: session.outputNames,
    async run(rows, nRows) {
      if (!Number.isInteger(nRows) || nRows < 0)
        throw new InvalidInputError('nRows', `nRows must be a natural number, got ${nRows}`);
      const width = inputWidth ?? (nRows > 0 ? rows.length / nRows : 0);
      if (!Number.isInteger(width) || rows.length < nRows * width) {
        throw new InvalidInputError(
          'features',
          `${rows.length} values cannot hold ${nRows} rows of ${width} features`,
        );
      }
      const view = rows.length === nRows * width ? rows : rows.subarray(0, nRows * width);
      let result: InferenceSession.ReturnType;
      try {
        result = await session.run({ [inputName]: new Tensor('float32', view, [nRows, width]) });
      } catch (err) {
        throw new InvalidInputError(
          'features',
          `inference failed: ${err instanceof Error ? err.message : String(err)}`,
          {
            cause: err,
          },
        );
      }
      const out: Record<string, OnnxOutput> = {};
      for (const [name, value] of Object.entries(result))
        if (value instanceof Tensor) out[name] = toOutput(value);
      return out;
    },
    close: () => session.release(),
  };
}

/** Loads `bytes` just long enough to report its signature (for a registry checking an uploaded model). */
export async function describeSignature(bytes: Uint8Array): Promise<OnnxSignature> {
  const model = await loadOnnxModel(bytes);
  try {
    return model.signature;
  } finally {
    await model.close();
  }
}
