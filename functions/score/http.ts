// score's HTTP API: POST /v1/score (by customer or by vector) and the Open Inference Protocol v2 endpoints.
import type { Context, Hono } from 'hono';
import { z } from 'zod';
import { readCompletion } from '../../shared/backfill/records.ts';
import { InvalidInputError, NotFoundError } from '../../shared/errors/index.ts';
import { MODEL_NAMES, type ModelName } from '../../shared/events/index.ts';
import { defaultVector, type FeatureSet, latestVector, vectorOf } from '../../shared/features/index.ts';
import { assignSegment, scoreRisk } from '../../shared/inference/scoring.ts';
import { errorStyle, parseInput, readBody, readJson } from '../../shared/runtime/index.ts';
import type { OnlineStore } from '../../shared/store/index.ts';
import { CandidateRequestSchema, scoreCandidate } from './candidate.ts';
import type { ModelSet } from './models.ts';
import { champions, type Scored, scoreRows } from './scorer.ts';

/** A batch of MAX_BATCH named vectors fits well within MAX_BODY_BYTES' default of 1 MiB. */
const MAX_BATCH = 1000;
const Vector = z.union([z.array(z.number()), z.record(z.string(), z.number())]);
/** The five request shapes, keyed by the one field that names them (so errors point inside the right one). */
const ScoreRequestSchemas = {
  transaction: CandidateRequestSchema,
  customerId: z.object({ customerId: z.string().min(1) }).strict(),
  customerIds: z.object({ customerIds: z.array(z.string().min(1)).min(1).max(MAX_BATCH) }).strict(),
  features: z.object({ features: Vector }).strict(),
  instances: z.object({ instances: z.array(Vector).min(1).max(MAX_BATCH) }).strict(),
};
type ScoreRequest = {
  [K in keyof typeof ScoreRequestSchemas]: z.infer<(typeof ScoreRequestSchemas)[K]>;
}[keyof typeof ScoreRequestSchemas];

function parseScoreRequest(value: unknown): ScoreRequest {
  const shape =
    value !== null && typeof value === 'object'
      ? Object.keys(value).find((k) => k in ScoreRequestSchemas)
      : undefined;
  if (shape === undefined) {
    throw new InvalidInputError('body', `expected one of ${Object.keys(ScoreRequestSchemas).join(', ')}`);
  }
  return parseInput(ScoreRequestSchemas[shape as keyof typeof ScoreRequestSchemas], value);
}

export interface ScoreHttpDeps {
  models: ModelSet;
  store: Pick<OnlineStore, 'readCustomers' | 'previewCustomerEvent' | 'readRecord'>;
  /** The feature set score computes vectors with; its version names the keys read. */
  featureSet: FeatureSet;
  /** featurize's ALLOWED_LATENESS_MS, for candidate transactions. */
  allowedLatenessMs: number;
  /** ingest's MAX_CLOCK_SKEW_MS, for candidate transactions. */
  maxClockSkewMs: number;
  now: () => number;
}

/**
 * Adds /v1/score and /v2/... to the function's app. Errors are thrown and answered by the runtime's HTTP edge:
 * problem+json on /v1 (400 naming the field, 503 with no champion), the protocol's `{ "error": "..." }` on /v2.
 */
export function scoreRoutes(app: Hono, deps: ScoreHttpDeps): void {
  app.post('/v1/score', (c) => scoreRest(c, deps));
  // Which feature-set version this replica reads, and whether a backfill has filled it (rollout: featurize with
  // the new version, then `flywheel backfill`, then score with it). Informational: readiness does not wait for it.
  app.get('/v1/feature-set', async (c) => {
    const { name, version } = deps.featureSet;
    const backfill = await readCompletion(deps.store, version);
    return c.json({ name, version, backfilled: backfill !== null, backfill });
  });

  // Open Inference Protocol v2 (KServe): health, model metadata, readiness, inference.
  app.use('/v2/*', errorStyle({ body: 'plain' }));
  app.get('/v2/health/live', (c) => c.json({ live: true }));
  app.get('/v2/health/ready', (c) => {
    const ready = deps.models.ready();
    return c.json({ ready }, ready ? 200 : 400);
  });
  app.get('/v2/models/:name', async (c) => c.json(await metadata(deps, modelName(c.req.param('name')))));
  app.get('/v2/models/:name/ready', (c) => {
    const name = modelName(c.req.param('name'));
    const ready = deps.models.peek(name, 'champion') !== null;
    return c.json({ name, ready }, ready ? 200 : 400);
  });
  app.post('/v2/models/:name/infer', (c) => infer(c, deps, modelName(c.req.param('name'))));
}

