// Maps what the Kubernetes client throws (API Status answers, socket errors, timeouts) onto Flywheel's errors.
import {
  ConflictError,
  DependencyError,
  ForbiddenError,
  NotFoundError,
  OverCapacityError,
  UnauthorizedError,
} from '../errors/index.ts';
import { z } from 'zod';

/** The request being made, so an error can say exactly what was refused. */
export interface K8sOperation {
  verb: 'create' | 'get' | 'list' | 'patch' | 'delete';
  resource: string;
  group: string;
  namespace: string;
  name?: string;
  server: string;
}

/** The body of a failed API call: a meta/v1 Status object. */
export const StatusSchema = z.object({
  kind: z.literal('Status'),
  status: z.string().optional(),
  message: z.string().optional(),
  reason: z.string().optional(),
  code: z.number().optional(),
});

const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
]);

const hasNumberCode = (e: unknown): e is { code: number; body?: unknown } =>
  typeof e === 'object' && e !== null && typeof (e as { code?: unknown }).code === 'number';

/**
 * Turns a client failure into the error the broker should see: 409 → ConflictError (the caller reads it as "already
 * there"), 403 → ForbiddenError naming the missing permission, 401 → UnauthorizedError, 404 → NotFoundError,
 * 429 → OverCapacityError, 5xx, refused connections and timeouts → DependencyError (503, retried). Anything else is
 * returned wrapped as it is (500).
 * A 403 stays a 403 on purpose: the Knative data plane does not redeliver it, so the event goes to the Trigger's
 * dead-letter sink at once; a missing RBAC grant needs an operator, and retrying would only repeat the denial.
 */
export function mapK8sError(err: unknown, op: K8sOperation, timeoutMs: number): Error {
  const target = `${op.resource}.${op.group}${op.name ? ` "${op.name}"` : ''} in namespace ${op.namespace}`;
  if (hasNumberCode(err)) {
    const status = parseStatus(err.body);
    const said = status?.message ? `: ${status.message}` : '';
    const code = err.code;
    if (code === 409) return new ConflictError(`${target} already exists`, { cause: err });
    if (code === 403) return new ForbiddenError(forbiddenMessage(op, status?.message), { cause: err });
    if (code === 401)
      return new UnauthorizedError(
        `the API server rejected the credentials for ${op.verb} ${target}${said}`,
        {
          cause: err,
        },
      );
    if (code === 404) return new NotFoundError(`${target} not found${said}`, { cause: err });
    if (code === 429)
      return new OverCapacityError(`API server throttled ${op.verb} ${target}${said}`, { cause: err });
    if (code >= 500)
      return new DependencyError('kubernetes', `API server answered ${code} to ${op.verb} ${target}${said}`, {
        cause: err,
      });
    return new Error(`API server answered ${code} to ${op.verb} ${target}${said}`, { cause: err });
  }
  if (isAbort(err)) {
    return new DependencyError(
      'kubernetes',
      `no answer from ${op.server} within ${timeoutMs} ms (${op.verb} ${target})`,
      {
        cause: err,
      },
    );
  }
  const sock = socketCode(err);
  if (sock) {
    return new DependencyError(
      'kubernetes',
      `API server ${op.server} unreachable (${sock}) for ${op.verb} ${target}`,
      {
        cause: err,
      },
    );
  }
  return new Error(`${op.verb} ${target} failed: ${err instanceof Error ? err.message : String(err)}`, {
    cause: err,
  });
}

/**
 * A 403 message that tells the operator what to grant, e.g. `serviceaccount flywheel/launch-training cannot create
 * jobs.batch in namespace flywheel: grant "create" on "jobs" in apiGroup "batch"`.
 */
export function forbiddenMessage(op: K8sOperation, serverMessage?: string): string {
  const who = identityOf(serverMessage);
  const base =
    `${who} cannot ${op.verb} ${op.resource}.${op.group} in namespace ${op.namespace}: ` +
    `grant "${op.verb}" on "${op.resource}" in apiGroup "${op.group}" (a Role in ${op.namespace} and a RoleBinding)`;
  return serverMessage ? `${base}; API server said: ${serverMessage}` : base;
}

/** Reads the user out of an RBAC denial (`User "system:serviceaccount:ns:name" cannot ...`). */
function identityOf(message: string | undefined): string {
  const user = message ? /User "([^"]+)"/.exec(message)?.[1] : undefined;
  if (!user) return 'this identity';
  const sa = /^system:serviceaccount:([^:]+):(.+)$/.exec(user);
  return sa ? `serviceaccount ${sa[1]}/${sa[2]}` : `user ${user}`;
}

function parseStatus(body: unknown): z.infer<typeof StatusSchema> | undefined {
  let value = body;
  if (typeof body === 'string') {
    try {
      value = JSON.parse(body) as unknown;
    } catch {
      return undefined;
    }
  }
  const parsed = StatusSchema.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}

function isAbort(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  return (
    err.name === 'AbortError' || err.name === 'TimeoutError' || (err as { type?: unknown }).type === 'aborted'
  );
}

/** The socket error code of a failed request, looking through `cause` chains (fetch wraps system errors). */
function socketCode(err: unknown): string | undefined {
  let e: unknown = err;
  for (let depth = 0; depth < 5 && typeof e === 'object' && e !== null; depth++) {
    const code = (e as { code?: unknown; errno?: unknown }).code ?? (e as { errno?: unknown }).errno;
    if (typeof code === 'string' && SOCKET_CODES.has(code)) return code;
    if ((e as { type?: unknown }).type === 'system' && typeof code === 'string') return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}
