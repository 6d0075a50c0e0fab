// The HTTP edge: bodies within the limit, JSON and zod checks naming a dotted field, one error handler per app.
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Hono } from 'hono';
import { z } from 'zod';
import {
  DependencyError,
  InvalidInputError,
  NotFoundError,
  OverCapacityError,
  UnauthorizedError,
} from '../../../shared/errors/index.ts';
import {
  type AppServer,
  createLogger,
  errorStyle,
  fieldPath,
  installEdge,
  invalidInputFrom,
  listenApp,
  parseInput,
  readBody,
} from '../../../shared/runtime/index.ts';

const LIMIT = 1024;

const Order = z.object({
  customer: z.object({ id: z.string().min(1) }),
  lines: z.array(z.object({ sku: z.string(), amount: z.number().positive() })).min(1),
  payment: z.union([
    z.object({ card: z.object({ number: z.string().length(16) }) }),
    z.object({ iban: z.string().min(15) }),
  ]),
});

const goodOrder = {
  customer: { id: 'c-1' },
  lines: [{ sku: 'a', amount: 3 }],
  payment: { iban: 'DE89370400440532013000' },
};

/** An app with the edge and a route for each way a request can fail; `logged` collects the error log lines. */
function edgeApp() {
  const logged: Record<string, unknown>[] = [];
  const log = createLogger({
    name: 'edge-test',
    level: 'error',
    destination: { write: (line: string) => logged.push(JSON.parse(line) as Record<string, unknown>) },
  });
  const app = new Hono();
  installEdge(app, { log, maxBodyBytes: LIMIT });
  let written = 0;
  app.post('/orders', async (c) => {
    const order = await readBody(c, Order);
    written++;
    return c.json({ lines: order.lines.length }, 201);
  });
  app.post('/settings', async (c) => {
    const settings = await readBody(c, z.object({ level: z.number().int() }), { under: 'body', empty: {} });
    return c.json(settings);
  });
  app.get('/down', () => {
    throw new DependencyError('store', 'connection refused');
  });
  app.get('/busy', () => {
    throw new OverCapacityError('queue full');
  });
  app.get('/locked', () => {
    throw new UnauthorizedError('a valid bearer token is required', { realm: 'edge-test' });
  });
  app.get('/boom', () => {
    throw new Error('password=hunter2 at db.internal:5432');
  });
  app.get('/plain/missing', errorStyle({ body: 'plain' }), () => {
    throw new NotFoundError('no model named fraud');
  });
  app.get('/plain/boom', errorStyle({ body: 'plain' }), () => {
    throw new TypeError('internal detail');
  });
  app.get(
    '/status',
    errorStyle({ extra: (err) => (err.retriable ? { store: { reachable: false } } : undefined) }),
    () => {
      throw new DependencyError('store', 'connection refused');
    },
  );
  return { app, logged, written: () => written };
}

const postJson = (body: string, headers: Record<string, string> = {}) => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', ...headers },
  body,
});

