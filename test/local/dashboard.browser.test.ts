// /dashboard in headless Chromium: every panel shows live numbers from a real LoopState, and event data stays text.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it, mock } from 'node:test';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { type BrowserContext, chromium, type Locator, type Page } from 'playwright-core';
import { dashboardRoutes } from '../../local/dashboard/routes.ts';
import {
  sampleAccepted,
  sampleDriftWindows,
  sampleFailed,
  sampleLaunched,
  samplePromoted,
  sampleRejected,
  sampleScore,
  sampleTrained,
} from '../../local/dashboard/sample.ts';
import { LoopState } from '../../local/state.ts';
import { DEFAULT_DRIFT_CONFIG } from '../../shared/drift/index.ts';
import { InvalidInputError } from '../../shared/errors/index.ts';
import { EventTypes, type FlywheelEvent } from '../../shared/events/index.ts';
import { problemOf } from '../../shared/runtime/problem.ts';
import {
  postStructured,
  type Running,
  type Subscriber,
  startBroker,
  startSubscriber,
  triggerYaml,
} from './broker/support.ts';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
/** Markup in event data: it must show as these characters and never run. */
const PWNED = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=1</script>';
const SCREENSHOT = path.resolve('out/dashboard.png');
const WAIT = { timeout: 5000 };

const REJECTION = 'rocAuc 0.861 is not above the champion 0.902 + 0.005';
let serial = 0;
const accepted = (customerId?: string): FlywheelEvent =>
  sampleAccepted({ n: ++serial, ...(customerId === undefined ? {} : { customerId }) });
const scored = (input: { risk: number; version: number; customerId?: string }): FlywheelEvent =>
  sampleScore({ n: ++serial, ...input });

/** 90 seconds of history laid down on a fake Date clock, so the throughput chart and timeline have a shape. */
function history(state: LoopState): { ingested: number; scored: number; perSecond: number[] } {
  const features = ['amount', 'txn_count_24h', 'is_online'];
  const windows = sampleDriftWindows({ features, windows: 8, shiftFrom: 4 });
  assert.equal(
    windows.filter((e) => e.type === EventTypes.driftDetected).length,
    1,
    'the fixture has one detection',
  );
  let ingested = 0;
  let scoredCount = 0;
  const perSecond: number[] = [];
  mock.timers.enable({ apis: ['Date'], now: Date.now() - 90_000 });
  try {
    state.observe(samplePromoted({ model: 'risk', version: 1, previous: null }));
    state.observe(samplePromoted({ model: 'segment', version: 1, previous: null }));
    for (let s = 0; s < 90; s++) {
      const rate = 30 + Math.round(8 * Math.sin(s / 7)) + (s > 60 ? 12 : 0);
      perSecond.push(rate);
      for (let i = 0; i < rate; i++) {
        state.observe(accepted());
        ingested++;
        if (i === rate - 1 && s % 10 === 3) continue; // one still in flight now and then
        const high = i === 0 && s % 9 === 0;
        state.observe(
          scored({
            risk: high ? 0.82 + (s % 7) / 50 : ((i * 37) % 60) / 100,
            version: 1,
            ...(high && s === 45 ? { customerId: PWNED } : {}),
          }),
        );
        scoredCount++;
      }
      const window = windows[Math.floor(s / 10)];
      if (s % 10 === 9 && window) state.observe(window);
      const timeline: Record<number, FlywheelEvent> = {
        70: sampleLaunched({ model: 'risk', jobName: 'train-risk-7f3a' }),
        80: sampleTrained({ version: 2, metrics: { rocAuc: 0.861, brier: 0.094, rows: 4000 } }),
        81: sampleRejected({ version: 2, champion: 1, reasons: [REJECTION] }),
        84: sampleFailed({ model: 'segment', reason: 'trainer exited with code 1' }),
      };
      const event = timeline[s];
      if (event) state.observe(event);
      mock.timers.tick(1000);
      state.tick();
    }
  } finally {
    mock.timers.reset();
  }
  for (let k = 1; k <= 100; k++) state.scoreLatency(k / 10);
  Object.assign(state.source, {
    simulatedTime: Date.UTC(2026, 10, 3, 14, 5),
    drifting: true,
    sent: ingested + 12,
  });
  return { ingested, scored: scoredCount, perSecond };
}

