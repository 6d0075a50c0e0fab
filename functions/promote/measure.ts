// Gathers the gate's numbers: candidate and champion scored on the candidate's holdout and timed side by side.
import type { OnnxModel } from '../../shared/inference/onnx.ts';
import { assignSegment, scoreRisk } from '../../shared/inference/scoring.ts';
import type { Holdout, ModelRegistry, ModelVersion } from '../../shared/registry/index.ts';
import { brierScore, rocAuc } from '../../shared/training/metrics.ts';
import { graphCost } from './cost.ts';
import type { HoldoutMetrics, Measurements, SignatureMeasurement } from './gate.ts';
import { attempt, type LatencyPlan, latencyOf, type Opened, type Unavailable } from './latency.ts';

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
  /**
   * The latency run: after `warmup` untimed single-row runs of each model, `rounds` rounds in which the candidate
   * and the champion each make `runs` timed single-row runs, taking turns to go first.
   */
  latency: LatencyPlan;
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

/** Loads the candidate and the champion (when there is one), runs `fn` with both, and closes both after. */
async function withModels<T>(input: {
  candidate: ModelVersion;
  champion: ModelVersion | null;
  deps: MeasureDeps;
  fn: (candidate: Opened | Unavailable, champion: Opened | Unavailable | null) => Promise<T>;
}): Promise<T> {
  const { deps } = input;
  const open = (record: ModelVersion) =>
    attempt(record, async (): Promise<Opened> => {
      const bytes = await deps.registry.artifact(record.name, record.version);
      return { record, model: await deps.load(bytes), cost: graphCost(bytes) };
    });
  const opened: (Opened | Unavailable)[] = [];
  try {
    const candidate = await open(input.candidate);
    opened.push(candidate);
    const champion = input.champion ? await open(input.champion) : null;
    if (champion) opened.push(champion);
    return await input.fn(candidate, champion);
  } finally {
    for (const o of opened) if ('model' in o) await o.model.close();
  }
}

/** A model's timing rows: its holdout rows in its own columns, else one all-zero row (cost does not depend on values). */
function timingRows(record: ModelVersion, holdout: Holdout | null): { rows: Float32Array; width: number } {
  const columns = record.lineage.featureSet.columns;
  const rows = holdout && holdout.rows.length > 0 ? rowsFor(holdout, columns) : null;
  return rows instanceof Float32Array
    ? { rows, width: columns.length }
    : { rows: new Float32Array(record.signature.width), width: record.signature.width };
}

/** ROC AUC and Brier of a loaded model on the holdout rows, in its own columns. */
async function holdoutMetrics(opened: Opened | Unavailable, holdout: Holdout): Promise<HoldoutMetrics> {
  if (!('model' in opened)) return opened;
  const rows = rowsFor(holdout, opened.record.lineage.featureSet.columns);
  if (typeof rows === 'string') return { unavailable: rows };
  return attempt(opened.record, async () => {
    const scores = await scoreRisk(opened.model, rows, holdout.rows.length);
    return { auc: rocAuc(holdout.labels, scores), brier: brierScore(holdout.labels, scores) };
  });
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
  return withModels({
    candidate,
    champion,
    deps,
    fn: async (own, theirs) => {
      const none = { unavailable: 'no holdout is stored with the candidate' };
      const metrics = (o: Opened | Unavailable) => (holdout ? holdoutMetrics(o, holdout) : none);
      const candidateMetrics = await metrics(own);
      const championMetrics = theirs ? await metrics(theirs) : null;
      const latency = await latencyAgainst({ own, theirs, champion, holdout, deps });
      return {
        kind: 'risk',
        signature,
        holdout: summary,
        candidate: candidateMetrics,
        champion:
          champion && championMetrics ? { version: champion.version, metrics: championMetrics } : null,
        latency,
      };
    },
  });
}

/** Times the candidate against the champion (when both could be opened), single rows from the holdout. */
function latencyAgainst(input: {
  own: Opened | Unavailable;
  theirs: Opened | Unavailable | null;
  champion: ModelVersion | null;
  holdout: Parameters<typeof timingRows>[1];
  deps: MeasureDeps;
}) {
  const { own, theirs, champion, holdout, deps } = input;
  return latencyOf({
    candidate: own,
    champion: champion && theirs ? { version: champion.version, opened: theirs } : null,
    rowsOf: (record) => timingRows(record, holdout),
    plan: deps.latency,
  });
}

async function measureSegment(
  candidate: ModelVersion,
  championVersion: number | null,
  deps: MeasureDeps,
): Promise<Measurements> {
  const holdout = await deps.registry.holdout(candidate.name, candidate.version);
  const champion = championVersion === null ? null : await deps.registry.get(candidate.name, championVersion);
  const rows = holdout ? rowsFor(holdout, candidate.lineage.featureSet.columns) : null;
  return withModels({
    candidate,
    champion,
    deps,
    fn: async (opened, theirs) => {
      let own = opened;
      // The candidate must assign a batch, as score's batch route asks of it, before it is timed.
      if ('model' in own && rows instanceof Float32Array && holdout && holdout.rows.length > 0) {
        const model = own.model;
        const ran = await attempt(candidate, () => assignSegment(model, rows, holdout.rows.length));
        if ('unavailable' in ran) own = ran;
      }
      const latency = await latencyAgainst({ own, theirs, champion, holdout, deps });
      return {
        kind: 'segment',
        signature: signatureOf(candidate, deps.featureSet),
        silhouette: candidate.lineage.metrics.silhouette ?? null,
        champion: championVersion === null ? null : { version: championVersion },
        latency,
      };
    },
  });
}

/**
 * Measures a candidate for the gate. Risk: both models score the candidate's holdout rows (each through its own
 * columns, by name), ROC AUC and Brier from shared/training/metrics. Segment: the lineage silhouette. Both: the
 * candidate and the champion timed single-row in one interleaved run, with each graph's work per row. Store
 * failures reject (retriable); a model that cannot be loaded or run becomes an unavailable metric, so the
 * candidate is rejected with the reason.
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