describe('the HTTP edge', () => {
  it('refuses a body over MAX_BODY_BYTES with 413 problem+json, before the route writes anything', async () => {
    const { app, written } = edgeApp();
    const big = JSON.stringify({ ...goodOrder, note: 'x'.repeat(LIMIT) });
    const res = await app.request('/orders', postJson(big));
    assert.equal(res.status, 413);
    assert.equal(res.headers.get('content-type'), 'application/problem+json');
    const problem = (await res.json()) as { title: string; retriable: boolean };
    assert.equal(problem.title, 'payload too large');
    assert.equal(problem.retriable, false);
    assert.equal(written(), 0);
    const ok = await app.request('/orders', postJson(JSON.stringify(goodOrder)));
    assert.equal(ok.status, 201);
    assert.equal(written(), 1);
  });

  describe('over a real socket', () => {
    let server: AppServer;
    let url: string;
    let edge: ReturnType<typeof edgeApp>;
    before(async () => {
      edge = edgeApp();
      server = await listenApp(edge.app, { name: 'edge-test', port: 0, host: '127.0.0.1' });
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    after(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it('refuses a chunked body that grows past the limit without declaring its length with 413', async () => {
      const body = new TextEncoder().encode(JSON.stringify({ ...goodOrder, note: 'x'.repeat(4 * LIMIT) }));
      const chunks = new ReadableStream<Uint8Array>({
        start(controller) {
          for (let i = 0; i < body.length; i += 256) controller.enqueue(body.subarray(i, i + 256));
          controller.close();
        },
      });
      const res = await fetch(`${url}/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: chunks,
        duplex: 'half',
      } as RequestInit);
      assert.equal(res.status, 413);
      assert.equal(((await res.json()) as { title: string }).title, 'payload too large');
      assert.equal(edge.written(), 0);
    });

    it('reads a body within the limit from the node request', async () => {
      const res = await fetch(`${url}/orders`, postJson(JSON.stringify(goodOrder)));
      assert.equal(res.status, 201);
      assert.deepEqual(await res.json(), { lines: 1 });
    });
  });

  it('answers malformed JSON with 400 naming body', async () => {
    const { app } = edgeApp();
    const res = await app.request('/orders', postJson('{"customer": '));
    assert.equal(res.status, 400);
    assert.equal(res.headers.get('content-type'), 'application/problem+json');
    const problem = (await res.json()) as { field: string; detail: string; retriable: boolean };
    assert.equal(problem.field, 'body');
    assert.equal(problem.detail, 'the body must be JSON');
    assert.equal(problem.retriable, false);
  });

  it('names a nested zod failure by its dotted path, indexes as segments', async () => {
    const { app } = edgeApp();
    const order = {
      ...goodOrder,
      lines: [
        { sku: 'a', amount: 3 },
        { sku: 'b', amount: -1 },
      ],
    };
    const res = await app.request('/orders', postJson(JSON.stringify(order)));
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as { field: string }).field, 'lines.1.amount');
  });

  it('follows a union that failed every branch to the field the closest branch names', async () => {
    const { app } = edgeApp();
    const order = { ...goodOrder, payment: { card: { number: '4111' } } };
    const res = await app.request('/orders', postJson(JSON.stringify(order)));
    assert.equal(((await res.json()) as { field: string }).field, 'payment.card.number');
  });

  it('names fields under a root when asked, and reads an empty body as the given value', async () => {
    const { app } = edgeApp();
    const bad = await app.request('/settings', postJson(JSON.stringify({ level: 1.5 })));
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as { field: string }).field, 'body.level');
    const empty = await app.request('/settings', postJson(''));
    assert.equal(empty.status, 400);
    assert.equal(((await empty.json()) as { field: string }).field, 'body.level');
  });

  it('answers a thrown DependencyError with 503, retriable, so the caller tries again', async () => {
    const { app, logged } = edgeApp();
    const res = await app.request('/down');
    assert.equal(res.status, 503);
    assert.equal(res.headers.get('content-type'), 'application/problem+json');
    const problem = (await res.json()) as { status: number; retriable: boolean; detail: string };
    assert.deepEqual(
      [problem.status, problem.retriable, problem.detail],
      [503, true, 'store: connection refused'],
    );
    assert.equal(logged.length, 0, 'a FlywheelError is an answer, not a failure of the server');
  });

  it('answers 429 with Retry-After and 401 with the challenge of the realm the error names', async () => {
    const { app } = edgeApp();
    const busy = await app.request('/busy');
    assert.equal(busy.status, 429);
    assert.equal(busy.headers.get('retry-after'), '1');
    const locked = await app.request('/locked');
    assert.equal(locked.status, 401);
    assert.equal(locked.headers.get('www-authenticate'), 'Bearer realm="edge-test"');
  });

  it('answers an unknown error with a retriable 500 that does not leak its message, and logs it', async () => {
    const { app, logged } = edgeApp();
    const res = await app.request('/boom');
    assert.equal(res.status, 500);
    const text = await res.text();
    assert.doesNotMatch(text, /hunter2|db\.internal/);
    const problem = JSON.parse(text) as { detail: string; retriable: boolean };
    assert.deepEqual([problem.detail, problem.retriable], ['unexpected error', true]);
    assert.equal(logged.length, 1);
    assert.equal(logged[0]?.msg, 'request failed');
    assert.match(JSON.stringify(logged[0]?.err), /hunter2/);
  });

  it("writes a route's errors in its own style: { error } for the plain style, extra members on a problem", async () => {
    const { app } = edgeApp();
    const missing = await app.request('/plain/missing');
    assert.equal(missing.status, 404);
    assert.deepEqual(await missing.json(), { error: 'no model named fraud' });
    const boom = await app.request('/plain/boom');
    assert.equal(boom.status, 500);
    assert.equal(((await boom.json()) as { detail: string }).detail, 'unexpected error');
    const status = await app.request('/status');
    assert.equal(status.status, 503);
    assert.deepEqual(((await status.json()) as { store: unknown }).store, { reachable: false });
  });
});

describe('field paths', () => {
  it('joins a path with dots, indexes as plain segments', () => {
    assert.equal(fieldPath(['inputs', 0, 'shape']), 'inputs.0.shape');
    assert.equal(fieldPath([]), '');
  });

  it('names the failing field under the given root, the root itself for a problem with the whole value', () => {
    const schema = z.object({ amount: z.number() });
    const under = (value: unknown, root?: string) => {
      try {
        parseInput(schema, value, root === undefined ? {} : { under: root });
        return undefined;
      } catch (err) {
        assert.ok(err instanceof InvalidInputError);
        return err.field;
      }
    };
    assert.equal(under({ amount: 'x' }, 'data'), 'data.amount');
    assert.equal(under('not an object', 'data'), 'data');
    assert.equal(under({ amount: 'x' }), 'amount');
    assert.equal(under('not an object'), 'body');
    assert.equal(under({ amount: 1 }, 'data'), undefined);
  });

  it('puts the prefix before the message and keeps the zod error as the cause', () => {
    const parsed = z.object({ amount: z.number() }).safeParse({ amount: 'x' });
    assert.equal(parsed.success, false);
    if (parsed.success) return;
    const err = invalidInputFrom(parsed.error, { under: 'data', prefix: 'invalid data for t: ' });
    assert.equal(err.field, 'data.amount');
    assert.match(err.message, /^invalid data for t: /);
    assert.equal(err.cause, parsed.error);
  });
});
