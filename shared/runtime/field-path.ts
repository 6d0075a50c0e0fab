// Bad input named by one field-path style everywhere: dotted, array indexes as segments (`inputs.0.shape`).
import type { z } from 'zod';
import { InvalidInputError } from '../errors/index.ts';

/** The field path of a zod issue path, dotted with indexes as plain segments: ['inputs', 0, 'shape'] → `inputs.0.shape`. */
export function fieldPath(path: readonly PropertyKey[]): string {
  return path.map(String).join('.');
}

export interface InputOptions {
  /**
   * What the value is called (`body`, `data`, `records.3`): fields are named under it, and a problem with the whole
   * value is named by it. Without it, fields are named from the value's own members and the whole value is `body`.
   */
  under?: string;
  /** Words put before the issue's message (dispatch says which event type's data was wrong). */
  prefix?: string;
}

/** The InvalidInputError for a failed parse: the first issue, followed into a union to the field it names. */
export function invalidInputFrom(error: z.ZodError, opts: InputOptions = {}): InvalidInputError {
  const issue = deepest(error.issues[0]);
  const under = opts.under === undefined ? [] : [opts.under];
  const field = fieldPath([...under, ...(issue?.path ?? [])]) || 'body';
  const message = `${opts.prefix ?? ''}${issue?.message ?? 'invalid input'}`;
  return new InvalidInputError(field, message, { cause: error });
}

/** `value` parsed by `schema`; InvalidInputError naming the offending field otherwise. */
export function parseInput<S extends z.ZodType>(
  schema: S,
  value: unknown,
  opts: InputOptions = {},
): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw invalidInputFrom(parsed.error, opts);
}

/** For a union that failed every branch, the issue that got furthest into the value (it names the bad field). */
function deepest(issue: z.core.$ZodIssue | undefined): z.core.$ZodIssue | undefined {
  if (issue?.code !== 'invalid_union') return issue;
  let best: z.core.$ZodIssue | undefined = issue;
  for (const branch of issue.errors) {
    for (const inner of branch) {
      const d = deepest({ ...inner, path: [...issue.path, ...inner.path] } as z.core.$ZodIssue);
      if (d && d.path.length > (best?.path.length ?? 0)) best = d;
    }
  }
  return best;
}