/** A broker whose subscriber refuses `bad-*` events with 400 problem+json and answers `down-*` with 503. */
async function deadLetteringBroker(): Promise<{
  running: Running;
  sub: Subscriber;
  send: (id: string) => Promise<void>;
}> {
  const sub = await startSubscriber((req) => {
    if (req.headers['ce-id']?.startsWith('down-'))
      return { status: 503, body: 'featurize: redis unavailable' };
    const problem = problemOf(new InvalidInputError('data.customerId', `must not contain markup: ${PWNED}`));
    return {
      status: 400,
      headers: { 'content-type': 'application/problem+json' },
      body: JSON.stringify(problem),
    };
  });
  const yaml = triggerYaml({
    name: 'featurize',
    service: 'featurize',
    filter: `filter: { attributes: { type: ${EventTypes.transactionAccepted} } }`,
    delivery: '{ retry: 1, backoffPolicy: exponential, backoffDelay: PT0.005S }',
  });
  const running = await startBroker({ yaml: [yaml], services: { featurize: `${sub.url}/` } });
  const send = async (id: string): Promise<void> => {
    const { extensions: _, ...event } = { ...accepted(PWNED), id };
    assert.equal((await postStructured(running.url, event)).status, 202);
    await running.broker.whenIdle();
  };
  for (const id of ['bad-1', 'down-1', 'bad-2']) await send(id);
  return { running, sub, send };
}

/** The text as a person sees it (layout-aware: block elements separated), which is what the page must show. */
const seen = (locator: Locator): Promise<string> => locator.innerText();
const text = (page: Page, selector: string): Promise<string> => seen(page.locator(selector).first());

/** Waits (bounded) until the element's text is `expected`, then returns it, so a failure names what was seen. */
async function shows(page: Page, selector: string, expected: string): Promise<string> {
  await page
    .waitForFunction(
      ([s, e]) => document.querySelector(s ?? '')?.textContent === e,
      [selector, expected],
      WAIT,
    )
    .catch(() => undefined);
  return text(page, selector);
}

