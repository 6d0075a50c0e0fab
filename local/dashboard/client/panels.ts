// Browser-side list panels: the model version timeline and the recent high-risk scores.
import { MODEL_EVENT_LABEL } from '../../labels.ts';
import type { HighRiskScore, ModelEvent } from '../../state.ts';
import { clock, empty, fixed, h } from './dom.ts';

/** Rows shown in the list panels; the snapshot keeps more. */
const LIST_ROWS = 40;
const SCORE_ROWS = 15;

/** The model timeline, newest first: what happened, to which model and version, and why. */
export function modelTimeline(events: readonly ModelEvent[]): Node {
  if (events.length === 0) return empty('No training, promotion or drift events yet.');
  const items = events
    .slice(-LIST_ROWS)
    .reverse()
    .map((e) =>
      h(
        'li',
        { class: `ev ${e.kind}`, data: { kind: e.kind } },
        h(
          'div',
          { class: 'ev-head' },
          h('span', { class: 'badge' }, MODEL_EVENT_LABEL[e.kind] ?? e.kind),
          h('span', { class: 'ev-model' }, e.model, e.version === null ? '' : ` v${e.version}`),
          h('time', { class: 'muted' }, clock(e.t)),
        ),
        e.detail ? h('div', { class: 'ev-detail', title: e.detail }, e.detail) : null,
      ),
    );
  return h('ol', { class: 'timeline' }, ...items);
}

function riskCell(risk: number): HTMLElement {
  const bar = h('span', { class: 'riskbar' });
  bar.style.width = `${Math.round(Math.min(1, Math.max(0, risk)) * 100)}%`;
  return h('td', { class: 'num risk' }, h('span', { class: 'riskwrap' }, bar), fixed(risk, 3));
}

/** The most recent high-band scores, newest first. */
export function highRiskTable(scores: readonly HighRiskScore[]): Node {
  if (scores.length === 0) return empty('No high-risk scores yet.');
  const rows = scores
    .slice(-SCORE_ROWS)
    .reverse()
    .map((s) =>
      h(
        'tr',
        null,
        h('td', { class: 'muted' }, clock(s.t)),
        h('td', { class: 'id', title: s.customerId }, s.customerId),
        h('td', { class: 'id', title: s.transactionId }, s.transactionId),
        riskCell(s.risk),
        h('td', { class: 'num' }, s.segment),
        h('td', { class: 'num' }, `v${s.version}`),
      ),
    );
  const head = h(
    'tr',
    null,
    ...['time', 'customer', 'transaction', 'risk', 'segment', 'model'].map((c) =>
      h('th', { class: ['risk', 'segment', 'model'].includes(c) ? 'num' : '' }, c),
    ),
  );
  return h('table', { class: 'table' }, h('thead', null, head), h('tbody', null, ...rows));
}
