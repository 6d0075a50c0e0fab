// GET /dashboard (the page) and GET /dashboard/data (the loop's snapshot as JSON) on the broker's hono app.
import type { Hono } from 'hono';
import { DEFAULT_DRIFT_CONFIG } from '../../shared/drift/config.ts';
import type { LoopSnapshot } from '../state.ts';
import { buildDashboardPage } from './page.ts';

export interface DashboardOptions {
  /** The PSI drift threshold the page marks (DRIFT_PSI_THRESHOLD); the drift defaults' 0.2 when left out. */
  psiThreshold?: number;
}

/**
 * Adds the dashboard to `app`. The page is built once, here; it polls /dashboard/data, which calls `snapshot`
 * on every request and is never cached, so what the page shows is at most one poll old.
 */
export function dashboardRoutes(
  app: Hono,
  snapshot: () => LoopSnapshot,
  options: DashboardOptions = {},
): void {
  const page = buildDashboardPage({
    psiThreshold: options.psiThreshold ?? DEFAULT_DRIFT_CONFIG.psiThreshold,
  });
  const pageHeaders = {
    'content-type': 'text/html; charset=utf-8',
    'content-security-policy': page.csp,
    'x-content-type-options': 'nosniff',
    'cache-control': 'no-store',
  };
  app.get('/dashboard', (c) => c.body(page.html, 200, pageHeaders));
  app.get('/dashboard/', (c) => c.redirect('/dashboard', 301));
  app.get('/dashboard/data', (c) =>
    c.json(snapshot(), 200, { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' }),
  );
}
