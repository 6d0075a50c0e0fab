// The HTTP edge every app shares: bodies read within the size limit, JSON checked by zod, errors mapped to statuses once.
import type { Context, Hono, MiddlewareHandler } from 'hono';
import type { z } from 'zod';
import { FlywheelError, InvalidInputError } from '../errors/index.ts';
import { type InputOptions, parseInput } from './field-path.ts';
import type { Logger } from './logger.ts';
import { readBodyText } from './read-message.ts';
import { type Answer, errorHeaders, problemResponse } from './respond.ts';

/** How a route's errors are written; routes that set none answer RFC 9457 problem+json. */
export interface ErrorStyle {
  /** 'problem' (default): problem+json. 'plain': `{ "error": message }`, the Open Inference Protocol v2's error body. */
  body?: 'problem' | 'plain';
  /** Members added to a FlywheelError's problem document (promote's /v1/status says the registry is unreachable). */
  extra?: (err: FlywheelError) => Record<string, unknown> | undefined;
}

declare module 'hono' {
  interface ContextVariableMap {
    /** MAX_BODY_BYTES of the app, set for every request by installEdge. */
    bodyLimit?: number;
    /** The route's error style, set by errorStyle(). */
    errorStyle?: ErrorStyle;
  }
}

/**
 * Gives `app` the edge: every request knows the body limit, and the app's one error handler answers a thrown
 * FlywheelError with its status (in the route's style) and anything else with a 500 that is logged and says nothing
 * of its cause. Install it before any route, so its middleware runs for all of them.
 */
export function installEdge(app: Hono, opts: { log: Logger; maxBodyBytes: number }): void {
  app.use('*', async (c, next) => {
    c.set('bodyLimit', opts.maxBodyBytes);
    await next();
  });
  app.onError((err, c) => {
    if (!(err instanceof FlywheelError)) opts.log.error({ err, path: c.req.path }, 'request failed');
    return send(c, errorAnswer(err, c.get('errorStyle') ?? {}));
  });
}

/** Middleware that sets how the routes it guards write their errors (see ErrorStyle). */
export function errorStyle(style: ErrorStyle): MiddlewareHandler {
  return async (c, next) => {
    c.set('errorStyle', style);
    await next();
  };
}

/** The answer to a thrown error in a route's style; unknown errors are always a problem+json 500. */
export function errorAnswer(err: unknown, style: ErrorStyle = {}): Answer {
  if (!(err instanceof FlywheelError)) return problemResponse(err);
  if (style.body === 'plain') {
    return {
      status: err.status,
      headers: { 'content-type': 'application/json', ...errorHeaders(err) },
      body: JSON.stringify({ error: err.message }),
    };
  }
  return problemResponse(err, [], style.extra?.(err));
}

/** Writes an answer through hono's context (c.header skips a header whose value is absent). */
export function send(c: Context, a: Answer): Response {
  for (const [k, v] of Object.entries(a.headers)) c.header(k, v);
  return c.body(a.body, a.status);
}

/** The body as text; PayloadTooLargeError (413) past the app's MAX_BODY_BYTES. */
export function readText(c: Context): Promise<string> {
  const limit = c.get('bodyLimit');
  if (limit === undefined) throw new Error('no body limit: installEdge() was not called on this app');
  return readBodyText(c, limit);
}

/** The body as JSON (400 naming `body` when it is not); `empty` is what an empty body stands for, if it may be empty. */
export async function readJson(c: Context, opts: { empty?: unknown } = {}): Promise<unknown> {
  const text = await readText(c);
  if (opts.empty !== undefined && text.trim() === '') return opts.empty;
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw new InvalidInputError('body', 'the body must be JSON', { cause });
  }
}

/** The body parsed by `schema`: 413 past the limit, 400 for bad JSON or a field that fails (named as a dotted path). */
export async function readBody<S extends z.ZodType>(
  c: Context,
  schema: S,
  opts: InputOptions & { empty?: unknown } = {},
): Promise<z.infer<S>> {
  return parseInput(schema, await readJson(c, opts), opts);
}
