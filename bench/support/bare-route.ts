// The baseline of the runtime benchmarks: a bare hono route that reads a binary CloudEvent and replies with it, no framework.
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';

/** Starts the bare route: reads ce-* headers, parses the JSON body, replies 200 in binary mode with a new id. */
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
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
  });
  const port = (server.address() as AddressInfo).port;
  return { url: `http://127.0.0.1:${port}/`, close: () => new Promise((r) => server.close(() => r())) };
}
