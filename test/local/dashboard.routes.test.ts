// GET /dashboard and /dashboard/data: a self-contained page under a strict CSP, and the live snapshot, never cached.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { Hono } from 'hono';
import { sampleAccepted, sampleScore } from '../../local/dashboard/sample.ts';
import { dashboardRoutes } from '../../local/dashboard/routes.ts';
import { LoopState } from '../../local/state.ts';

const PANELS = ['throughput', 'drift', 'models', 'high-risk', 'dead-letters'];
const TOTALS = [
  'ingested',
  'scored',
  'events-per-second',
  'score-p99-ms',
  'champion-risk',
  'champion-segment',
  'training',
  'simulated-time',
  'drifting',
];

function setup(options?: { psiThreshold: number }) {
  const state = new LoopState();
  const app = new Hono();
  let calls = 0;
  const snapshot = () => {
    calls++;
    return state.snapshot({ deadLetters: [], broker: null });
  };
  dashboardRoutes(app, snapshot, options);
  return { app, state, calls: () => calls };
}

const inline = (html: string, tag: 'script' | 'style'): string[] =>
  [...html.matchAll(new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`, 'g'))].map((m) => m[1] ?? '');
const hash = (text: string): string => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

describe('dashboard routes', () => {
  it('serves the page as HTML with every panel and total in place', async () => {
    const { app } = setup();
    const res = await app.request('/dashboard');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8');
    const html = await res.text();
    for (const p of PANELS) assert.ok(html.includes(`data-panel="${p}"`), `panel ${p}`);
    for (const t of TOTALS) assert.ok(html.includes(`data-total="${t}"`), `total ${t}`);
    assert.match(html, /<body data-psi-threshold="0.2">/);
  });

  it('allows only its own inline script and style, and fetches to itself (CSP hashes match the page)', async () => {
    const { app } = setup();
    const res = await app.request('/dashboard');
    const html = await res.text();
    const csp = res.headers.get('content-security-policy') ?? '';
    const scripts = inline(html, 'script');
    const styles = inline(html, 'style');
    assert.equal(scripts.length, 1);
    assert.equal(styles.length, 1);
    assert.ok(csp.includes(`script-src ${hash(scripts[0] ?? '')}`), csp);
    assert.ok(csp.includes(`style-src ${hash(styles[0] ?? '')}`), csp);
    assert.ok(csp.includes("default-src 'none'") && csp.includes("connect-src 'self'"), csp);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
  });

  it('loads nothing from the network: no external src, href or url()', async () => {
    const html = await (await setup().app.request('/dashboard')).text();
    assert.deepEqual(html.match(/\b(?:src|href)\s*=\s*["']?(?!data:)[^"'\s>]+/gi) ?? [], []);
    assert.deepEqual(html.match(/url\(|@import/gi) ?? [], []);
    assert.doesNotMatch(html, /<script[^>]+src=/i);
  });

  it('marks the configured PSI threshold', async () => {
    const html = await (await setup({ psiThreshold: 0.25 }).app.request('/dashboard')).text();
    assert.match(html, /data-psi-threshold="0.25"/);
    assert.match(html, /threshold 0.25/);
  });

  it('answers /dashboard/data with a fresh snapshot on every request, never cached', async () => {
    const { app, state, calls } = setup();
    const first = await app.request('/dashboard/data');
    assert.equal(first.status, 200);
    assert.equal(first.headers.get('cache-control'), 'no-store');
    assert.match(first.headers.get('content-type') ?? '', /^application\/json/);
    const before = (await first.json()) as {
      totals: { ingested: number; scored: number };
      highRisk: unknown[];
    };
    assert.deepEqual([before.totals.ingested, before.totals.scored, before.highRisk.length], [0, 0, 0]);
    state.observe(sampleAccepted({ n: 1 }));
    state.observe(sampleScore({ n: 1, risk: 0.93, version: 2, customerId: 'c-42' }));
    const after = (await (await app.request('/dashboard/data')).json()) as {
      totals: { ingested: number; scored: number };
      highRisk: { customerId: string; risk: number; version: number }[];
    };
    assert.deepEqual([after.totals.ingested, after.totals.scored], [1, 1]);
    assert.deepEqual(
      after.highRisk.map((s) => [s.customerId, s.risk, s.version]),
      [['c-42', 0.93, 2]],
    );
    assert.equal(calls(), 2);
  });

  it('redirects /dashboard/ to /dashboard', async () => {
    const res = await setup().app.request('/dashboard/');
    assert.equal(res.status, 301);
    assert.equal(res.headers.get('location'), '/dashboard');
  });
});
