// The one error hierarchy: each error knows whether a retry can help, and the runtime maps it to a status once.

/** The statuses an error is answered with; a typed union so HTTP code passes them on without casts. */
export type ErrorStatus = 400 | 401 | 403 | 404 | 409 | 413 | 429 | 503;

/** Base class: `retriable` tells the caller (and the broker) whether the same request may succeed later. */
export abstract class FlywheelError extends Error {
  abstract readonly retriable: boolean;
  /** HTTP status this error is answered with (Knative data-plane contract). */
  abstract readonly status: ErrorStatus;
  override get name(): string {
    return this.constructor.name;
  }
}

/**
 * Bad input of any kind (an event's attribute, a request body, a file, an argument): 400, never retried; `field`
 * names the offending attribute or path in the one dotted style (`data.amount`, `inputs.0.shape`).
 */
export class InvalidInputError extends FlywheelError {
  readonly retriable = false;
  readonly status = 400;
  readonly field: string;
  constructor(field: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.field = field;
  }
}

/** Request body over the configured limit: 413, never retried. */
export class PayloadTooLargeError extends FlywheelError {
  readonly retriable = false;
  readonly status = 413;
  readonly limitBytes: number;
  constructor(limitBytes: number) {
    super(`body exceeds the ${limitBytes}-byte limit`);
    this.limitBytes = limitBytes;
  }
}

/** A dependency (Redis, Kafka, the API server, K_SINK) is unavailable: 503, the broker retries with backoff. */
export class DependencyError extends FlywheelError {
  readonly retriable = true;
  readonly status = 503;
  readonly dependency: string;
  constructor(dependency: string, message: string, options?: ErrorOptions) {
    super(`${dependency}: ${message}`, options);
    this.dependency = dependency;
  }
}

/** Over capacity (queue full, concurrency limit): 429, retried. */
export class OverCapacityError extends FlywheelError {
  readonly retriable = true;
  readonly status = 429;
}

/** A named thing does not exist (model, version, customer where one is required): 404. */
export class NotFoundError extends FlywheelError {
  readonly retriable = false;
  readonly status = 404;
}

/** A compare-and-set lost a race or a resource already exists: 409. */
export class ConflictError extends FlywheelError {
  readonly retriable = false;
  readonly status = 409;
}

/**
 * Another delivery is doing this work right now (it holds the lease, or keeps moving what this one must compare and
 * set): 409, which the broker retries (Knative data plane), so the redelivery finds the work done.
 */
export class BusyError extends FlywheelError {
  readonly retriable = true;
  readonly status = 409;
}

/** Missing or wrong credentials: 401; `realm` is the protection space the answer's challenge names (RFC 6750 §3). */
export class UnauthorizedError extends FlywheelError {
  readonly retriable = false;
  readonly status = 401;
  readonly realm: string;
  constructor(message: string, options?: ErrorOptions & { realm?: string }) {
    super(message, options);
    this.realm = options?.realm ?? 'flywheel';
  }
}

/** The caller may not do this (for example a missing RBAC permission): 403. */
export class ForbiddenError extends FlywheelError {
  readonly retriable = false;
  readonly status = 403;
}

/** True when `err` is worth retrying: a retriable FlywheelError, or anything unknown (treated as transient). */
export function isRetriable(err: unknown): boolean {
  return err instanceof FlywheelError ? err.retriable : true;
}
