// Gathers the gate's numbers: candidate and champion scored on the candidate's holdout with onnxruntime-node.
import { isRetriable } from '../../shared/errors/index.ts';
import type { OnnxModel } from '../../shared/inference/onnx.ts';
import { assignSegment, scoreRisk } from '../../shared/inference/scoring.ts';
import type { Holdout, ModelRegistry, ModelVersion } from '../../shared/registry/index.ts';
import { brierScore, rocAuc } from '../../shared/training/metrics.ts';
import type { HoldoutMetrics, Measurements, SignatureMeasurement } from './gate.ts';

/** The feature set the live pipeline computes (shared/features customerFeatures in production). */
export interface LiveFeatureSet {
  name: string;
  version: string;
  columns: readonly string[];
}

export interface MeasureDeps {
  registry: Pick<ModelRegistry, 'get' | 'artifact' | 'holdout'>;
  /** Loads ONNX bytes into a session (loadOnnxModel). */
  load: (bytes: Uint8Array) => Promise<OnnxModel>;
  featureSet: LiveFeatureSet;
  /** Single-row runs timed for the latency check, after `warmup` untimed ones. */
  latencyRuns: number;
  latencyWarmup: number;
}

/**
 * Compares a version's inputs with the live feature set: same name and version; a risk model takes exactly the
 * live columns in order (its rows are the live vectors), a segment model a subset of them (score feeds it its own
 * columns by name); and the ONNX width equals the model's column count.
 */
export function signatureOf(candidate: ModelVersion, live: LiveFeatureSet): SignatureMeasurement {
  const fs = candidate.lineage.featureSet;
  const differences: string[] = [];
  if (fs.name !== live.name) differences.push(`feature set ${fs.name}, live ${live.name}`);
  if (fs.version !== live.version)
    differences.push(`feature set version ${fs.version}, live ${live.version}`);
  if (candidate.name === 'risk') {
    const at = fs.columns.findIndex((c, i) => c !== live.columns[i]);
    if (fs.columns.length !== live.columns.length || at >= 0) {
      const where = at >= 0 ? at : Math.min(fs.columns.length, live.columns.length);
      differences.push(
        `${fs.columns.length} columns, live ${live.columns.length}; first difference at position ${where} ` +
          `(${fs.columns[where] ?? 'none'} vs ${live.columns[where] ?? 'none'})`,
      );
    }
  } else {
    const unknown = fs.columns.filter((c) => !live.columns.includes(c));
    if (unknown.length > 0)
      differences.push(`columns the live pipeline does not compute: ${unknown.join(', ')}`);
  }
  if (candidate.signature.width !== fs.columns.length) {
    differences.push(
      `the model takes ${candidate.signature.width} inputs, its lineage names ${fs.columns.length} columns`,
    );
  }
  return {
    equal: differences.length === 0,
    live: `${live.name}@${live.version} (${live.columns.length} columns)`,
    candidate: `${fs.name}@${fs.version} (${fs.columns.length} columns)`,
    differences,
  };
}

/** The holdout's rows in the order of `columns`, row-major float32; a string says which column is missing. */
function rowsFor(holdout: Holdout, columns: readonly string[]): Float32Array | string {
  const index = columns.map((c) => holdout.columns.indexOf(c));
  const missing = columns.find((_, i) => (index[i] ?? -1) < 0);
  if (missing !== undefined) return `the holdout has no column ${missing}`;
  const out = new Float32Array(holdout.rows.length * columns.length);
  holdout.rows.forEach((row, r) => {
    index.forEach((c, j) => {
      out[r * columns.length + j] = row[c] ?? Number.NaN;
    });
  });
  return out;
}

