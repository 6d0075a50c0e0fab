// launch-training: turns drift.detected / training.requested into a training run (started, coalesced or queued), and
// moves the queue when a run ends (model.trained, training.failed).
import { OverCapacityError } from '../../shared/errors/index.ts';
import {
  type EventTypes as ET,
  EventTypes,
  Extensions,
  type FlywheelEvent,
  makeEvent,
  type TimeRange,
  TrainingLaunchedSchema,
} from '../../shared/events/index.ts';
import type { EventOf, HandlerContext, Outcome } from '../../shared/runtime/index.ts';
import type { LaunchRequest, TrainingExecutor } from './executor.ts';

/** The CloudEvents source of launch-training's events. */
export const LAUNCH_TRAINING_SOURCE = 'flywheel/launch-training';

/** The events that ask for a run. */
export const TRAINING_REQUEST_TYPES = [EventTypes.driftDetected, EventTypes.trainingRequested] as const;
export type TrainingRequestType = (typeof TRAINING_REQUEST_TYPES)[number];
/** The events that say a run ended, so a queued one may start. */
export const RUN_ENDED_TYPES = [EventTypes.modelTrained, EventTypes.trainingFailed] as const;

export const LAUNCH_TRAINING_TYPES = [...TRAINING_REQUEST_TYPES, ...RUN_ENDED_TYPES] as const;
export type LaunchTrainingType = (typeof LAUNCH_TRAINING_TYPES)[number];

export interface LaunchTrainingDeps {
  executor: TrainingExecutor;
  /** The CloudEvents source of the replies. */
  source: string;
  /** Dataset length when the event names no range (TRAINING_LOOKBACK_MS). */
  lookbackMs: number;
  now: () => number;
}

/**
 * Launches training for the event's model through the executor and answers by outcome:
 * - launched → reply training.launched, its id the run's name, so a redelivery replies with the same event;
 * - already-exists (a redelivered event found its own run) → the same reply again: the first one may have been lost
 *   on its way back (that is why the broker redelivered), and consumers de-duplicate by source + id;
 * - coalesced (a run of the model, in progress or queued, already trains on the event's evidence) → 202 naming it;
 * - queued (the model's run is in progress on older data, or every slot is taken) → 202; the run starts when a slot
 *   frees and announces itself with training.launched then;
 * - a full queue throws OverCapacityError → 429, and the broker redelivers with backoff. Nothing is acknowledged and
 *   forgotten.
 */
export async function handle(
  event: EventOf<LaunchTrainingType>,
  deps: LaunchTrainingDeps,
  ctx: HandlerContext,
): Promise<Outcome> {
  if (event.type === EventTypes.modelTrained || event.type === EventTypes.trainingFailed) {
    const model = event.type === EventTypes.modelTrained ? event.data.model.name : event.data.model;
    return runEnded(model, deps, ctx);
  }
  const request = launchRequest(event, deps);
  const outcome = await deps.executor.launch(request, { log: ctx.log });
  const model = request.model;
  switch (outcome.kind) {
    case 'launched':
      ctx.metrics
        .counter('flywheel_training_launched_total', 'Training runs started, by model and executor', [
          'model',
          'executor',
        ])
        .inc({ model, executor: deps.executor.kind });
      ctx.log.info({ model, jobName: outcome.jobName, namespace: outcome.namespace }, 'training.launched');
      return { kind: 'reply', event: trainingLaunchedEvent(request, outcome, deps) };
    case 'already-exists':
      ctx.metrics
        .counter(
          'flywheel_training_already_exists_total',
          'Redelivered events whose training run already exists',
          ['model'],
        )
        .inc({ model });
      ctx.log.info(
        { model, jobName: outcome.jobName },
        'training already launched for this event: acknowledged',
      );
      return { kind: 'reply', event: trainingLaunchedEvent(request, outcome, deps) };
    case 'coalesced':
      ctx.metrics
        .counter(
          'flywheel_training_coalesced_total',
          'Training requests whose evidence a run of the model already trains on',
          ['model'],
        )
        .inc({ model });
      ctx.log.info({ model, into: outcome.into }, 'training request covered by a run');
      return { kind: 'accepted', detail: `training.coalesced: ${outcome.into} trains on this evidence` };
    case 'queued':
      ctx.metrics
        .counter(
          'flywheel_training_queued_total',
          'Training requests queued behind a run of the model or for a free slot',
          ['model'],
        )
        .inc({ model });
      ctx.log.info({ model, jobName: outcome.jobName, behind: outcome.behind }, 'training request queued');
      return {
        kind: 'accepted',
        detail: `training.queued: ${outcome.jobName} starts after ${outcome.behind}`,
      };
    default:
      return unreachable(outcome);
  }
}

