// The model registry on the online store: versions with lineage, artifacts, aliases moved by compare-and-set, history.
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ConflictError, InvalidInputError, NotFoundError } from '../errors/index.ts';
import type { ModelName } from '../events/index.ts';
import { MetadataKeys } from '../inference/model-file.ts';
import { describeSignature } from '../inference/onnx.ts';
import { checkSignature } from '../inference/scoring.ts';
import type { RegistryStore } from '../store/index.ts';
import {
  type Alias,
  type AliasNotice,
  AliasNoticeSchema,
  type Artifact,
  type HistoryEntry,
  HistoryEntrySchema,
  type Holdout,
  HoldoutSchema,
  type Lineage,
  LineageSchema,
  type ModelVersion,
  ModelVersionSchema,
} from './schemas.ts';

/** What an ONNX file declares about its input and outputs, as the registry records it. */
export interface Signature {
  inputName: string;
  width: number;
  outputs: string[];
}

/** Reads and checks an ONNX file for a model of `kind` on `columns`; rejects with the reasons it cannot be served. */
export async function inspectOnnx(
  bytes: Uint8Array,
  kind: ModelName,
  columns: readonly string[],
): Promise<Signature> {
  const signature = await describeSignature(bytes);
  const check = checkSignature({ signature, kind, columns });
  const declared = signature.file.metadata[MetadataKeys.kind];
  const reasons = check.kind === 'incompatible' ? [...check.reasons] : [];
  if (declared !== undefined && declared !== kind)
    reasons.push(`the file declares itself a ${declared} model`);
  if (reasons.length > 0) throw new Error(reasons.join('; '));
  return {
    inputName: signature.inputName,
    width: signature.inputWidth ?? columns.length,
    outputs: signature.outputs.map((o) => o.name),
  };
}

export interface RegistryOptions {
  store: RegistryStore;
  /** Reads and checks an ONNX file's signature (default: {@link inspectOnnx} with onnxruntime-node). */
  inspect?: (bytes: Uint8Array, kind: ModelName, columns: readonly string[]) => Promise<Signature>;
  /** Artifacts larger than this go to `artifactDir` as files (URI); smaller ones are kept in the store. */
  inlineLimitBytes?: number;
  artifactDir?: string;
  now?: () => number;
}

export interface RegisterInput {
  name: ModelName;
  artifact: Uint8Array;
  lineage: Lineage;
  holdout?: Holdout;
}

export interface MoveAliasInput {
  name: ModelName;
  alias: Alias;
  /** The version to point at; null clears the alias. */
  to: number | null;
  /** The version the caller believes is current (compare-and-set); undefined = read it now. */
  expected?: number | null;
  actor: string;
  reason: string;
  rollback?: boolean;
}

/** Model versions, aliases and their history, shared by every function through the online store. */
export class ModelRegistry {
  readonly #store: RegistryStore;
  readonly #opts: Required<Pick<RegistryOptions, 'inlineLimitBytes' | 'now' | 'inspect'>> & RegistryOptions;

  constructor(opts: RegistryOptions) {
    this.#store = opts.store;
    this.#opts = { inlineLimitBytes: 4 * 1024 * 1024, now: Date.now, inspect: inspectOnnx, ...opts };
  }

