// Sample catalog events for the dashboard's preview and browser test: valid events, and drift windows measured for real.
import { riskBand } from '../../functions/score/scorer.ts';
import {
  buildBaseline,
  countObservation,
  type DriftHistory,
  decide,
  driftConfig,
  driftDetectedData,
  driftMeasuredData,
  EMPTY_HISTORY,
  emptyWindow,
  measureWindow,
} from '../../shared/drift/index.ts';
import { seededRandom } from '../../shared/random/index.ts';
import {
  EventTypes,
  type FlywheelEvent,
  type ModelName,
  type ModelRef,
  makeEvent,
} from '../../shared/events/index.ts';

const featureSet = { name: 'customer_transactions', version: 'sample' };
const ref = (name: ModelName, version: number): ModelRef => ({ name, version });

/** transaction.accepted number `n` (ids t-n), for customer c-(n mod 40) unless one is given. */
export function sampleAccepted(input: { n: number; customerId?: string }): FlywheelEvent {
  const now = Date.now();
  const data = {
    transactionId: `t-${input.n}`,
    customerId: input.customerId ?? `c-${input.n % 40}`,
    amount: 20 + (input.n % 50),
    currency: 'EUR',
    merchantCategory: 'grocery',
    channel: 'pos' as const,
    country: 'DE',
    occurredAt: now,
    ingestedAt: now,
  };
  return makeEvent({ type: EventTypes.transactionAccepted, source: 'ingest', data });
}

/** score.computed for transaction t-n by risk model `version`, with the riskband extension set. */
export function sampleScore(input: {
  n: number;
  risk: number;
  version: number;
  customerId?: string;
}): FlywheelEvent {
  const band = riskBand(input.risk);
  const data = {
    customerId: input.customerId ?? `c-${input.n % 40}`,
    transactionId: `t-${input.n}`,
    risk: input.risk,
    riskBand: band,
    segment: input.n % 4,
    model: ref('risk', input.version),
    segmentModel: ref('segment', 1),
    featureSet,
    occurredAt: Date.now(),
  };
  return makeEvent({
    type: EventTypes.scoreComputed,
    source: 'score',
    data,
    extensions: { riskband: band },
  });
}

/** model.promoted to champion. */
export function samplePromoted(input: {
  model: ModelName;
  version: number;
  previous: number | null;
}): FlywheelEvent {
  const data = {
    model: ref(input.model, input.version),
    alias: 'champion' as const,
    previous: input.previous,
    reasons: [input.previous === null ? 'first model' : 'beats the champion'],
    checks: [],
  };
  return makeEvent({ type: EventTypes.modelPromoted, source: 'promote', data });
}

/** model.rejected with its reasons. */
export function sampleRejected(input: {
  version: number;
  champion: number;
  reasons: string[];
}): FlywheelEvent {
  const data = {
    model: ref('risk', input.version),
    champion: input.champion,
    reasons: input.reasons,
    checks: [],
  };
  return makeEvent({ type: EventTypes.modelRejected, source: 'promote', data });
}

/** model.trained for a risk model version with its metrics. */
export function sampleTrained(input: { version: number; metrics: Record<string, number> }): FlywheelEvent {
  const range = { from: 0, to: 1 };
  const data = {
    model: ref('risk', input.version),
    featureSet,
    range,
    holdout: range,
    metrics: input.metrics,
    backend: 'wasm',
    artifact: `memory://risk/${input.version}`,
  };
  return makeEvent({ type: EventTypes.modelTrained, source: 'trainer', data });
}

/** training.launched for a local trainer run, as launch-training reports it after a drift.detected. */
export function sampleLaunched(input: { model: ModelName; jobName: string }): FlywheelEvent {
  const data = {
    model: input.model,
    jobName: input.jobName,
    namespace: 'flywheel',
    executor: 'local' as const,
    reason: 'drift.detected',
    range: { from: 0, to: 1 },
    triggeredBy: { id: 'sample', source: 'detect-drift', type: EventTypes.driftDetected },
  };
  return makeEvent({ type: EventTypes.trainingLaunched, source: 'launch-training', data });
}

/** training.failed with its reason. */
export function sampleFailed(input: { model: ModelName; reason: string }): FlywheelEvent {
  const data = { model: input.model, reason: input.reason };
  return makeEvent({ type: EventTypes.trainingFailed, source: 'trainer', data });
}

/**
 * drift.measured / drift.detected events for `windows` windows of 200 observations, measured and decided by
 * shared/drift against a baseline of seeded data. From window `shiftFrom` on, the data shift: features named
 * is_* or new_* are 0/1 flags that turn on more often, the others are log-normal and move by a feature-dependent
 * amount (the first one most, every third one not at all), so some strips cross the threshold and some stay calm.
 */
export function sampleDriftWindows(input: {
  features: readonly string[];
  windows: number;
  shiftFrom: number;
  model?: ModelRef;
  seed?: number;
}): FlywheelEvent[] {
  const rnd = seededRandom(input.seed ?? 7);
  const { features } = input;
  const isFlag = (name: string): boolean => /^(is|new)_/.test(name);
  const value = (k: number, shift: number): number => {
    const name = features[k] ?? '';
    if (isFlag(name)) return rnd() < 0.2 + shift * 0.5 ? 1 : 0;
    const sensitivity = [1, 0.6, 0, 0.25][k % 4] ?? 0;
    return Math.exp(2 + k / 4 + sensitivity * shift + rnd() * 1.2);
  };
  const row = (shift: number): number[] => features.map((_, k) => value(k, shift));
  const rows = Array.from({ length: 2000 }, () => row(0));
  const kinds = Object.fromEntries(features.filter(isFlag).map((f) => [f, 'categorical' as const]));
  const prediction = { name: 'risk', kind: 'numeric' as const, values: rows.map(() => rnd() ** 3) };
  const baseline = buildBaseline({ columns: features, rows, kinds, prediction });
  const config = driftConfig({ windowSize: 200, minWindowSize: 100 });
  const model = input.model ?? ref('risk', 1);
  let history: DriftHistory = EMPTY_HISTORY;
  let counts = emptyWindow({ start: 0 });
  const events: FlywheelEvent[] = [];
  for (let w = 0; w < input.windows; w++) {
    const shift = w >= input.shiftFrom ? 0.6 : 0;
    for (let i = 0; i < 200; i++) {
      const at = w * 1000 + i;
      const values = Object.fromEntries(row(shift).map((v, k) => [features[k] ?? '', v]));
      countObservation(counts, baseline, { source: 'features', values, at });
      const risk = rnd() ** (3 - 2 * shift);
      countObservation(counts, baseline, { source: 'prediction', values: { risk }, at });
    }
    const now = w * 1000 + 999;
    const report = measureWindow({ counts, baseline, config, now, seed: 11 + w });
    const decision = decide({ report, history, config });
    history = decision.history;
    counts = emptyWindow({ start: now, sequence: counts.sequence + 1 });
    const measured = { model, report, decision, config };
    const detected = driftDetectedData(measured);
    events.push(
      detected
        ? makeEvent({ type: EventTypes.driftDetected, source: 'detect-drift', data: detected })
        : makeEvent({
            type: EventTypes.driftMeasured,
            source: 'detect-drift',
            data: driftMeasuredData(measured),
          }),
    );
  }
  return events;
}
