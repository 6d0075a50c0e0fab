// RFC 9457 problem+json bodies for every rejection, naming the offending attribute or field.
import { type ErrorStatus, FlywheelError, InvalidInputError } from '../errors/index.ts';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** The statuses a rejection is answered with: a FlywheelError's own, or 500 for anything unknown. */
export type ProblemStatus = ErrorStatus | 500;

export interface Problem {
  type: string;
  title: string;
  status: ProblemStatus;
  detail: string;
  field?: string;
  retriable: boolean;
  errors?: { index: number; field?: string; detail: string; status: number }[];
}

/** The problem document for an error; unknown errors become a retriable 500 without leaking internals. */
export function problemOf(err: unknown): Problem {
  if (err instanceof FlywheelError) {
    const p: Problem = {
      type: `https://flywheel.dev/problems/${slug(err.name)}`,
      title: err.name
        .replace(/Error$/, '')
        .replace(/([a-z])([A-Z])/g, '$1 $2')
        .toLowerCase(),
      status: err.status,
      detail: err.message,
      retriable: err.retriable,
    };
    if (err instanceof InvalidInputError) p.field = err.field;
    return p;
  }
  return {
    type: 'about:blank',
    title: 'internal error',
    status: 500,
    detail: 'unexpected error',
    retriable: true,
  };
}

/** The HTTP status of an error (Knative data-plane contract: 400 is final, 429/5xx are retried). */
export function statusOf(err: unknown): ProblemStatus {
  return err instanceof FlywheelError ? err.status : 500;
}

function slug(name: string): string {
  return name
    .replace(/Error$/, '')
    .replace(/([a-z])([A-Z])/g, '$1-$2')
    .toLowerCase();
}