describe('dashboard in headless Chromium', () => {
  const state = new LoopState();
  const fed = history(state);
  let broker: Awaited<ReturnType<typeof deadLetteringBroker>> | undefined;
  let server: ReturnType<typeof serve> | undefined;
  let context: BrowserContext | undefined;
  let profile: string | undefined;
  let page: Page;
  const problems: string[] = [];

  before(async () => {
    if (!existsSync(CHROMIUM)) throw new Error('chromium not found: apt-get install -y chromium');
    broker = await deadLetteringBroker();
    const b = broker.running.broker;
    const app = new Hono();
    dashboardRoutes(app, () => state.snapshot({ deadLetters: b.deadLetters(), broker: b.stats() }));
    const port = await new Promise<number>((resolve) => {
      server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info: AddressInfo) =>
        resolve(info.port),
      );
    });
    profile = await mkdtemp(path.join(os.tmpdir(), 'dashboard-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1440, height: 900 },
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
    page.on('console', (msg) => {
      if (msg.type() === 'error') problems.push(`console: ${msg.text()}`);
    });
    await page.goto(`http://127.0.0.1:${port}/dashboard`);
  });

  after(async () => {
    await context?.close();
    if (profile) await rm(profile, { recursive: true, force: true });
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    await broker?.running.broker.stop({ graceMs: 100 });
    await broker?.sub.close();
  });

  it('renders every panel and the totals fed to the loop state', async () => {
    assert.equal(
      await shows(page, '[data-total="ingested"]', fed.ingested.toLocaleString('en-US')),
      fed.ingested.toLocaleString('en-US'),
    );
    assert.equal(await text(page, '[data-total="scored"]'), fed.scored.toLocaleString('en-US'));
    assert.equal(
      await text(page, '[data-total="scored-by-version"]'),
      `v1 ${fed.scored.toLocaleString('en-US')}`,
    );
    for (const key of ['throughput', 'drift', 'models', 'high-risk', 'dead-letters']) {
      const panel = page.locator(`[data-panel="${key}"]`);
      assert.equal(await panel.isVisible(), true, `${key} is visible`);
      assert.doesNotMatch(await seen(panel), /Loading…/, `${key} has rendered`);
    }
    assert.equal(await page.locator('[data-panel="throughput"] svg polyline').count(), 2);
    const lastFive = fed.perSecond.slice(-5).reduce((a, b) => a + b, 0) / 5;
    assert.equal(await text(page, '[data-total="events-per-second"]'), lastFive.toFixed(1));
    assert.equal(await text(page, '[data-total="score-p99-ms"]'), '10.0');
    assert.equal(await text(page, '[data-total="champion-risk"]'), 'v1');
    assert.equal(await text(page, '[data-total="champion-segment"]'), 'v1');
    assert.equal(await text(page, '[data-total="training"]'), 'segment: failed');
    assert.equal(await text(page, '[data-total="simulated-time"]'), '2026-11-03 14:05');
    assert.equal(await text(page, '[data-total="drifting"]'), 'drift injected');
  });

  it('shows per-feature PSI with the threshold marked and the detected window highlighted', async () => {
    const drift = page.locator('[data-panel="drift"]');
    assert.deepEqual(await drift.locator('[data-feature]').allInnerTexts(), [
      'amount',
      'txn_count_24h',
      'is_online',
      'prediction (score)',
    ]);
    assert.match(await seen(drift), /0\.2 threshold/);
    assert.equal(
      await drift.locator('.threshold-mark').getAttribute('data-threshold'),
      String(DEFAULT_DRIFT_CONFIG.psiThreshold),
    );
    assert.equal(await drift.locator('.cell.win').count(), 8);
    assert.equal(await drift.locator('.cell.win.detected').count(), 1);
    assert.ok(
      (await drift.locator('.fname.over').allInnerTexts()).includes('amount'),
      'the shifted amount is over the threshold',
    );
  });

  it('lists promotions and rejections with their reasons, newest first', async () => {
    const items = page.locator('[data-panel="models"] li');
    assert.match(await seen(items.first()), /training failed\s+segment/);
    assert.match(
      await seen(page.locator('[data-panel="models"] li[data-kind="rejected"]')),
      new RegExp(`risk v2[\\s\\S]*${REJECTION.replace(/[.+]/g, '\\$&')}`),
    );
    assert.match(
      await seen(page.locator('[data-panel="models"] li[data-kind="trained"]')),
      /rocAuc 0\.861, brier 0\.094/,
    );
    assert.equal(await page.locator('[data-panel="models"] li[data-kind="promoted"]').count(), 2);
    assert.equal(await page.locator('[data-panel="models"] li[data-kind="drift"]').count(), 1);
  });

  it('shows dead letters with their error code, destination and decoded reason, and the broker counters', async () => {
    const panel = page.locator('[data-panel="dead-letters"]');
    assert.deepEqual(await panel.locator('tbody [data-code]').allInnerTexts(), ['400', '503', '400']);
    const body = await seen(panel);
    assert.match(body, /invalid input: must not contain markup/);
    assert.match(body, /featurize: redis unavailable/);
    assert.match(body, /retries exhausted after 2 attempts/);
    assert.ok(body.includes(broker?.sub.url ?? '?'), 'knativeerrordest is shown');
    assert.equal(await text(page, '[data-broker="accepted"]'), '3');
    assert.equal(await seen(panel.locator('tr[data-trigger="featurize"] td.bad')), '3');
  });

  it('shows markup from event data as text and never runs it', async () => {
    assert.ok((await text(page, '[data-panel="high-risk"]')).includes(PWNED));
    assert.ok((await text(page, '[data-panel="dead-letters"]')).includes(PWNED));
    const injected = await page.evaluate(() => ({
      pwned: (window as unknown as { __pwned?: unknown }).__pwned ?? null,
      images: document.querySelectorAll('img').length,
      scripts: document.scripts.length,
    }));
    assert.deepEqual(injected, { pwned: null, images: 0, scripts: 1 });
  });

  it('follows the loop live: new events change the numbers within the polling interval', async () => {
    for (let i = 0; i < 25; i++) state.observe(accepted());
    for (let i = 0; i < 20; i++) state.observe(scored({ risk: 0.2, version: 3 }));
    state.observe(sampleTrained({ version: 3, metrics: { rocAuc: 0.915, brier: 0.071 } }));
    state.observe(samplePromoted({ model: 'risk', version: 3, previous: 1 }));
    state.tick();
    await broker?.send('bad-3');
    const ingested = (fed.ingested + 25).toLocaleString('en-US');
    assert.equal(await shows(page, '[data-total="ingested"]', ingested), ingested);
    assert.equal(await shows(page, '[data-total="champion-risk"]', 'v3'), 'v3');
    const byVersion = `v3 20 · v1 ${fed.scored.toLocaleString('en-US')}`;
    assert.equal(await shows(page, '[data-total="scored-by-version"]', byVersion), byVersion);
    assert.equal(await shows(page, '[data-panel="dead-letters"] .count', '4'), '4');
    assert.match(await seen(page.locator('[data-panel="models"] li').first()), /promoted\s+risk v3/);
    assert.equal(await text(page, '[data-broker="accepted"]'), '4');
  });

  it('keeps a full-page screenshot in out/ and logs no errors in the page', async () => {
    await mkdir(path.dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    assert.ok((await stat(SCREENSHOT)).size > 20_000, 'the screenshot has content');
    assert.deepEqual(problems, []);
  });
});
