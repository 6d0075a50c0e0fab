// Trigger filter semantics: spec.filter.attributes (exact match) and spec.filters (exact, prefix, suffix, all, any, not).
import { z } from 'zod';

/** Context attributes of one event, extensions included, as strings (CloudEvents §3: every attribute has a string form). */
export type Attributes = Readonly<Record<string, string | undefined>>;

/** A compiled filter: true when the event should go to the trigger's subscriber. */
export type Predicate = (attrs: Attributes) => boolean;

/** One expression of `spec.filters` (the CloudEvents Subscriptions API filter dialects Knative implements). */
export interface FilterExpression {
  exact?: Record<string, string> | undefined;
  prefix?: Record<string, string> | undefined;
  suffix?: Record<string, string> | undefined;
  all?: FilterExpression[] | undefined;
  any?: FilterExpression[] | undefined;
  not?: FilterExpression | undefined;
  cesql?: string | undefined;
}

/** Knative's rule for attribute names in filters: lower-case alphanumerics starting with a letter. */
const ATTRIBUTE_NAME = /^[a-z][a-z0-9]*$/;
const DIALECTS = ['exact', 'prefix', 'suffix', 'all', 'any', 'not', 'cesql'] as const;
const STRING_DIALECTS = ['exact', 'prefix', 'suffix'] as const;

/**
 * The schema of one filter expression, with the checks Knative's webhook makes (one dialect per expression,
 * exactly one attribute in exact/prefix/suffix, non-empty values, non-empty all/any) so a bad trigger fails at load
 * instead of silently matching nothing. CESQL is refused with a message saying so.
 */
export const FilterExpressionSchema: z.ZodType<FilterExpression> = z.lazy(() =>
  z
    .object({
      exact: z.record(z.string(), z.string()).optional(),
      prefix: z.record(z.string(), z.string()).optional(),
      suffix: z.record(z.string(), z.string()).optional(),
      all: z.array(FilterExpressionSchema).optional(),
      any: z.array(FilterExpressionSchema).optional(),
      not: FilterExpressionSchema.optional(),
      cesql: z.string().optional(),
    })
    .strict()
    .superRefine((expr, ctx) => {
      const present = DIALECTS.filter((d) => expr[d] !== undefined);
      if (present.length !== 1) {
        ctx.addIssue({
          code: 'custom',
          message: `a filter expression uses exactly one dialect (exact, prefix, suffix, all, any, not); found ${present.length === 0 ? 'none' : present.join(', ')}`,
        });
        return;
      }
      if (expr.cesql !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['cesql'],
          message:
            'CESQL filters are not supported by the local broker; express the filter with exact, prefix, suffix, all, any or not',
        });
      }
      for (const d of STRING_DIALECTS) {
        const map = expr[d];
        if (!map) continue;
        const keys = Object.keys(map);
        if (keys.length !== 1)
          ctx.addIssue({
            code: 'custom',
            path: [d],
            message: `${d} takes exactly one attribute, got ${keys.length}`,
          });
        for (const k of keys) {
          if (!ATTRIBUTE_NAME.test(k))
            ctx.addIssue({ code: 'custom', path: [d, k], message: `invalid attribute name "${k}"` });
          if (map[k] === '')
            ctx.addIssue({
              code: 'custom',
              path: [d, k],
              message: `${d} value for "${k}" must not be empty`,
            });
        }
      }
      for (const d of ['all', 'any'] as const) {
        if (expr[d]?.length === 0)
          ctx.addIssue({ code: 'custom', path: [d], message: `${d} needs at least one nested filter` });
      }
    }),
);

/** `spec.filter.attributes`: names are checked like Knative's webhook does; the empty string matches any value. */
export const AttributesFilterSchema = z.record(
  z.string().regex(ATTRIBUTE_NAME, 'attribute names are lower-case alphanumerics starting with a letter'),
  z.string(),
);

const always: Predicate = () => true;

/**
 * Legacy attribute filter: every listed attribute must be present and equal (case-sensitive); a value of ""
 * only requires the attribute to be present (Knative's TriggerAnyFilter).
 */
export function compileAttributesFilter(attributes: Readonly<Record<string, string>>): Predicate {
  const pairs = Object.entries(attributes);
  if (pairs.length === 0) return always;
  return (attrs) => {
    for (const [name, want] of pairs) {
      const have = attrs[name];
      if (have === undefined || (want !== '' && have !== want)) return false;
    }
    return true;
  };
}

function stringMatch(map: Record<string, string>, test: (have: string, want: string) => boolean): Predicate {
  const pairs = Object.entries(map);
  return (attrs) => {
    for (const [name, want] of pairs) {
      const have = attrs[name];
      if (have === undefined || !test(have, want)) return false;
    }
    return true;
  };
}

/** Compiles one expression into a predicate; a missing attribute fails exact, prefix and suffix. */
export function compileExpression(expr: FilterExpression): Predicate {
  if (expr.exact) return stringMatch(expr.exact, (have, want) => have === want);
  if (expr.prefix) return stringMatch(expr.prefix, (have, want) => have.startsWith(want));
  if (expr.suffix) return stringMatch(expr.suffix, (have, want) => have.endsWith(want));
  if (expr.all) return compileFilters(expr.all);
  if (expr.any) {
    const list = expr.any.map(compileExpression);
    return (attrs) => list.some((p) => p(attrs));
  }
  if (expr.not) {
    const inner = compileExpression(expr.not);
    return (attrs) => !inner(attrs);
  }
  if (expr.cesql !== undefined) throw new Error('CESQL filters are not supported by the local broker');
  return always;
}

/** `spec.filters`: every expression must pass (an empty list passes everything). */
export function compileFilters(list: readonly FilterExpression[]): Predicate {
  const compiled = list.map(compileExpression);
  if (compiled.length === 0) return always;
  if (compiled.length === 1) return compiled[0] ?? always;
  return (attrs) => compiled.every((p) => p(attrs));
}

/**
 * A Trigger's filter as Knative's broker builds it: `spec.filters` when it is non-empty, otherwise
 * `spec.filter.attributes`, otherwise everything passes.
 */
export function compileTriggerFilter(spec: {
  filter?: { attributes?: Readonly<Record<string, string>> | undefined } | undefined;
  filters?: readonly FilterExpression[] | undefined;
}): Predicate {
  if (spec.filters && spec.filters.length > 0) return compileFilters(spec.filters);
  if (spec.filter?.attributes) return compileAttributesFilter(spec.filter.attributes);
  return always;
}
