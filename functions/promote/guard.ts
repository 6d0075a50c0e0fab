// Shared by promote's routes: the bearer-token check, problem+json answers with their challenge, model names in paths.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { FlywheelError, NotFoundError, UnauthorizedError } from '../../shared/errors/index.ts';
import { MODEL_NAMES, type ModelName } from '../../shared/events/index.ts';
import { type Logger, PROBLEM_CONTENT_TYPE, problemOf } from '../../shared/runtime/index.ts';

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

/** The problem+json answer to `err` (401s carry the realm's challenge); `extra` adds members to the document. */
export function problem(
  c: Context,
  err: unknown,
  log: Logger,
  opts: { realm?: string; extra?: Record<string, unknown> } = {},
): Response {
  const p = { ...problemOf(err), ...opts.extra };
  if (!(err instanceof FlywheelError)) log.error({ err }, 'registry request failed');
  const headers: Record<string, string> = { 'content-type': PROBLEM_CONTENT_TYPE };
  if (err instanceof UnauthorizedError)
    headers['www-authenticate'] = `Bearer realm="${opts.realm ?? 'flywheel-promote'}"`;
  return c.body(JSON.stringify(p), p.status as ContentfulStatusCode, headers);
}

/** The model named in a path; NotFoundError for any other name. */
export function modelName(value: string): ModelName {
  const name = MODEL_NAMES.find((m) => m === value);
  if (!name) throw new NotFoundError(`no model named ${value}`);
  return name;
}
