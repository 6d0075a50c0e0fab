// promote's OpenAPI 3.1 document: every route it serves, with request and response bodies from their zod schemas.
import type { Hono } from 'hono';
import { z } from 'zod';
import { MODEL_NAMES } from '../../shared/events/index.ts';
import {
  HistoryViewSchema,
  ModelListSchema,
  ModelSummarySchema,
  MoveAnswerSchema,
  ProblemSchema,
  StatusViewSchema,
  VersionListSchema,
  VersionViewSchema,
} from '../../shared/registry/api.ts';
import { ALIASES } from '../../shared/registry/schemas.ts';
import { PromoteRequestSchema, RollbackRequestSchema } from './requests.ts';

type Security = 'read' | 'admin' | 'none';
type Param = 'name' | 'version' | 'alias';

/** One route promote serves: what the document says about it. */
export interface Operation {
  method: 'get' | 'post';
  /** OpenAPI path template (`{name}`). */
  path: string;
  operationId: string;
  summary: string;
  security: Security;
  body?: { schema: z.ZodType; required: boolean };
  ok: { status: number; description: string; schema?: z.ZodType; contentType?: string };
  /** Statuses answered with problem+json. */
  errors: readonly number[];
}

const READ_ERRORS = [401, 404, 503] as const;

/** Every route of the promote function: the runtime's, the registry's read API and the admin API. */
export const OPERATIONS: readonly Operation[] = [
  {
    method: 'post',
    path: '/',
    operationId: 'receiveEvent',
    summary: 'A CloudEvent from the broker (dev.flywheel.model.trained): judged by the promotion gate',
    security: 'none',
    body: { schema: z.looseObject({}), required: true },
    ok: { status: 200, description: 'model.promoted or model.rejected, as a binary-mode CloudEvent reply' },
    errors: [400, 409, 413, 429, 503],
  },
  {
    method: 'get',
    path: '/health/liveness',
    operationId: 'liveness',
    summary: 'The process is alive',
    security: 'none',
    ok: { status: 200, description: 'alive', schema: z.object({ status: z.literal('alive') }) },
    errors: [],
  },
  {
    method: 'get',
    path: '/health/readiness',
    operationId: 'readiness',
    summary: 'The store is reachable and the function takes requests (503 otherwise)',
    security: 'none',
    ok: { status: 200, description: 'ready', schema: z.object({ status: z.string() }) },
    errors: [],
  },
  {
    method: 'get',
    path: '/metrics',
    operationId: 'metrics',
    summary: 'Prometheus metrics',
    security: 'none',
    ok: { status: 200, description: 'the exposition format', contentType: 'text/plain' },
    errors: [],
  },
  {
    method: 'get',
    path: '/openapi.json',
    operationId: 'openapi',
    summary: 'This document',
    security: 'none',
    ok: { status: 200, description: 'OpenAPI 3.1', schema: z.looseObject({}) },
    errors: [],
  },
  {
    method: 'get',
    path: '/v1/status',
    operationId: 'status',
    summary:
      'Champions per model, version counts, the last alias move; 503 with registry.reachable false when the store is down',
    security: 'read',
    ok: { status: 200, description: 'the registry at a glance', schema: StatusViewSchema },
    errors: [401, 503],
  },
  {
    method: 'get',
    path: '/v1/models',
    operationId: 'listModels',
    summary: 'Every model with its champion, challenger and latest version',
    security: 'read',
    ok: { status: 200, description: 'the models', schema: ModelListSchema },
    errors: [401, 503],
  },
  {
    method: 'get',
    path: '/v1/models/{name}',
    operationId: 'getModel',
    summary: "One model's aliases and latest version",
    security: 'read',
    ok: { status: 200, description: 'the model', schema: ModelSummarySchema },
    errors: READ_ERRORS,
  },
  {
    method: 'get',
    path: '/v1/models/{name}/versions',
    operationId: 'listVersions',
    summary: "A model's versions, oldest first, with aliases, metrics and lineage",
    security: 'read',
    ok: { status: 200, description: 'the versions', schema: VersionListSchema },
    errors: READ_ERRORS,
  },
  {
    method: 'get',
    path: '/v1/models/{name}/versions/{version}',
    operationId: 'getVersion',
    summary: "One version's detail",
    security: 'read',
    ok: { status: 200, description: 'the version', schema: VersionViewSchema },
    errors: [400, ...READ_ERRORS],
  },
  {
    method: 'get',
    path: '/v1/models/{name}/versions/{version}/artifact',
    operationId: 'downloadArtifact',
    summary:
      'The ONNX bytes; ETag is the quoted hex SHA-256 the registry recorded, Repr-Digest the same in base64; If-None-Match answers 304',
    security: 'read',
    ok: { status: 200, description: 'the ONNX file', contentType: 'application/octet-stream' },
    errors: [400, 401, 404, 409, 503],
  },
  {
    method: 'get',
    path: '/v1/models/{name}/aliases/{alias}',
    operationId: 'getVersionByAlias',
    summary: 'The version an alias points at (404 when the alias is unset)',
    security: 'read',
    ok: { status: 200, description: 'the version', schema: VersionViewSchema },
    errors: READ_ERRORS,
  },
  {
    method: 'get',
    path: '/v1/models/{name}/history',
    operationId: 'aliasHistory',
    summary: 'Every alias move of a model, oldest first',
    security: 'read',
    ok: { status: 200, description: 'the history', schema: HistoryViewSchema },
    errors: READ_ERRORS,
  },
  {
    method: 'post',
    path: '/v1/models/{name}/promote',
    operationId: 'promote',
    summary: 'Points an alias (champion by default) at a version, compare-and-set on `expected`',
    security: 'admin',
    body: { schema: PromoteRequestSchema, required: true },
    ok: { status: 200, description: 'the move', schema: MoveAnswerSchema },
    errors: [400, 401, 404, 409, 413, 503],
  },
  {
    method: 'post',
    path: '/v1/models/{name}/rollback',
    operationId: 'rollback',
    summary: 'Moves the champion back to the version it replaced (409 when there is none)',
    security: 'admin',
    body: { schema: RollbackRequestSchema, required: false },
    ok: { status: 200, description: 'the move', schema: MoveAnswerSchema },
    errors: [400, 401, 404, 409, 413, 503],
  },
];

