// First champions for an empty registry: replay the history through the loop, then train risk and segment on it.
import { setTimeout as sleep } from 'node:timers/promises';
import { EventTypes, makeEvent, type ModelName } from '../shared/events/index.ts';
import type { Source } from './demo/source.ts';
import type { Loop } from './loop.ts';

/** How long bootstrap waits for each first champion by default: a training run on the history, then promotion. */
const CHAMPION_TIMEOUT_MS = 300_000;

/**
 * Replays the generated history (so the online store holds every customer's recent past), waits for the broker to
 * drain, and, for each model without a champion, asks for training through the loop itself (training.requested →
 * launch-training → local trainer → model.trained → promote) and waits for the promotion.
 */
export async function bootstrapChampions(opts: {
  loop: Loop;
  source: Source;
  say: (line: string) => void;
  timeoutMs?: number;
}): Promise<void> {
  const { loop, source, say } = opts;
  const timeoutMs = opts.timeoutMs ?? CHAMPION_TIMEOUT_MS;
  const days = Math.round((source.timeline.liveStart - source.timeline.historyStart) / 86_400_000);
  say(`history: replaying ${days} days of transactions through the broker…`);
  const sent = await source.history();
  await loop.whenIdle();
  say(`history: ${sent} events through ingest → featurize → score → detect-drift`);
  for (const model of ['risk', 'segment'] as const satisfies readonly ModelName[]) {
    const champion = await loop.registry.alias(model, 'champion');
    if (champion !== null) {
      say(`${model}: champion v${champion} found in the registry`);
      continue;
    }
    say(`${model}: no champion yet — training the first one on the history…`);
    const before = loop.state.modelSeq;
    await loop.publish(
      makeEvent({
        type: EventTypes.trainingRequested,
        source: 'flywheel/local-runner',
        subject: model,
        data: { model, reason: 'bootstrap: empty registry', range: bootstrapRange(source.timeline) },
        extensions: { flywheelmodel: model },
      }),
    );
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const version = await loop.registry.alias(model, 'champion');
      if (version !== null) {
        say(`${model}: champion v${version} promoted`);
        break;
      }
      const failed = loop.state
        .modelsSince(before)
        .find((e) => e.model === model && (e.kind === 'failed' || e.kind === 'rejected'));
      if (failed) throw new Error(`first ${model} model ${failed.kind}: ${failed.detail}`);
      if (Date.now() > deadline) throw new Error(`no ${model} champion after ${timeoutMs} ms`);
      await sleep(250);
    }
  }
}

/**
 * The first training range: the history after its first 30 days, which only warm the 30-day windows up (rows there
 * would see shorter histories than live traffic ever has). At least the last 7 days are kept when the history is short.
 */
export function bootstrapRange(t: { historyStart: number; liveStart: number }): { from: number; to: number } {
  const day = 86_400_000;
  const warmUp = Math.max(0, Math.min(30 * day, t.liveStart - t.historyStart - 7 * day));
  return { from: Math.round(t.historyStart + warmUp), to: Math.round(t.liveStart) };
}
