// The baseline of the HTTP benchmarks: bare hono routes doing the least the real ones must (read, parse, reply), no framework.
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';

/**
 * Starts the bare routes. `POST /`: reads ce-* headers, parses the JSON body, replies 200 in binary mode with a new
 * id. `POST /v1/score`: parses `{ customerId }` and answers a result of score's shape with fixed numbers.
 */
export async function startBareRoute(): Promise<{ url: string; close(): Promise<void> }> {
  const app = new Hono();
  app.post('/', async (c) => {
    const id = c.req.header('ce-id');
    const type = c.req.header('ce-type');
    const source = c.req.header('ce-source');
    if (!id || !type || !source) return c.json({ error: 'missing attributes' }, 400);
    const data = (await c.req.json()) as unknown;
    c.header('ce-id', `echo-${id}`);
    c.header('ce-type', type);
    c.header('ce-source', 'echo');
    c.header('ce-specversion', '1.0');
    return c.json(data);
  });
  app.post('/v1/score', async (c) => {
    const body = (await c.req.json()) as { customerId?: unknown };
    if (typeof body.customerId !== 'string') return c.json({ error: 'customerId missing' }, 400);
    return c.json({
      results: [
        {
          customerId: body.customerId,
          risk: 0.5,
          riskBand: 'medium',
          segment: 0,
          model: { name: 'risk', version: 1 },
          segmentModel: { name: 'segment', version: 1 },
        },
      ],
    });
  });
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
  });
  const port = (server.address() as AddressInfo).port;
  return { url: `http://127.0.0.1:${port}/`, close: () => new Promise((r) => server.close(() => r())) };
}
