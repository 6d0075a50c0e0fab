// Browser-side throughput panel: an SVG line chart of ingested/s and scored/s over the last minutes.
import type { ThroughputSample } from '../../state.ts';
import { empty, figure, h, int, svg } from './dom.ts';

/** Drawn in CSS pixels at the panel's width, so labels keep their size on any screen. */
const H = 220;
const PAD = { left: 44, right: 14, top: 14, bottom: 26 };
const MAX_SPAN_MS = 5 * 60_000;
const MIN_SPAN_MS = 60_000;

const TICKS = 4;

/** A round gridline step (1, 2, 2.5 or 5 times a power of ten, at least 1) so that TICKS steps cover `max`. */
export function niceStep(max: number): number {
  const raw = Math.max(1, max) / TICKS;
  const p = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= raw && Number.isInteger(m * p)) return m * p;
  return 10 * p;
}

function axisLabel(msBeforeNow: number, spanMs: number): string {
  if (msBeforeNow === 0) return 'now';
  return spanMs > 2 * 60_000
    ? `−${Math.round(msBeforeNow / 60_000)}m`
    : `−${Math.round(msBeforeNow / 1000)}s`;
}

/** The chart for the samples up to `now` (the last five minutes, or less while the loop is younger) and a summary. */
export function throughputChart(input: {
  samples: readonly ThroughputSample[];
  now: number;
  /** The width to draw at (the panel body's), in CSS pixels. */
  width: number;
}): Node {
  const { samples, now } = input;
  const W = Math.max(280, Math.round(input.width));
  const first = samples[0];
  if (!first) return empty('Waiting for the first second of traffic…');
  const span = Math.min(MAX_SPAN_MS, Math.max(MIN_SPAN_MS, now - first.t));
  const shown = samples.filter((s) => s.t >= now - span);
  const step = niceStep(Math.max(...shown.map((s) => Math.max(s.ingested, s.scored))));
  const yMax = step * TICKS;
  const x = (t: number): number => PAD.left + ((t - (now - span)) / span) * (W - PAD.left - PAD.right);
  const y = (v: number): number => H - PAD.bottom - (v / yMax) * (H - PAD.top - PAD.bottom);

  const chart = svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img' });
  chart.appendChild(svg('title', {}, 'ingested and scored events per second'));
  for (let i = 0; i <= TICKS; i++) {
    const v = step * i;
    chart.appendChild(svg('line', { x1: PAD.left, x2: W - PAD.right, y1: y(v), y2: y(v), class: 'grid' }));
    chart.appendChild(
      svg('text', { x: PAD.left - 6, y: y(v) + 4, class: 'axis', 'text-anchor': 'end' }, int(v)),
    );
  }
  const every = span > 2 * 60_000 ? 60_000 : 15_000;
  for (let back = 0; back <= span; back += every) {
    const px = x(now - back);
    chart.appendChild(svg('line', { x1: px, x2: px, y1: PAD.top, y2: H - PAD.bottom, class: 'grid minor' }));
    const anchor = back === 0 ? 'end' : 'middle';
    chart.appendChild(
      svg('text', { x: px, y: H - 8, class: 'axis', 'text-anchor': anchor }, axisLabel(back, span)),
    );
  }
  const line = (pick: (s: ThroughputSample) => number): string =>
    shown.map((s) => `${x(s.t).toFixed(1)},${y(pick(s)).toFixed(1)}`).join(' ');
  const last = shown[shown.length - 1];
  if (last && shown.length > 1) {
    const area = `${x(shown[0]?.t ?? last.t).toFixed(1)},${y(0)} ${line((s) => s.ingested)} ${x(last.t).toFixed(1)},${y(0)}`;
    chart.appendChild(svg('polygon', { points: area, class: 'area ingested' }));
  }
  // scored (dashed) on top: it mostly runs on the ingested line, and both must stay visible
  chart.appendChild(svg('polyline', { points: line((s) => s.ingested), class: 'series ingested' }));
  chart.appendChild(svg('polyline', { points: line((s) => s.scored), class: 'series scored' }));
  if (last) {
    chart.appendChild(svg('circle', { cx: x(last.t), cy: y(last.scored), r: 3, class: 'dot scored' }));
    chart.appendChild(svg('circle', { cx: x(last.t), cy: y(last.ingested), r: 3, class: 'dot ingested' }));
  }
  const peak = Math.max(...shown.map((s) => s.ingested));
  const legend = h(
    'div',
    { class: 'legend' },
    h(
      'span',
      { class: 'key ingested' },
      'ingested/s ',
      h('b', { data: { now: 'ingested' } }, int(last?.ingested ?? 0)),
    ),
    h(
      'span',
      { class: 'key scored' },
      'scored/s ',
      h('b', { data: { now: 'scored' } }, int(last?.scored ?? 0)),
    ),
  );
  const minute = samples.filter((s) => s.t > now - 60_000);
  const sum = (pick: (s: ThroughputSample) => number): number => minute.reduce((a, s) => a + pick(s), 0);
  const summary = h(
    'div',
    { class: 'figs under' },
    figure(int(sum((s) => s.ingested)), 'ingested in the last minute'),
    figure(int(sum((s) => s.scored)), 'scored'),
    figure(`${int(peak)}/s`, 'peak'),
  );
  const frag = document.createDocumentFragment();
  frag.append(legend, chart, summary);
  return frag;
}
