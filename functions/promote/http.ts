// promote's admin API: move the champion to a version or roll it back, behind a bearer token.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Context, Hono } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { z } from 'zod';
import {
  FlywheelError,
  InvalidEventError,
  NotFoundError,
  UnauthorizedError,
} from '../../shared/errors/index.ts';
import { MODEL_NAMES, type ModelName } from '../../shared/events/index.ts';
import type { HistoryEntry, ModelRegistry } from '../../shared/registry/index.ts';
import { type Logger, PROBLEM_CONTENT_TYPE, problemOf } from '../../shared/runtime/index.ts';
import { type LiveFeatureSet, signatureOf } from './measure.ts';

export interface AdminDeps {
  registry: Pick<ModelRegistry, 'get' | 'alias' | 'moveAlias' | 'rollback'>;
  /** PROMOTE_TOKEN; without one every admin request is refused. */
  token: string | undefined;
  featureSet: LiveFeatureSet;
  log: Logger;
}

const actor = z.string().trim().min(1).max(100).default('operator');
const reason = z.string().trim().min(1).max(500);
const expected = z.number().int().positive().nullable().optional();

/** POST /v1/models/{name}/promote body: the version to make champion, optionally the champion expected now. */
export const PromoteRequestSchema = z.object({
  version: z.number().int().positive(),
  expected,
  actor,
  reason: reason.default('promoted through the admin API'),
});

/** POST /v1/models/{name}/rollback body (may be empty). */
export const RollbackRequestSchema = z.object({
  actor,
  reason: reason.default('rolled back through the admin API'),
});

const digest = (text: string): Buffer => createHash('sha256').update(text).digest();

/**
 * Checks `Authorization: Bearer <token>` against the configured token in constant time (both sides hashed to
 * the same length first, so neither the content nor the length leaks through timing).
 */
export function authorised(header: string | undefined, token: string | undefined): boolean {
  if (token === undefined || token === '' || header === undefined) return false;
  const match = /^Bearer[ ]+(\S+)[ ]*$/i.exec(header);
  if (!match?.[1]) return false;
  return timingSafeEqual(digest(match[1]), digest(token));
}

function problem(c: Context, err: unknown, log: Logger): Response {
  const p = problemOf(err);
  if (!(err instanceof FlywheelError)) log.error({ err }, 'admin request failed');
  const headers: Record<string, string> = { 'content-type': PROBLEM_CONTENT_TYPE };
  if (err instanceof UnauthorizedError) headers['www-authenticate'] = 'Bearer realm="flywheel-promote"';
  return c.body(JSON.stringify(p), p.status as ContentfulStatusCode, headers);
}

function modelName(value: string): ModelName {
  const name = MODEL_NAMES.find((m) => m === value);
  if (!name) throw new NotFoundError(`no model named ${value}`);
  return name;
}

/** Parses a JSON body (an empty body is {}); a bad one is a 400 naming the field. */
async function body<S extends z.ZodType>(c: Context, schema: S): Promise<z.infer<S>> {
  const text = await c.req.text();
  let json: unknown = {};
  if (text.trim() !== '') {
    try {
      json = JSON.parse(text);
    } catch (cause) {
      throw new InvalidEventError('body', 'the body is not JSON', { cause });
    }
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.map(String).join('.') ?? '';
    throw new InvalidEventError(field === '' ? 'body' : `body.${field}`, issue?.message ?? 'invalid body');
  }
  return parsed.data;
}

const answer = (entry: HistoryEntry) => ({
  model: { name: entry.name, version: entry.to },
  alias: entry.alias,
  previous: entry.from,
  entry,
});

/**
 * Adds the admin routes. Both check the bearer token before anything else (401 and nothing moves), then answer
 * 404 for an unknown model or version, 400 for a bad body or a version whose inputs are not the live feature set,
 * 409 when the compare-and-set on the alias is lost (or there is nothing to roll back to), 200 with the history
 * entry otherwise. Score replicas pick the move up from the alias notice.
 */
export function adminRoutes(deps: AdminDeps): (app: Hono) => void {
  if (!deps.token) deps.log.warn('PROMOTE_TOKEN is not set: the admin API refuses every request');
  const guard = (c: Context): void => {
    if (!authorised(c.req.header('authorization'), deps.token)) {
      throw new UnauthorizedError('a valid bearer token is required');
    }
  };
  return (app) => {
    app.post('/v1/models/:name/promote', async (c) => {
      try {
        guard(c);
        const name = modelName(c.req.param('name'));
        const req = await body(c, PromoteRequestSchema);
        const record = await deps.registry.get(name, req.version);
        const signature = signatureOf(record, deps.featureSet);
        if (!signature.equal) {
          throw new InvalidEventError(
            'body.version',
            `v${req.version} cannot serve live rows: ${signature.differences.join('; ')}`,
          );
        }
        const entry = await deps.registry.moveAlias({
          name,
          alias: 'champion',
          to: req.version,
          ...(req.expected === undefined ? {} : { expected: req.expected }),
          actor: req.actor,
          reason: req.reason,
        });
        deps.log.info({ entry }, 'champion moved through the admin API');
        return c.json(answer(entry), 200);
      } catch (err) {
        return problem(c, err, deps.log);
      }
    });
    app.post('/v1/models/:name/rollback', async (c) => {
      try {
        guard(c);
        const name = modelName(c.req.param('name'));
        const req = await body(c, RollbackRequestSchema);
        const entry = await deps.registry.rollback(name, { actor: req.actor, reason: req.reason });
        deps.log.info({ entry }, 'champion rolled back through the admin API');
        return c.json(answer(entry), 200);
      } catch (err) {
        return problem(c, err, deps.log);
      }
    });
  };
}
