// Facts about an ONNX file read without running it: its metadata properties and the error for a bad file.
import onnxProto from 'onnx-proto';
import { InvalidInputError } from '../errors/index.ts';

const { onnx } = onnxProto;

/** An artifact that is not a usable ONNX model (400 when it came from a request: the bytes will not improve). */
export class InvalidModelError extends InvalidInputError {
  constructor(message: string, options?: ErrorOptions) {
    super('artifact', message, options);
  }
}

/** metadata_props keys the trainer writes, so the registry and score can read a model's identity from the file. */
export const MetadataKeys = {
  model: 'flywheel.model',
  kind: 'flywheel.kind',
  version: 'flywheel.version',
  columns: 'flywheel.columns',
  featureSet: 'flywheel.featureSet',
} as const;

/** What the model file says about itself (ONNX header fields and metadata_props). */
export type ModelFileInfo = {
  irVersion: number;
  opsets: { domain: string; version: number }[];
  producer: string;
  metadata: Record<string, string>;
  /** Feature column names when the file carries them (`flywheel.columns`, a JSON array of strings). */
  columns: string[] | null;
};

function parseColumns(value: string | undefined): string[] | null {
  if (value === undefined) return null;
  try {
    const parsed: unknown = JSON.parse(value);
    return Array.isArray(parsed) && parsed.every((c) => typeof c === 'string') ? parsed : null;
  } catch {
    return null;
  }
}

/** Decodes the protobuf header and metadata; throws InvalidModelError when the bytes are not an ONNX model. */
export function readModelFile(bytes: Uint8Array): ModelFileInfo {
  let model: ReturnType<typeof onnx.ModelProto.decode>;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (err) {
    throw new InvalidModelError(`not an ONNX model: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err,
    });
  }
  if (!model.graph) throw new InvalidModelError('not an ONNX model: no graph');
  const metadata: Record<string, string> = {};
  for (const p of model.metadataProps) if (p.key) metadata[p.key] = p.value ?? '';
  return {
    irVersion: Number(model.irVersion),
    opsets: model.opsetImport.map((o) => ({ domain: o.domain ?? '', version: Number(o.version) })),
    producer: `${model.producerName}${model.producerVersion ? ` ${model.producerVersion}` : ''}`,
    metadata,
    columns: parseColumns(metadata[MetadataKeys.columns]),
  };
}
