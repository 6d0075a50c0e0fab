// The one interface both training executors implement (Kubernetes Jobs, a local child process) and its outcomes.
import type { Logger } from '../../shared/runtime/logger.ts';
import type { ModelName, TimeRange } from '../../shared/events/index.ts';
import type { TriggeringEvent } from '../../shared/k8s/job.ts';

/** What to train, on which data, and which event asked for it (its source + id names the run). */
export interface LaunchRequest {
  model: ModelName;
  range: TimeRange;
  reason: string;
  triggeredBy: TriggeringEvent;
}

/** What a launch came to; the handler switches on `kind` exhaustively. */
export type LaunchOutcome =
  /** A new run started. */
  | { kind: 'launched'; jobName: string; namespace: string }
  /** This event's run already exists (a redelivery): nothing new was started. */
  | { kind: 'already-exists'; jobName: string; namespace: string }
  /** Another run is in progress (for this model, or for any model locally): nothing was started. */
  | { kind: 'skipped'; running: string };

export interface LaunchContext {
  log: Logger;
}

/** Starts training runs; at most one at a time per model, and never twice for the same triggering event. */
export interface TrainingExecutor {
  readonly kind: 'kubernetes' | 'local';
  launch(request: LaunchRequest, ctx: LaunchContext): Promise<LaunchOutcome>;
  /** Stops what the executor owns (the local child process); the cluster's Jobs outlive the function. */
  close?(): Promise<void>;
}
