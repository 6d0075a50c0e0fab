// Browser-side drift panel: one heat strip of PSI per feature over the model's recent windows, threshold marked.
import type { DriftPoint } from '../../state.ts';
import { clock, empty, fixed, h } from './dom.ts';

/** Windows shown per strip (newest on the right); a young loop's few windows still get narrow cells. */
const MAX_COLUMNS = 40;
const MIN_COLUMNS = 24;

/** The calm end of the scale blends into the panel: pale on a light page, slate on a dark one. */
const CALM: [number, number, number] = matchMedia('(prefers-color-scheme: dark)').matches
  ? [48, 58, 74]
  : [233, 238, 245];

/** Colour stops as a share of the threshold: calm, moderate (half the threshold), at it, and well past it. */
const STOPS: readonly [number, [number, number, number]][] = [
  [0, CALM],
  [0.5, [252, 224, 140]],
  [1, [245, 140, 50]],
  [1.75, [214, 40, 40]],
  [3, [120, 20, 30]],
];

const rgb = (c: readonly number[]): string => `rgb(${c.join(',')})`;

/** The heat colour of a PSI value, scaled to the threshold so the threshold is always the same orange. */
export function heat(value: number, threshold: number): string {
  const r = Math.max(0, value / threshold);
  let i = 0;
  while (i < STOPS.length - 1 && (STOPS[i + 1]?.[0] ?? Number.POSITIVE_INFINITY) <= r) i++;
  const lo = STOPS[i];
  const hi = STOPS[i + 1];
  if (!lo) return '';
  if (!hi) return rgb(lo[1]);
  const f = (r - lo[0]) / (hi[0] - lo[0]);
  return rgb(lo[1].map((c, k) => Math.round(c + f * ((hi[1][k] ?? c) - c))));
}

function cell(column: number, colour: string, title: string, cls: string): HTMLElement {
  const c = h('span', { class: `cell ${cls}`, title });
  c.style.gridColumn = String(column);
  c.style.backgroundColor = colour;
  return c;
}

function legend(threshold: number): HTMLElement {
  const bar = h('div', { class: 'scale' });
  const stops = STOPS.map(([r, c]) => `${rgb(c)} ${((r / 2) * 100).toFixed(0)}%`);
  bar.style.background = `linear-gradient(to right, ${stops.join(', ')})`;
  const mark = h('span', { class: 'threshold-mark', data: { threshold: String(threshold) } });
  mark.style.left = '50%';
  const ticks = h(
    'div',
    { class: 'scale-ticks' },
    h('span', null, '0'),
    h('span', { class: 'at-threshold' }, `${threshold} threshold`),
    h('span', null, `≥ ${fixed(threshold * 2, 1)}`),
  );
  return h(
    'div',
    { class: 'drift-legend' },
    h('span', { class: 'muted' }, 'PSI per window'),
    h('div', { class: 'scale-box' }, bar, mark, ticks),
    h('span', { class: 'key-win detected' }, 'detected'),
    h('span', { class: 'key-win drifted' }, 'drifted'),
  );
}

/** The models that have drift windows, risk first. */
export function driftModels(points: readonly DriftPoint[]): string[] {
  const names = [...new Set(points.map((p) => p.model))];
  return names.sort((a, b) => (a === 'risk' ? -1 : b === 'risk' ? 1 : a.localeCompare(b)));
}

/** The strips for `model`'s last windows: a verdict row, one row per feature, the prediction, and the legend. */
export function driftStrips(input: {
  points: readonly DriftPoint[];
  model: string;
  threshold: number;
}): Node {
  const { threshold } = input;
  const windows = input.points.filter((p) => p.model === input.model).slice(-MAX_COLUMNS);
  const latest = windows[windows.length - 1];
  if (!latest) return empty(`No closed drift windows for the ${input.model} model yet.`);
  const columns = Math.max(MIN_COLUMNS, windows.length);
  const offset = columns - windows.length;
  const names = [...new Set(windows.flatMap((w) => Object.keys(w.features)))];
  const grid = h('div', { class: 'strips' });
  const row = (label: Node, cells: HTMLElement[], value: Node): void => {
    const strip = h('div', { class: 'cells' }, ...cells);
    strip.style.gridTemplateColumns = `repeat(${columns}, minmax(0, 1fr))`;
    grid.append(label, strip, value);
  };

  row(
    h('span', { class: 'fname verdict' }, 'window verdict'),
    windows.map((w, i) => {
      const verdict = w.detected ? 'detected' : w.drifted ? 'drifted' : 'stable';
      return cell(offset + i + 1, '', `${clock(w.t)} · v${w.version} · ${verdict}`, `win ${verdict}`);
    }),
    h('span', { class: 'fval muted' }, 'latest'),
  );
  const strip = (name: string, pick: (w: DriftPoint) => number | null | undefined): void => {
    const now = pick(latest);
    const over = typeof now === 'number' && now >= threshold;
    const cells = windows.map((w, i) => {
      const v = pick(w);
      const mark = `${w.detected ? ' detected' : ''}${typeof v === 'number' && v >= threshold ? ' over' : ''}`;
      if (typeof v !== 'number') return cell(offset + i + 1, '', `${name}: no value`, 'none');
      return cell(offset + i + 1, heat(v, threshold), `${name} · ${clock(w.t)} · PSI ${fixed(v, 3)}`, mark);
    });
    row(
      h('span', { class: over ? 'fname over' : 'fname', title: name, data: { feature: name } }, name),
      cells,
      h('span', { class: over ? 'fval over' : 'fval' }, fixed(now, 3)),
    );
  };
  for (const name of names) strip(name, (w) => w.features[name]);
  if (windows.some((w) => w.prediction !== null)) strip('prediction (score)', (w) => w.prediction);

  const first = windows[0] ?? latest;
  const count = `${windows.length} window${windows.length === 1 ? '' : 's'}`;
  const axis = h(
    'div',
    { class: 'strip-axis muted' },
    `${count}, ${clock(first.t)} → ${clock(latest.t)} · model v${latest.version} · newest on the right`,
  );
  const frag = document.createDocumentFragment();
  frag.append(legend(threshold), grid, axis);
  return frag;
}