  /**
   * Registers a new version: checks the lineage and the ONNX signature against the lineage's feature set (the
   * input width must equal the number of feature columns), stores the artifact, and returns the new record.
   */
  async register(input: RegisterInput): Promise<ModelVersion> {
    const lineage = LineageSchema.parse(input.lineage);
    let signature: Signature;
    try {
      signature = await this.#opts.inspect(input.artifact, input.name, lineage.featureSet.columns);
    } catch (cause) {
      const fs = `${lineage.featureSet.name}@${lineage.featureSet.version}`;
      throw new InvalidInputError(
        'artifact',
        `cannot serve this file as ${input.name} on ${fs}: ${(cause as Error).message}`,
        {
          cause,
        },
      );
    }
    const holdout = input.holdout ? HoldoutSchema.parse(input.holdout) : undefined;
    const version = await this.#store.nextModelVersion(input.name);
    const { artifact, inline } = await this.#placeArtifact(input.name, version, input.artifact);
    const record: ModelVersion = ModelVersionSchema.parse({
      name: input.name,
      version,
      createdAt: this.#opts.now(),
      lineage,
      artifact,
      signature,
      hasHoldout: holdout !== undefined,
    });
    await this.#store.writeModelVersion({
      model: input.name,
      version,
      record: JSON.stringify(record),
      ...(holdout ? { holdout: JSON.stringify(holdout) } : {}),
      ...(inline ? { artifact: inline } : {}),
    });
    return record;
  }

  /** One version's record; NotFoundError when it does not exist. */
  async get(name: ModelName, version: number): Promise<ModelVersion> {
    const raw = await this.#store.readModelVersion(name, version);
    if (raw === null) throw new NotFoundError(`model ${name} has no version ${version}`);
    return ModelVersionSchema.parse(JSON.parse(raw));
  }

  /** Every version of a model, oldest first. */
  async list(name: ModelName): Promise<ModelVersion[]> {
    const versions = await this.#store.listModelVersions(name);
    return Promise.all(versions.map((v) => this.get(name, v)));
  }

  /** The artifact bytes of a version, checked against the recorded SHA-256. */
  async artifact(name: ModelName, version: number): Promise<Uint8Array> {
    const record = await this.get(name, version);
    const bytes =
      record.artifact.kind === 'inline'
        ? await this.#store.readModelArtifact(name, version)
        : new Uint8Array(await readFile(record.artifact.uri));
    if (!bytes) throw new NotFoundError(`artifact of ${name} v${version} is missing`);
    if (sha256(bytes) !== record.artifact.sha256)
      throw new ConflictError(`artifact of ${name} v${version} is corrupt`);
    return bytes;
  }

  /** The holdout set kept with a version, or null. */
  async holdout(name: ModelName, version: number): Promise<Holdout | null> {
    const raw = await this.#store.readModelHoldout(name, version);
    return raw === null ? null : HoldoutSchema.parse(JSON.parse(raw));
  }

  /** The version an alias points at, or null. */
  async alias(name: ModelName, alias: Alias): Promise<number | null> {
    const raw = await this.#store.readAlias(name, alias);
    return raw === null || raw === '' ? null : Number(raw);
  }

  /**
   * Moves an alias atomically (compare-and-set on the expected current version), appends the history entry and
   * announces the move on the alias channel, all in one store operation. ConflictError when another move won.
   */
  async moveAlias(input: MoveAliasInput): Promise<HistoryEntry> {
    if (input.to !== null) await this.get(input.name, input.to);
    const expected =
      input.expected === undefined ? await this.alias(input.name, input.alias) : input.expected;
    const entry: HistoryEntry = HistoryEntrySchema.parse({
      at: this.#opts.now(),
      name: input.name,
      alias: input.alias,
      from: expected,
      to: input.to,
      actor: input.actor,
      reason: input.reason,
      rollback: input.rollback ?? false,
    });
    const notice: AliasNotice = {
      name: input.name,
      alias: input.alias,
      version: input.to,
      previous: expected,
    };
    const moved = await this.#store.moveAlias({
      model: input.name,
      alias: input.alias,
      expected: expected === null ? null : String(expected),
      next: input.to === null ? '' : String(input.to),
      historyEntry: JSON.stringify(entry),
      notice: JSON.stringify(notice),
    });
    if (!moved) {
      const now = await this.alias(input.name, input.alias);
      throw new ConflictError(
        `${input.name} ${input.alias} is at ${now ?? 'none'}, not ${expected ?? 'none'}: moved by someone else`,
      );
    }
    return entry;
  }

  /** The promotion history of a model, oldest first. */
  async history(name: ModelName): Promise<HistoryEntry[]> {
    const raw = await this.#store.readAliasHistory(name);
    return raw.map((r) => HistoryEntrySchema.parse(JSON.parse(r)));
  }

  /**
   * Moves the champion back to the version it replaced: the `from` of the latest forward move that brought the
   * current champion in. Repeated rollbacks walk further back. ConflictError when there is nothing to go back to.
   */
  async rollback(name: ModelName, opts: { actor: string; reason: string }): Promise<HistoryEntry> {
    const current = await this.alias(name, 'champion');
    const entries = await this.history(name);
    const target = previousChampion(entries, current);
    if (target === undefined) throw new ConflictError(`${name} has no earlier champion to roll back to`);
    return this.moveAlias({
      name,
      alias: 'champion',
      to: target,
      expected: current,
      rollback: true,
      ...opts,
    });
  }

  /** Calls `onNotice` for every alias move (from any process sharing the store) until the returned function is called. */
  async watch(onNotice: (notice: AliasNotice) => void): Promise<() => Promise<void>> {
    return this.#store.watchAliases((message) => {
      const parsed = AliasNoticeSchema.safeParse(JSON.parse(message));
      if (parsed.success) onNotice(parsed.data);
    });
  }

  /** Where a version's artifact goes: small files (or no artifact directory) into the store with the record, else a file. */
  async #placeArtifact(
    name: ModelName,
    version: number,
    bytes: Uint8Array,
  ): Promise<{ artifact: Artifact; inline?: Uint8Array }> {
    const digest = sha256(bytes);
    if (bytes.byteLength <= this.#opts.inlineLimitBytes || !this.#opts.artifactDir) {
      return { artifact: { kind: 'inline', bytes: bytes.byteLength, sha256: digest }, inline: bytes };
    }
    await mkdir(this.#opts.artifactDir, { recursive: true });
    const file = path.resolve(this.#opts.artifactDir, `${name}-v${version}-${digest.slice(0, 12)}.onnx`);
    await writeFile(file, bytes);
    return { artifact: { kind: 'uri', uri: file, bytes: bytes.byteLength, sha256: digest } };
  }
}

/** The champion before `current`, following forward moves back through the history (rollbacks skipped). */
function previousChampion(entries: readonly HistoryEntry[], current: number | null): number | undefined {
  for (let i = entries.length - 1; i >= 0; i--) {
    const e = entries[i];
    if (e && e.alias === 'champion' && !e.rollback && e.to === current) return e.from ?? undefined;
  }
  return undefined;
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