/**
 * A run of `model` ended: resume the queued runs that may start now. When one of the model's runs is still queued
 * behind a run of the same model that has not finished yet (the trainer announces its result just before its Job
 * completes), answer 429 so the broker brings the event back once it has. An executor that moves its own queue (the
 * local one) has nothing to do.
 */
async function runEnded(model: string, deps: LaunchTrainingDeps, ctx: HandlerContext): Promise<Outcome> {
  if (!deps.executor.resumeQueued) return { kind: 'accepted', detail: 'no queue to move' };
  const { resumed, waiting } = await deps.executor.resumeQueued();
  if (resumed.length > 0) ctx.log.info({ resumed }, 'queued training runs resumed');
  const blocked = waiting.find((w) => w.model === model && w.behind.some((b) => b.model === model));
  if (blocked) {
    throw new OverCapacityError(
      `${blocked.jobName} waits for ${blocked.behind.map((b) => b.jobName).join(', ')} to finish; retry`,
    );
  }
  return {
    kind: 'accepted',
    detail: resumed.length > 0 ? `resumed ${resumed.join(', ')}` : 'nothing queued',
  };
}

/**
 * The run to ask for. Without a range in the event, the dataset is the lookback window ending at the moment the event
 * speaks for (the drift window's end, or the request's time; never later than now), so a redelivered event asks for
 * exactly the same data and gets the same reply.
 */
export function launchRequest(
  event: EventOf<TrainingRequestType>,
  deps: Pick<LaunchTrainingDeps, 'lookbackMs' | 'now'>,
): LaunchRequest {
  const triggeredBy = { id: event.id, source: event.source, type: event.type };
  if (event.type === EventTypes.driftDetected) {
    const d = event.data;
    return { model: d.model.name, reason: d.reason, range: lookback(d.window.end, deps), triggeredBy };
  }
  const d = event.data;
  const range = d.range ?? lookback(Date.parse(event.time), deps);
  return { model: d.model, reason: d.reason, range, triggeredBy };
}

function lookback(anchor: number, deps: Pick<LaunchTrainingDeps, 'lookbackMs' | 'now'>): TimeRange {
  const now = deps.now();
  const to = Number.isFinite(anchor) ? Math.min(anchor, now) : now;
  return { from: Math.max(0, to - deps.lookbackMs), to };
}

/**
 * training.launched for a run, its id the run's name, so a redelivery replies with the same event; also sent by the
 * runner when a queued run starts later.
 */
export function trainingLaunchedEvent(
  request: LaunchRequest,
  run: { jobName: string; namespace: string },
  deps: Pick<LaunchTrainingDeps, 'source' | 'now'> & { executor: Pick<TrainingExecutor, 'kind'> },
): FlywheelEvent<typeof ET.trainingLaunched> {
  const data = TrainingLaunchedSchema.parse({
    model: request.model,
    jobName: run.jobName,
    namespace: run.namespace,
    executor: deps.executor.kind,
    reason: request.reason,
    range: request.range,
    triggeredBy: request.triggeredBy,
  });
  return makeEvent({
    type: EventTypes.trainingLaunched,
    source: deps.source,
    id: `${run.namespace}/${run.jobName}`,
    subject: run.jobName,
    time: deps.now(),
    data,
    extensions: { [Extensions.model]: request.model },
  });
}

function unreachable(outcome: never): never {
  throw new Error(`unhandled launch outcome ${JSON.stringify(outcome)}`);
}
