// promote's admin API: move the champion (or challenger) to a version or roll it back, behind a bearer token.
import type { Context, Hono } from 'hono';
import type { z } from 'zod';
import { InvalidInputError, UnauthorizedError } from '../../shared/errors/index.ts';
import type { HistoryEntry, ModelRegistry } from '../../shared/registry/index.ts';
import { type Logger, readBody } from '../../shared/runtime/index.ts';
import { type LiveFeatureSet, signatureOf } from './measure.ts';
import { authorised, modelName } from './guard.ts';
import { openApiRoute } from './openapi.ts';
import { type ReadDeps, readRoutes } from './read.ts';
import { PromoteRequestSchema, RollbackRequestSchema } from './requests.ts';

export { authorised } from './guard.ts';
export { PromoteRequestSchema, RollbackRequestSchema } from './requests.ts';

export interface AdminDeps {
  registry: Pick<ModelRegistry, 'get' | 'alias' | 'moveAlias' | 'rollback'> & ReadDeps['registry'];
  /** PROMOTE_TOKEN; without one every admin request is refused. */
  token: string | undefined;
  /** REGISTRY_READ_TOKEN: reads the registry (so does PROMOTE_TOKEN); without either every read is refused. */
  readToken?: string | undefined;
  featureSet: LiveFeatureSet;
  log: Logger;
}

/** The realm the admin routes' 401 challenges for (RFC 6750 §3). */
const ADMIN_REALM = 'flywheel-promote';

/** A JSON body (an empty one is {}), within MAX_BODY_BYTES (413); a bad one is a 400 naming `body.<field>`. */
function body<S extends z.ZodType>(c: Context, schema: S): Promise<z.infer<S>> {
  return readBody(c, schema, { under: 'body', empty: {} });
}

const answer = (entry: HistoryEntry) => ({
  model: { name: entry.name, version: entry.to },
  alias: entry.alias,
  previous: entry.from,
  entry,
});

/**
 * Adds the admin routes, the registry's read routes (read.ts) and the OpenAPI document (openapi.ts). Both admin
 * routes check the bearer token before anything else (401 and nothing moves), then answer 413 for a body over
 * MAX_BODY_BYTES, 404 for an unknown model or version, 400 for a bad body or a version whose inputs are not the live
 * feature set, 409 when the compare-and-set on the alias is lost (or there is nothing to roll back to), 200 with the
 * history entry otherwise. Errors are thrown; the runtime's HTTP edge answers them as problem+json. Score replicas
 * pick the move up from the alias notice.
 */
export function adminRoutes(deps: AdminDeps): (app: Hono) => void {
  if (!deps.token) deps.log.warn('PROMOTE_TOKEN is not set: the admin API refuses every request');
  const guard = (c: Context): void => {
    if (!authorised(c.req.header('authorization'), deps.token)) {
      throw new UnauthorizedError('a valid bearer token is required', { realm: ADMIN_REALM });
    }
  };
  const read = readRoutes({
    registry: deps.registry,
    tokens: [deps.readToken, deps.token],
    log: deps.log,
  });
  return (app) => {
    read(app);
    openApiRoute(app);
    app.post('/v1/models/:name/promote', async (c) => {
      guard(c);
      const name = modelName(c.req.param('name'));
      const req = await body(c, PromoteRequestSchema);
      const record = await deps.registry.get(name, req.version);
      const signature = signatureOf(record, deps.featureSet);
      if (!signature.equal) {
        throw new InvalidInputError(
          'body.version',
          `v${req.version} cannot serve live rows: ${signature.differences.join('; ')}`,
        );
      }
      const entry = await deps.registry.moveAlias({
        name,
        alias: req.alias,
        to: req.version,
        ...(req.expected === undefined ? {} : { expected: req.expected }),
        actor: req.actor,
        reason: req.reason,
      });
      deps.log.info({ entry }, `${req.alias} moved through the admin API`);
      return c.json(answer(entry), 200);
    });
    app.post('/v1/models/:name/rollback', async (c) => {
      guard(c);
      const name = modelName(c.req.param('name'));
      const req = await body(c, RollbackRequestSchema);
      const entry = await deps.registry.rollback(name, { actor: req.actor, reason: req.reason });
      deps.log.info({ entry }, 'champion rolled back through the admin API');
      return c.json(answer(entry), 200);
    });
  };
}