const PARAMETERS: Record<Param, object> = {
  name: { name: 'name', in: 'path', required: true, schema: { type: 'string', enum: [...MODEL_NAMES] } },
  version: {
    name: 'version',
    in: 'path',
    required: true,
    schema: { type: 'string', pattern: '^[1-9][0-9]{0,8}$' },
  },
  alias: { name: 'alias', in: 'path', required: true, schema: { type: 'string', enum: [...ALIASES] } },
};

const ERROR_TEXT: Record<number, string> = {
  400: 'bad request: problem+json naming the field',
  401: 'missing or wrong bearer token (WWW-Authenticate names the realm)',
  404: 'unknown model, version or unset alias',
  409: 'conflict: a lost compare-and-set, nothing to roll back to, or an artifact whose bytes do not match',
  413: 'body over MAX_BODY_BYTES',
  429: 'over capacity; retry',
  503: 'the store is down; retriable',
};

/** A zod schema as an OpenAPI 3.1 schema object (JSON Schema 2020-12 without the dialect line). */
function schemaOf(schema: z.ZodType, io: 'input' | 'output'): object {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' });
  return rest;
}

const json = (schema: z.ZodType, io: 'input' | 'output') => ({
  'application/json': { schema: schemaOf(schema, io) },
});

function operationObject(op: Operation): object {
  const params = [...op.path.matchAll(/\{(\w+)\}/g)].map((m) => PARAMETERS[m[1] as Param]);
  const responses: Record<string, object> = {
    [op.ok.status]: {
      description: op.ok.description,
      ...(op.ok.schema
        ? { content: json(op.ok.schema, 'output') }
        : op.ok.contentType
          ? { content: { [op.ok.contentType]: { schema: { type: 'string', format: 'binary' } } } }
          : {}),
    },
  };
  for (const status of op.errors)
    responses[status] = {
      description: ERROR_TEXT[status] ?? 'error',
      content: { 'application/problem+json': { schema: schemaOf(ProblemSchema, 'output') } },
    };
  return {
    operationId: op.operationId,
    summary: op.summary,
    ...(params.length > 0 ? { parameters: params } : {}),
    ...(op.body
      ? { requestBody: { required: op.body.required, content: json(op.body.schema, 'input') } }
      : {}),
    security:
      op.security === 'none' ? [] : [{ [op.security === 'read' ? 'registryRead' : 'promoteAdmin']: [] }],
    responses,
  };
}

/** The OpenAPI 3.1 document of the promote function. */
export function openApiDocument(): Record<string, unknown> {
  const paths: Record<string, Record<string, object>> = {};
  for (const op of OPERATIONS) {
    paths[op.path] ??= {};
    const item = paths[op.path];
    if (item) item[op.method] = operationObject(op);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Flywheel promote: the model registry over HTTP',
      version: '1',
      description:
        'Reads need REGISTRY_READ_TOKEN or PROMOTE_TOKEN as a bearer token; promote and rollback need PROMOTE_TOKEN. Refusals are RFC 9457 problem+json.',
    },
    components: {
      securitySchemes: {
        registryRead: { type: 'http', scheme: 'bearer', description: 'REGISTRY_READ_TOKEN or PROMOTE_TOKEN' },
        promoteAdmin: { type: 'http', scheme: 'bearer', description: 'PROMOTE_TOKEN' },
      },
    },
    paths,
  };
}

/** Serves the document at GET /openapi.json (no token: it holds no registry data). */
export function openApiRoute(app: Hono): void {
  const doc = JSON.stringify(openApiDocument());
  app.get('/openapi.json', (c) => c.body(doc, 200, { 'content-type': 'application/json' }));
}
