// detect-drift: adds each features.updated / score.computed to the champions' shared windows and replies on a close;
// a training.failed lifts the cooldown of the model's champion, so a drift still there is detected again.
import { type DriftConfig, driftDetectedData, driftMeasuredData } from '../../shared/drift/index.ts';
import {
  type EventTypes as ET,
  EventTypes,
  Extensions,
  type FlywheelEvent,
  MODEL_NAMES,
  type ModelName,
  makeEvent,
} from '../../shared/events/index.ts';
import type { EventOf, HandlerContext, Outcome } from '../../shared/runtime/index.ts';
import type { OnlineStore } from '../../shared/store/index.ts';
import type { Monitored } from './champions.ts';
import { incrementsOf } from './encoding.ts';
import { type Closed, driftKeys, type SharedWindows } from './shared-window.ts';

/** The events whose values the windows observe. */
export type ObservedType = typeof ET.featuresUpdated | typeof ET.scoreComputed;
export type DetectDriftType = ObservedType | typeof ET.trainingFailed;
export const DETECT_DRIFT_TYPES: readonly DetectDriftType[] = [
  EventTypes.featuresUpdated,
  EventTypes.scoreComputed,
  EventTypes.trainingFailed,
];

export interface DetectDriftDeps {
  champions: {
    get(name: ModelName): Promise<Monitored | null>;
    refresh(name: ModelName): Promise<Monitored | null>;
  };
  windows: Pick<SharedWindows, 'push' | 'close' | 'defer'>;
  store: Pick<OnlineStore, 'acquireLock' | 'breakLock'>;
  config: DriftConfig;
  /** DRIFT_COOLDOWN_MS: after a drift.detected for a model, detections for it are held back this long. */
  cooldownMs: number;
  /** This replica's name in the cooldown lock. */
  owner: string;
  source: string;
}

interface Target {
  monitor: Monitored;
  increments: Record<string, number>;
}

/** The score.computed fields that carry each model's prediction and the version that made it. */
function predictionOf(
  name: ModelName,
  data: EventOf<typeof ET.scoreComputed>['data'],
): { value: number; version: number } {
  return name === 'risk'
    ? { value: data.risk, version: data.model.version }
    : { value: data.segment, version: data.segmentModel.version };
}

/** The windows this event feeds: each watched champion whose baseline knows some of its values. */
async function targetsOf(event: EventOf<ObservedType>, deps: DetectDriftDeps): Promise<Target[]> {
  const targets: Target[] = [];
  for (const name of MODEL_NAMES) {
    let monitor = await deps.champions.get(name);
    if (!monitor) continue;
    let increments: Record<string, number> | null;
    if (event.type === EventTypes.featuresUpdated) {
      increments = incrementsOf({
        baseline: monitor.baseline,
        source: 'features',
        values: event.data.values,
        unit: event.data.customerId,
      });
    } else {
      const made = predictionOf(name, event.data);
      // A newer version than the cached champion means the cache is behind: re-read it once.
      if (made.version > monitor.version) monitor = await deps.champions.refresh(name);
      // Scores from any other version (a replica still serving the previous champion) are not this window's.
      if (!monitor || made.version !== monitor.version) continue;
      const p = monitor.baseline.prediction;
      increments = p
        ? incrementsOf({
            baseline: monitor.baseline,
            source: 'prediction',
            values: { [p.name]: made.value },
            unit: event.data.customerId,
          })
        : null;
    }
    if (increments) targets.push({ monitor, increments });
  }
  return targets;
}

/**
 * Pushes the event's values into each watched champion's window (in parallel, one HINCRBY each), closes at most
 * one due window (a reply carries one event; another due window is closed on this replica's next event), and
 * replies drift.detected when that window completes a detection and this replica takes the cooldown, else
 * drift.measured; 202 when no window closed. Redeliveries are not de-duplicated: a redelivered event adds its
 * observation again (README: duplicates).
 */
export async function handle(
  event: EventOf<DetectDriftType>,
  deps: DetectDriftDeps,
  ctx: HandlerContext,
): Promise<Outcome> {
  if (event.type === EventTypes.trainingFailed) return runFailed(event.data.model, deps, ctx);
  // Windows run on event time: a window spans the transactions it holds, however late they are processed.
  const at = event.data.occurredAt;
  const targets = await targetsOf(event, deps);
  if (targets.length === 0) return { kind: 'accepted', detail: 'no watched champion observes this event' };
  const pushed = await Promise.all(targets.map((t) => deps.windows.push(t.monitor, t.increments, at)));
  let closed: Closed | null = null;
  for (const p of pushed.filter((x) => x.due)) {
    if (closed) deps.windows.defer(p);
    else closed = await deps.windows.close(p, at);
  }
  if (!closed) return { kind: 'accepted', detail: 'observed' };
  return { kind: 'reply', event: await replyFor({ closed, deps, ctx, at }) };
}

/**
 * A training run of `model` failed (not on the merits of a model: those are rejected by promote): the detection that
 * asked for it must not be forgotten, so the cooldown of the model's champion is lifted and the drift, if it is
 * still there, is detected again after DRIFT_CONSECUTIVE_WINDOWS drifted windows, on newer data.
 */
async function runFailed(model: ModelName, deps: DetectDriftDeps, ctx: HandlerContext): Promise<Outcome> {
  const monitor = await deps.champions.get(model);
  if (!monitor) return { kind: 'accepted', detail: `no ${model} champion is watched` };
  const lifted = await deps.store.breakLock(driftKeys.cooldown(monitor));
  if (!lifted) return { kind: 'accepted', detail: `no cooldown for ${model} v${monitor.version}` };
  ctx.metrics
    .counter('flywheel_drift_cooldowns_lifted_total', 'Cooldowns lifted because the training run failed', [
      'model',
    ])
    .inc({ model });
  ctx.log.warn({ model, version: monitor.version }, 'training failed: drift cooldown lifted');
  return { kind: 'accepted', detail: `cooldown of ${model} v${monitor.version} lifted` };
}

async function replyFor(input: {
  closed: Closed;
  deps: DetectDriftDeps;
  ctx: HandlerContext;
  at: number;
}): Promise<FlywheelEvent> {
  const { closed, deps, ctx, at } = input;
  const { monitor, report, decision } = closed;
  const model = { name: monitor.name, version: monitor.version };
  ctx.metrics
    .counter('flywheel_drift_windows_total', 'Drift windows closed, by model and decision', [
      'model',
      'decision',
    ])
    .inc({ model: monitor.name, decision: decision.kind });
  const id = `drift-${monitor.name}-v${monitor.version}-w${report.sequence}`;
  const common = { source: deps.source, time: at, extensions: { [Extensions.model]: monitor.name } };
  const detected = driftDetectedData({ model, report, decision, config: deps.config });
  if (detected) {
    if (await deps.store.acquireLock(driftKeys.cooldown(monitor), deps.owner, deps.cooldownMs)) {
      ctx.log.warn({ model, window: report.window, reason: detected.reason }, 'drift detected');
      return makeEvent({ ...common, type: EventTypes.driftDetected, id: `${id}-detected`, data: detected });
    }
    ctx.metrics
      .counter(
        'flywheel_drift_detections_suppressed_total',
        'Detections held back by the cooldown of an earlier drift.detected',
        ['model'],
      )
      .inc({ model: monitor.name });
    ctx.log.info(
      { model, window: report.window },
      'drift detected within the cooldown: sent as drift.measured',
    );
  }
  return makeEvent({
    ...common,
    type: EventTypes.driftMeasured,
    id: `${id}-measured`,
    data: driftMeasuredData({ model, report, decision }),
  });
}
