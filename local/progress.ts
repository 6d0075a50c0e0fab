// The terminal view of the loop: one status line every few seconds, and a line for each thing worth noticing.
import { MODEL_EVENT_LABEL, utcMinute } from './labels.ts';
import type { LoopSnapshot, ModelEvent } from './state.ts';

/** The terminal's mark in front of each kind of model event. */
const MARK: Record<ModelEvent['kind'], string> = {
  drift: '⚠',
  launched: '▶',
  trained: '✔',
  promoted: '★',
  rejected: '✖',
  failed: '✖',
};

/** One status line: throughput, scores, latency, drift, champions, training, dead letters. */
export function statusLine(s: LoopSnapshot): string {
  const elapsed = Math.round((s.now - s.startedAt) / 1000);
  const sim = s.source.simulatedTime ? utcMinute(s.source.simulatedTime) : '-';
  const lastDrift = s.drift.filter((d) => d.model === 'risk').at(-1);
  const psi = lastDrift ? Math.max(0, ...Object.values(lastDrift.features)) : null;
  const parts = [
    `t+${elapsed}s`,
    `sim ${sim}${s.source.drifting ? ' (drifting)' : ''}`,
    `${s.eventsPerSecond.toFixed(1)} ev/s`,
    `ingested ${s.totals.ingested}`,
    `scored ${s.totals.scored}`,
    `p99 ${s.scoreP99Ms === null ? '-' : s.scoreP99Ms.toFixed(2)} ms`,
    `drift ${psi === null ? '-' : `max PSI ${psi.toFixed(2)}${lastDrift?.drifted ? ' ⚠' : ''}`} (${s.totals.detections} detected)`,
    `champions risk v${s.champions.risk ?? '-'} segment v${s.champions.segment ?? '-'}`,
    `training ${s.training}`,
    `DLQ ${s.deadLetters.length}`,
  ];
  return parts.join(' | ');
}

/** A line for a model event: drift detected, training launched, trained, promoted, rejected, failed. */
export function modelLine(e: ModelEvent): string {
  const v = e.version === null ? '' : ` v${e.version}`;
  return `${MARK[e.kind]} ${MODEL_EVENT_LABEL[e.kind]}: ${e.model}${v} — ${e.detail}`;
}