async function scoreRest(c: Context, deps: ScoreHttpDeps): Promise<Response> {
  const req = parseScoreRequest(await readJson(c));
  const champs = await champions(deps.models);
  if ('transaction' in req) return c.json({ results: [await scoreCandidate(deps, champs, req.transaction)] });
  const columns = champs.risk.columns;
  let rows: number[][];
  let meta: { customerId?: string; defaults?: boolean }[];
  if ('customerId' in req || 'customerIds' in req) {
    const ids = 'customerId' in req ? [req.customerId] : req.customerIds;
    const state = await deps.store.readCustomers(ids, deps.featureSet);
    rows = [];
    meta = ids.map((id) => {
      const s = state.get(id);
      const v = s ? latestVector(deps.featureSet, s) : null;
      rows.push(v ?? defaultVector(deps.featureSet, deps.now()));
      return v ? { customerId: id } : { customerId: id, defaults: true };
    });
  } else {
    const instances = 'features' in req ? [req.features] : req.instances;
    rows = instances.map((v, i) => toRow(v, columns, 'features' in req ? 'features' : `instances.${i}`));
    meta = rows.map(() => ({}));
  }
  const scored = await scoreRows(champs, rows);
  return c.json({ results: scored.map((s: Scored, i) => ({ ...meta[i], ...s })) });
}

function toRow(v: number[] | Record<string, number>, columns: readonly string[], field: string): number[] {
  if (!Array.isArray(v)) return vectorOf(columns, v, field);
  if (v.length !== columns.length) {
    throw new InvalidInputError(
      field,
      `expected ${columns.length} features (${columns.join(', ')}), got ${v.length}`,
    );
  }
  v.forEach((x, i) => {
    if (!Number.isFinite(x)) throw new InvalidInputError(`${field}.${i}`, 'not a finite number');
  });
  return v;
}

const V2Input = z.object({
  name: z.string(),
  shape: z.array(z.number().int().nonnegative()).min(1).max(2),
  datatype: z.enum(['FP32', 'FP64']),
  /** Numbers, flat or one array per row: checked while they are copied into the input tensor (see tensorData). */
  data: z.array(z.unknown()),
});
const V2RequestSchema = z.object({ id: z.string().optional(), inputs: z.array(V2Input).length(1) });

async function infer(c: Context, deps: ScoreHttpDeps, name: ModelName): Promise<Response> {
  const req = await readBody(c, V2RequestSchema);
  const loaded = await deps.models.get(name, 'champion');
  if (!loaded) throw new NotFoundError(`model ${name} has no champion loaded`);
  const input = req.inputs[0] as z.infer<typeof V2Input>;
  const width = loaded.columns.length;
  const nRows = input.shape.length === 2 ? (input.shape[0] ?? 0) : 1;
  const declaredWidth = input.shape.length === 2 ? input.shape[1] : input.shape[0];
  if (declaredWidth !== width)
    throw new InvalidInputError('inputs.0.shape', `model ${name} takes [N, ${width}]`);
  const rows = tensorData(input.data, nRows * width);
  const output =
    name === 'risk'
      ? {
          name: 'probability',
          shape: [nRows, 1],
          datatype: 'FP32',
          data: Array.from(await scoreRisk(loaded.model, rows, nRows)),
        }
      : {
          name: 'segment',
          shape: [nRows],
          datatype: 'INT64',
          data: Array.from(await assignSegment(loaded.model, rows, nRows)),
        };
  return c.json({
    model_name: name,
    model_version: String(loaded.version),
    ...(req.id ? { id: req.id } : {}),
    outputs: [output],
  });
}

/**
 * The v2 `data` as the input tensor: finite numbers, flat or one array of numbers per row, exactly `size` of them;
 * InvalidInputError naming `inputs.0.data` (and the element) otherwise. One pass, no intermediate arrays.
 */
function tensorData(data: readonly unknown[], size: number): Float32Array {
  const out = new Float32Array(size);
  let n = 0;
  const put = (x: unknown, path: string) => {
    if (typeof x !== 'number' || !Number.isFinite(x))
      throw new InvalidInputError(path, `${path} must be a finite number`);
    if (n < size) out[n] = x;
    n++;
  };
  for (const [i, x] of data.entries()) {
    if (!Array.isArray(x)) put(x, `inputs.0.data.${i}`);
    else for (const [j, y] of x.entries()) put(y, `inputs.0.data.${i}.${j}`);
  }
  if (n !== size) throw new InvalidInputError('inputs.0.data', `shape needs ${size} values, got ${n}`);
  return out;
}

async function metadata(deps: ScoreHttpDeps, name: ModelName) {
  const loaded = await deps.models.get(name, 'champion');
  if (!loaded) throw new NotFoundError(`model ${name} has no champion loaded`);
  return {
    name,
    versions: [String(loaded.version)],
    platform: 'onnxruntime',
    inputs: [{ name: loaded.model.inputName, datatype: 'FP32', shape: [-1, loaded.columns.length] }],
    outputs:
      name === 'risk'
        ? [{ name: 'probability', datatype: 'FP32', shape: [-1, 1] }]
        : [{ name: 'segment', datatype: 'INT64', shape: [-1] }],
    parameters: { columns: loaded.columns, featureSet: loaded.featureSet },
  };
}

function modelName(raw: string): ModelName {
  if (!(MODEL_NAMES as readonly string[]).includes(raw))
    throw new NotFoundError(`unknown model ${raw}; known: ${MODEL_NAMES.join(', ')}`);
  return raw as ModelName;
}
