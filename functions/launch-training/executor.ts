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
  /** A run of the model (in progress or queued) already trains on this request's evidence: nothing new. */
  | { kind: 'coalesced'; into: string }
  /** The request waits for the model's run in progress (or for a free slot) and starts when it ends. */
  | { kind: 'queued'; jobName: string; behind: string };

/** A run still queued and the runs it waits for. */
export interface QueuedRun {
  jobName: string;
  model: string;
  behind: { jobName: string; model: string }[];
}

export interface LaunchContext {
  log: Logger;
}

/**
 * Starts training runs: at most one at a time per model and a bounded number in all, never twice for the same
 * triggering event; a request that cannot start now is queued or coalesced (functions/launch-training/placement.ts),
 * and one the queue cannot take is refused with OverCapacityError (429), never dropped.
 */
export interface TrainingExecutor {
  readonly kind: 'kubernetes' | 'local';
  launch(request: LaunchRequest, ctx: LaunchContext): Promise<LaunchOutcome>;
  /**
   * Starts the queued runs that may start now (for executors whose queue outlives the process: the cluster's
   * suspended Jobs); `waiting` lists the runs still queued and the runs they wait for.
   */
  resumeQueued?(): Promise<{ resumed: string[]; waiting: QueuedRun[] }>;
  /** Stops what the executor owns (the local child process); the cluster's Jobs outlive the function. */
  close?(): Promise<void>;
}
