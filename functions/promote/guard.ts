// Shared by promote's routes: the bearer-token check and model names in paths.
import { createHash, timingSafeEqual } from 'node:crypto';
import { NotFoundError } from '../../shared/errors/index.ts';
import { MODEL_NAMES, type ModelName } from '../../shared/events/index.ts';

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

/** The model named in a path; NotFoundError for any other name. */
export function modelName(value: string): ModelName {
  const name = MODEL_NAMES.find((m) => m === value);
  if (!name) throw new NotFoundError(`no model named ${value}`);
  return name;
}
