// `flywheel train` without --from/--to: asks the running loop for training (training.requested to its broker) and
// waits, if asked, until score serves the model's new champion.
import { setTimeout as sleep } from 'node:timers/promises';
import {
  EventTypes,
  Extensions,
  makeEvent,
  type ModelName,
  TrainingRequestedSchema,
} from '../events/index.ts';
import { toStructured } from '../runtime/index.ts';

export interface TrainRequestOptions {
  model: ModelName;
  /** The broker ingress (POST / takes CloudEvents). */
  brokerUrl: string;
  /** score, whose /v2/models/<name> says which champion it serves. */
  scoreUrl: string;
  /** The dataset's range; without it launch-training takes TRAINING_LOOKBACK_MS up to the request's time. */
  range?: { from: number; to: number } | undefined;
  wait: boolean;
  timeoutMs: number;
  pollMs?: number;
  say: (line: string) => void;
}

/** Exit statuses: 0 requested (and, with wait, a new champion served), 1 failed, rejected or timed out, 3 unreachable. */
export type TrainRequestStatus = 0 | 1 | 3;

interface ModelEvent {
  seq: number;
  kind: string;
  model: string;
  version: number | null;
  detail: string;
}

/**
 * Posts training.requested for the model to the loop's broker, so the loop trains as it does on drift:
 * launch-training starts the trainer, the result is registered and announced as model.trained, and promote decides.
 * With `wait`, follows the run on the local loop's dashboard data (launched, trained, promoted, rejected, failed)
 * where the broker serves it, and polls score until it serves a champion other than the one it served before.
 */
export async function requestTraining(o: TrainRequestOptions): Promise<TrainRequestStatus> {
  const data = TrainingRequestedSchema.parse({
    model: o.model,
    reason: o.range
      ? `requested with flywheel train: ${iso(o.range.from)} to ${iso(o.range.to)}`
      : 'requested with flywheel train',
    ...(o.range ? { range: o.range } : {}),
  });
  const event = makeEvent({
    type: EventTypes.trainingRequested,
    source: 'flywheel/cli',
    subject: o.model,
    data,
    extensions: { [Extensions.model]: o.model },
  });
  const before = o.wait ? await servedVersion(o.scoreUrl, o.model) : null;
  const seen = o.wait ? await modelEvents(o.brokerUrl) : null;
  let lastSeq = seen ? Math.max(0, ...seen.map((e) => e.seq)) : 0;
  try {
    const res = await fetch(o.brokerUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/cloudevents+json' },
      body: JSON.stringify(toStructured(event)),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await res.text();
    if (!res.ok) {
      o.say(`the broker at ${o.brokerUrl} answered ${res.status}: ${text.slice(0, 300)}`);
      return res.status === 429 || res.status >= 500 ? 3 : 1;
    }
  } catch (err) {
    const code = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
    o.say(`no broker at ${o.brokerUrl} (${code}): is the loop running (npm start -- --no-demo)?`);
    return 3;
  }
  const range = o.range
    ? `${iso(o.range.from)} to ${iso(o.range.to)}`
    : "the loop's lookback window (TRAINING_LOOKBACK_MS up to now)";
  o.say(`${o.model}: training requested (event ${event.id}) on ${range}`);
  if (!o.wait) return 0;

  const deadline = Date.now() + o.timeoutMs;
  let promoted: number | null = null;
  for (;;) {
    const events = await modelEvents(o.brokerUrl);
    for (const e of events ?? []) {
      if (e.seq <= lastSeq || e.model !== o.model || e.kind === 'drift') continue;
      o.say(`${o.model}: ${e.kind}${e.version === null ? '' : ` v${e.version}`} — ${e.detail}`);
      if (e.kind === 'failed') for (const line of failureHints(o.model, e.detail)) o.say(line);
      if (e.kind === 'failed' || e.kind === 'rejected') return 1;
      if (e.kind === 'promoted') promoted = e.version;
    }
    if (events) lastSeq = Math.max(lastSeq, ...events.map((e) => e.seq));
    const served = await servedVersion(o.scoreUrl, o.model);
    if (served !== null && served !== before && (promoted === null || served === promoted)) {
      o.say(`${o.model}: score serves champion v${served}`);
      return 0;
    }
    if (Date.now() > deadline) {
      o.say(
        `${o.model}: no new champion served after ${Math.round(o.timeoutMs / 1000)} s (see the loop's output)`,
      );
      return 1;
    }
    await sleep(o.pollMs ?? 1000);
  }
}

/** What a failed run most often lacks, and where the trainer's own words are when the reason is only an exit code. */
export function failureHints(model: ModelName, reason: string): string[] {
  const hints: string[] = [];
  if (/trainer exited/.test(reason))
    hints.push(
      `the trainer's reason is in the loop's log (<data-dir>/flywheel.log, named when npm start starts)`,
    );
  if (model === 'risk')
    hints.push(
      'risk learns from fraud labels: send them before asking (npx flywheel send labels.csv), at least 5 frauds among the rows of the range',
    );
  hints.push('the range must hold at least 50 transactions: --since names where your data begin');
  return hints;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** The champion version score serves for `model` (its v2 metadata), or null when it has none or does not answer. */
async function servedVersion(scoreUrl: string, model: ModelName): Promise<number | null> {
  try {
    const res = await fetch(new URL(`v2/models/${model}`, scoreUrl), { signal: AbortSignal.timeout(5000) });
    const body = (await res.json()) as { versions?: unknown };
    if (!res.ok || !Array.isArray(body.versions)) return null;
    const v = Number(body.versions[0]);
    return Number.isInteger(v) ? v : null;
  } catch {
    return null;
  }
}

/** The local loop's model events (its dashboard data), or null where the broker has no dashboard. */
async function modelEvents(brokerUrl: string): Promise<ModelEvent[] | null> {
  try {
    const res = await fetch(new URL('dashboard/data', brokerUrl), { signal: AbortSignal.timeout(5000) });
    if (!res.ok) return null;
    const body = (await res.json()) as { models?: unknown };
    return Array.isArray(body.models) ? (body.models as ModelEvent[]) : null;
  } catch {
    return null;
  }
}
