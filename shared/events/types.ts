// CloudEvent type names, extension attribute names and the model names of the Flywheel catalog (README "Event catalog").

/** Every Flywheel event type starts with this prefix. */
export const TYPE_PREFIX = 'dev.flywheel.';

/** The event types of the catalog, by short name. */
export const EventTypes = {
  transaction: 'dev.flywheel.transaction',
  label: 'dev.flywheel.label',
  transactionAccepted: 'dev.flywheel.transaction.accepted',
  labelAccepted: 'dev.flywheel.label.accepted',
  featuresUpdated: 'dev.flywheel.features.updated',
  scoreComputed: 'dev.flywheel.score.computed',
  driftMeasured: 'dev.flywheel.drift.measured',
  driftDetected: 'dev.flywheel.drift.detected',
  trainingRequested: 'dev.flywheel.training.requested',
  trainingLaunched: 'dev.flywheel.training.launched',
  trainingFailed: 'dev.flywheel.training.failed',
  modelTrained: 'dev.flywheel.model.trained',
  modelPromoted: 'dev.flywheel.model.promoted',
  modelRejected: 'dev.flywheel.model.rejected',
} as const;

export type EventTypeName = keyof typeof EventTypes;
export type EventType = (typeof EventTypes)[EventTypeName];

/** Extension attributes used by Trigger filters (lower-case alphanumerics, CloudEvents §3.1.1). */
export const Extensions = {
  model: 'flywheelmodel',
  riskBand: 'riskband',
  segment: 'segment',
  traceparent: 'traceparent',
} as const;

/** The two models the pipeline keeps alive (README "Models"). */
export const MODEL_NAMES = ['risk', 'segment'] as const;
export type ModelName = (typeof MODEL_NAMES)[number];

/** The functions of the loop; each is a Knative Service of the same name. */
export const FUNCTION_NAMES = [
  'ingest',
  'featurize',
  'score',
  'detect-drift',
  'launch-training',
  'promote',
] as const;
export type FunctionName = (typeof FUNCTION_NAMES)[number];

/** Producers that are not functions: data sources, the trainer Job, the PingSource schedule, operators. */
export type Producer = FunctionName | 'data-source' | 'trainer' | 'schedule' | 'operator';
