// score's CloudEvent path: features.updated in, score.computed out, with the riskband and segment extensions.
import { type EventTypes as ET, EventTypes, Extensions, makeEvent } from '../../shared/events/index.ts';
import { vectorOf } from '../../shared/features/index.ts';
import type { EventOf, HandlerContext, Outcome } from '../../shared/runtime/index.ts';
import type { ModelSet } from './models.ts';
import { champions, scoreRows } from './scorer.ts';

export type ScoreType = typeof ET.featuresUpdated;

export interface ScoreDeps {
  models: ModelSet;
  source: string;
  now: () => number;
}

/**
 * Scores the event's vector with both champions (and the challenger in shadow, which never changes the decision).
 * With no champion yet the event is acknowledged without a reply and counted: retrying would not help until a
 * model is promoted, and the broker would only fill its dead-letter sink.
 */
export async function handle(
  event: EventOf<ScoreType>,
  deps: ScoreDeps,
  ctx: HandlerContext,
): Promise<Outcome> {
  const risk = await deps.models.get('risk', 'champion');
  const segment = await deps.models.get('segment', 'champion');
  if (!risk || !segment) {
    ctx.metrics
      .counter('flywheel_unscored_total', 'features.updated acknowledged without a champion to score them')
      .inc();
    return { kind: 'accepted', detail: 'no champion model yet: not scored' };
  }
  const c = await champions(deps.models);
  const vector = vectorOf(c.risk.columns, event.data.values, 'data.values');
  const [scored] = await scoreRows(c, [vector]);
  if (!scored) throw new Error('scoring returned no result');
  const { customerId, transactionId, occurredAt } = event.data;
  return {
    kind: 'reply',
    event: makeEvent({
      type: EventTypes.scoreComputed,
      source: deps.source,
      id: event.id,
      time: deps.now(),
      data: { customerId, transactionId, occurredAt, featureSet: event.data.featureSet, ...scored },
      extensions: {
        [Extensions.riskBand]: scored.riskBand,
        [Extensions.segment]: scored.segment,
        [Extensions.model]: 'risk',
      },
    }),
  };
}
