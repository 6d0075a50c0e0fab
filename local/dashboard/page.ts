// The /dashboard page: one self-contained HTML document (inline CSS, inline script, no network but /dashboard/data).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildSync } from 'esbuild';

export interface DashboardPage {
  html: string;
  /** A Content-Security-Policy allowing exactly the page's own inline script and style, and fetches to itself. */
  csp: string;
}

const here = (file: string): string => fileURLToPath(new URL(file, import.meta.url));

/** Bundles the browser script (client/main.ts and its helpers) into one classic script. */
function clientScript(): string {
  const out = buildSync({
    entryPoints: [here('./client/main.ts')],
    bundle: true,
    write: false,
    format: 'iife',
    platform: 'browser',
    target: 'es2022',
    legalComments: 'none',
    logLevel: 'silent',
  });
  const js = out.outputFiles[0]?.text;
  if (js === undefined) throw new Error('the dashboard script did not build');
  return js;
}

const sha256 = (text: string): string =>
  `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

/** A total: its label, the value the script fills (data-total), an optional unit and lines of detail. */
const card = (input: { key: string; label: string; unit?: string; sub?: string[] }): string =>
  `<div class="card card-${input.key}" data-card="${input.key}"><span class="label">${input.label}</span>` +
  `<span class="value"><span data-total="${input.key}">–</span>${input.unit ? `<small>${input.unit}</small>` : ''}</span>` +
  (input.sub ?? []).map((line) => `<span class="sub">${line}</span>`).join('') +
  '</div>';
const slot = (key: string): string => `<span data-total="${key}">–</span>`;

const panel = (input: { key: string; title: string; hint: string }): string =>
  `<section class="panel ${input.key}" data-panel="${input.key}"><header><h2>${input.title}` +
  `<span class="count"></span></h2><span class="hint">${input.hint}</span><span class="actions"></span></header>` +
  '<div class="body"><p class="empty">Loading…</p></div></section>';

/**
 * Builds the page once (the caller keeps it): the shell with every panel and total in place, so it reads
 * sensibly before the first poll, and the bundled script that fills them from /dashboard/data.
 */
export function buildDashboardPage(options: { psiThreshold: number }): DashboardPage {
  const css = readFileSync(here('./styles.css'), 'utf8');
  const js = clientScript();
  if (/<\/(script|style)/i.test(js + css))
    throw new Error('inline script or style would close its element early');
  const threshold = String(Number(options.psiThreshold));
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Flywheel · local loop</title>
<link rel="icon" href="data:,">
<style>${css}</style>
</head>
<body data-psi-threshold="${threshold}">
<header class="top">
  <div class="brand"><h1>Flywheel</h1><span class="muted">local loop</span></div>
  <span class="status" data-status="connecting">connecting…</span>
</header>
<div class="totals">
${card({ key: 'ingested', label: 'Ingested', sub: [`${slot('featurized')} featurized`, `${slot('labels')} labels`] })}
${card({ key: 'scored', label: 'Scored', sub: [slot('scored-by-version')] })}
${card({ key: 'events-per-second', label: 'Events / s', sub: ['ingested, last 5 s'] })}
${card({ key: 'score-p99-ms', label: 'Score p99', unit: 'ms', sub: ['handler latency'] })}
${card({ key: 'champion-risk', label: 'Risk model', sub: ['champion'] })}
${card({ key: 'champion-segment', label: 'Segment model', sub: ['champion'] })}
${card({ key: 'training', label: 'Training', sub: [`${slot('drift-windows')} drift windows`, `${slot('detections')} detected`] })}
${card({ key: 'simulated-time', label: 'Source · simulated time', unit: 'UTC', sub: [`${slot('drifting')} · ${slot('sent')} sent`] })}
</div>
<main class="grid">
${panel({ key: 'throughput', title: 'Throughput', hint: 'events per second' })}
${panel({ key: 'drift', title: 'Drift', hint: `per-feature PSI by window · threshold ${threshold}` })}
${panel({ key: 'models', title: 'Models', hint: 'version timeline, newest first' })}
${panel({ key: 'high-risk', title: 'High-risk scores', hint: 'risk band high, newest first' })}
${panel({ key: 'dead-letters', title: 'Dead letters', hint: 'deliveries the broker gave up on' })}
</main>
<script>${js}</script>
</body>
</html>
`;
  const csp = [
    "default-src 'none'",
    `script-src ${sha256(js)}`,
    `style-src ${sha256(css)}`,
    "connect-src 'self'",
    'img-src data:',
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
  return { html, csp };
}