/** p99 of `runs` single-row inferences over the rows in turn, in ms, after `warmup` untimed runs. */
async function singleRowP99(
  model: OnnxModel,
  rows: Float32Array,
  width: number,
  deps: MeasureDeps,
): Promise<number> {
  const n = Math.max(1, Math.floor(rows.length / width));
  const row = (i: number) => rows.subarray((i % n) * width, ((i % n) + 1) * width);
  for (let i = 0; i < deps.latencyWarmup; i++) await model.run(row(i), 1);
  const times: number[] = [];
  for (let i = 0; i < deps.latencyRuns; i++) {
    const started = performance.now();
    await model.run(row(i), 1);
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return times[Math.min(times.length - 1, Math.ceil(times.length * 0.99) - 1)] ?? Number.NaN;
}

/** Runs `fn` with a loaded version, closing the session after; a non-retriable failure becomes a reason. */
async function withModel<T>(input: {
  record: ModelVersion;
  deps: MeasureDeps;
  fn: (model: OnnxModel) => Promise<T>;
}): Promise<T | { unavailable: string }> {
  const { record, deps } = input;
  let model: OnnxModel | null = null;
  try {
    model = await deps.load(await deps.registry.artifact(record.name, record.version));
    return await input.fn(model);
  } catch (err) {
    if (isRetriable(err)) throw err;
    return {
      unavailable: `${record.name} v${record.version}: ${err instanceof Error ? err.message : String(err)}`,
    };
  } finally {
    await model?.close();
  }
}

async function holdoutMetrics(input: {
  record: ModelVersion;
  holdout: Holdout;
  deps: MeasureDeps;
  timed: boolean;
}): Promise<{ metrics: HoldoutMetrics; p99Ms: number | null }> {
  const { record, holdout, deps } = input;
  const columns = record.lineage.featureSet.columns;
  const rows = rowsFor(holdout, columns);
  if (typeof rows === 'string') return { metrics: { unavailable: rows }, p99Ms: null };
  const result = await withModel({
    record,
    deps,
    fn: async (model) => {
      const scores = await scoreRisk(model, rows, holdout.rows.length);
      const metrics = { auc: rocAuc(holdout.labels, scores), brier: brierScore(holdout.labels, scores) };
      const p99Ms = input.timed ? await singleRowP99(model, rows, columns.length, deps) : null;
      return { metrics, p99Ms };
    },
  });
  return 'unavailable' in result ? { metrics: result, p99Ms: null } : result;
}

async function measureRisk(
  candidate: ModelVersion,
  championVersion: number | null,
  deps: MeasureDeps,
): Promise<Measurements> {
  const signature = signatureOf(candidate, deps.featureSet);
  const holdout = await deps.registry.holdout(candidate.name, candidate.version);
  const positives = holdout?.labels.filter((y) => y === 1).length ?? 0;
  const summary = { rows: holdout?.rows.length ?? 0, positives };
  const champion = championVersion === null ? null : await deps.registry.get(candidate.name, championVersion);
  if (!holdout) {
    const none = { unavailable: 'no holdout is stored with the candidate' };
    const p99Ms = await latencyWithoutHoldout(candidate, deps);
    return {
      kind: 'risk',
      signature,
      holdout: summary,
      candidate: none,
      champion: champion ? { version: champion.version, metrics: none } : null,
      p99Ms,
    };
  }
  const own = await holdoutMetrics({ record: candidate, holdout, deps, timed: true });
  const theirs = champion ? await holdoutMetrics({ record: champion, holdout, deps, timed: false }) : null;
  return {
    kind: 'risk',
    signature,
    holdout: summary,
    candidate: own.metrics,
    champion: champion && theirs ? { version: champion.version, metrics: theirs.metrics } : null,
    p99Ms: own.p99Ms,
  };
}

/** Latency on an all-zero row, for a model without holdout rows (the graphs' cost does not depend on values). */
async function latencyWithoutHoldout(record: ModelVersion, deps: MeasureDeps): Promise<number | null> {
  const width = record.signature.width;
  const result = await withModel({
    record,
    deps,
    fn: (model) => singleRowP99(model, new Float32Array(width), width, deps),
  });
  return typeof result === 'number' ? result : null;
}

async function measureSegment(
  candidate: ModelVersion,
  championVersion: number | null,
  deps: MeasureDeps,
): Promise<Measurements> {
  const holdout = await deps.registry.holdout(candidate.name, candidate.version);
  const columns = candidate.lineage.featureSet.columns;
  const rows = holdout ? rowsFor(holdout, columns) : null;
  let p99Ms: number | null;
  if (rows instanceof Float32Array && holdout && holdout.rows.length > 0) {
    const result = await withModel({
      record: candidate,
      deps,
      fn: async (model) => {
        await assignSegment(model, rows, holdout.rows.length);
        return singleRowP99(model, rows, columns.length, deps);
      },
    });
    p99Ms = typeof result === 'number' ? result : null;
  } else {
    p99Ms = await latencyWithoutHoldout(candidate, deps);
  }
  return {
    kind: 'segment',
    signature: signatureOf(candidate, deps.featureSet),
    silhouette: candidate.lineage.metrics.silhouette ?? null,
    champion: championVersion === null ? null : { version: championVersion },
    p99Ms,
  };
}

/**
 * Measures a candidate for the gate. Risk: both models score the candidate's holdout rows (each through its own
 * columns, by name), ROC AUC and Brier from shared/training/metrics, and the candidate's p99 single-row latency.
 * Segment: the lineage silhouette and the latency. Store failures reject (retriable); a model that cannot be
 * loaded or run becomes an unavailable metric, so the candidate is rejected with the reason.
 */
export function measure(input: {
  candidate: ModelVersion;
  championVersion: number | null;
  deps: MeasureDeps;
}): Promise<Measurements> {
  const { candidate, championVersion, deps } = input;
  return candidate.name === 'risk'
    ? measureRisk(candidate, championVersion, deps)
    : measureSegment(candidate, championVersion, deps);
}
