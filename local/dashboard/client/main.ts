// Browser entry of /dashboard: polls /dashboard/data every second and renders the header and the five panels.
import { utcMinute } from '../../labels.ts';
import type { LoopSnapshot } from '../../state.ts';
import { deadLetterPanel } from './dead-letters.ts';
import { clock, fill, fixed, h, int, setText } from './dom.ts';
import { driftModels, driftStrips } from './drift.ts';
import { highRiskTable, modelTimeline } from './panels.ts';
import { throughputChart } from './throughput.ts';

const POLL_MS = 1000;
const dataUrl = `${location.pathname.replace(/\/+$/, '')}/data`;
const threshold = Number(document.body.dataset.psiThreshold) || 0.2;

let latest: LoopSnapshot | null = null;
let driftModel = 'risk';

/** A cheap shape check: the page only reads what the loop's state serves, but a wrong URL must not throw. */
function isSnapshot(x: unknown): x is LoopSnapshot {
  if (!x || typeof x !== 'object') return false;
  const s = x as Record<string, unknown>;
  return (
    typeof s.totals === 'object' &&
    s.totals !== null &&
    ['throughput', 'drift', 'models', 'highRisk', 'deadLetters'].every((k) => Array.isArray(s[k]))
  );
}

/** Scores per risk model version, newest three first: "v3 120 · v2 4,210". */
function byVersion(counts: Record<string, number> | undefined): string {
  const entries = Object.entries(counts ?? {}).sort((a, b) => Number(b[0]) - Number(a[0]));
  return entries.length === 0
    ? 'by model version'
    : entries
        .slice(0, 3)
        .map(([v, n]) => `v${v} ${int(n)}`)
        .join(' · ');
}

function header(s: LoopSnapshot): void {
  setText('[data-total="ingested"]', int(s.totals.ingested));
  setText('[data-total="scored"]', int(s.totals.scored));
  setText('[data-total="scored-by-version"]', byVersion(s.scoredByVersion));
  setText('[data-total="featurized"]', int(s.totals.featurized));
  setText('[data-total="labels"]', int(s.totals.labels));
  setText('[data-total="events-per-second"]', fixed(s.eventsPerSecond, 1));
  setText('[data-total="score-p99-ms"]', fixed(s.scoreP99Ms, 1));
  setText('[data-total="champion-risk"]', s.champions.risk === null ? 'none' : `v${s.champions.risk}`);
  setText(
    '[data-total="champion-segment"]',
    s.champions.segment === null ? 'none' : `v${s.champions.segment}`,
  );
  setText('[data-total="training"]', s.training);
  document.querySelector('[data-total="training"]')?.setAttribute('title', s.training);
  setText('[data-total="drift-windows"]', int(s.totals.driftWindows));
  setText('[data-total="detections"]', int(s.totals.detections));
  setText(
    '[data-total="simulated-time"]',
    s.source.simulatedTime === null ? '–' : utcMinute(s.source.simulatedTime),
  );
  setText('[data-total="drifting"]', s.source.drifting ? 'drift injected' : 'stationary');
  setText('[data-total="sent"]', int(s.source.sent));
  document.querySelector('[data-card="simulated-time"]')?.classList.toggle('alert', s.source.drifting);
  document.querySelector('[data-card="training"]')?.classList.toggle('active', s.training !== 'idle');
}

function driftTabs(models: string[]): Node {
  const tabs = h('div', { class: 'tabs' });
  for (const m of models) {
    const b = h('button', { class: m === driftModel ? 'tab on' : 'tab', data: { model: m } }, m);
    b.type = 'button';
    b.addEventListener('click', () => {
      driftModel = m;
      if (latest) render(latest);
    });
    tabs.append(b);
  }
  return tabs;
}

/** The throughput panel's inner width (the chart is drawn at it); 600 before layout. */
function chartWidth(): number {
  return document.querySelector('[data-panel="throughput"] .body')?.clientWidth || 600;
}

function render(s: LoopSnapshot): void {
  header(s);
  fill(
    '[data-panel="throughput"] .body',
    throughputChart({ samples: s.throughput, now: s.now, width: chartWidth() }),
  );
  const models = driftModels(s.drift);
  if (models.length > 0 && !models.includes(driftModel)) driftModel = models[0] ?? 'risk';
  fill('[data-panel="drift"] .actions', models.length > 1 ? driftTabs(models) : null);
  fill('[data-panel="drift"] .body', driftStrips({ points: s.drift, model: driftModel, threshold }));
  fill('[data-panel="models"] .body', modelTimeline(s.models));
  fill('[data-panel="high-risk"] .body', highRiskTable(s.highRisk));
  fill('[data-panel="dead-letters"] .body', deadLetterPanel(s.deadLetters, s.broker));
  setText('[data-panel="dead-letters"] .count', s.deadLetters.length > 0 ? int(s.deadLetters.length) : '');
  setText('[data-panel="high-risk"] .count', s.highRisk.length > 0 ? int(s.highRisk.length) : '');
}

function status(ok: boolean, text: string): void {
  const el = document.querySelector('[data-status]');
  if (!el) return;
  el.setAttribute('data-status', ok ? 'live' : 'stale');
  el.textContent = text;
}

async function poll(): Promise<void> {
  try {
    const res = await fetch(dataUrl, { cache: 'no-store' });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const data: unknown = await res.json();
    if (!isSnapshot(data)) throw new Error('unexpected data');
    latest = data;
    render(data);
    status(true, `live · ${clock(data.now)}`);
  } catch (err) {
    const since = latest ? ` since ${clock(latest.now)}` : '';
    status(false, `no data${since} (${err instanceof Error ? err.message : String(err)})`);
  } finally {
    setTimeout(poll, POLL_MS);
  }
}

window.addEventListener('resize', () => {
  if (latest) render(latest);
});
void poll();
