// The admin API's request bodies, one zod schema each (the handlers parse with them; the OpenAPI document shows them).
import { z } from 'zod';
import { AliasSchema } from '../../shared/registry/schemas.ts';

const actor = z.string().trim().min(1).max(100).default('operator');
const reason = z.string().trim().min(1).max(500);
const expected = z.number().int().positive().nullable().optional();

/** POST /v1/models/{name}/promote body: the version to point the alias at, optionally the version expected now. */
export const PromoteRequestSchema = z.object({
  version: z.number().int().positive(),
  alias: AliasSchema.default('champion'),
  expected,
  actor,
  reason: reason.default('promoted through the admin API'),
});

/** POST /v1/models/{name}/rollback body (may be empty). */
export const RollbackRequestSchema = z.object({
  actor,
  reason: reason.default('rolled back through the admin API'),
});
