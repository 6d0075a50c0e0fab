// serve(): the one CloudEvents HTTP server every function runs on (hono), with health, metrics and graceful shutdown.
import type { AddressInfo } from 'node:net';
import { serve as serveNode, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import type { Logger } from './logger.ts';
import { OverCapacityError } from '../errors/index.ts';
import type { EventType } from '../events/index.ts';
import { readRequest } from './cloudevents.ts';
import { readMessage } from './read-message.ts';
import { dispatchAll } from './dispatch.ts';
import type { Handler } from './handler.ts';
import { installEdge, send } from './http-edge.ts';
import { createMetrics, type RuntimeMetrics } from './metrics.ts';
import { respond } from './respond.ts';

export interface FunctionDefinition<A extends EventType> {
  /** Function name: the metrics label, the log name and the default event source. */
  name: string;
  /** The event types this function handles; any other type is answered 400. */
  accepts: readonly A[];
  handle: Handler<A>;
  /**
   * Extra HTTP routes (score's REST and v2 APIs, promote's admin API). They read bodies and throw errors through the
   * HTTP edge (http-edge.ts), which the app already has.
   */
  routes?: (app: Hono, ctx: { metrics: RuntimeMetrics; log: Logger }) => void;
  /** Readiness gate: false until the function's dependencies are ready (models loaded, store reachable). */
  ready?: () => boolean | Promise<boolean>;
  /** Closes the function's clients after in-flight requests finish. */
  close?: () => Promise<void>;
}

export interface ServeOptions {
  port: number;
  host?: string;
  log: Logger;
  maxBodyBytes: number;
  /** Requests handled at once before new ones get 429. */
  maxInFlight?: number;
  shutdownGraceMs: number;
  /** Install SIGTERM/SIGINT handlers that drain and exit (main.ts sets this; tests do not). */
  handleSignals?: boolean;
}

export interface RunningFunction {
  app: Hono;
  server: ServerType;
  port: number;
  url: string;
  metrics: RuntimeMetrics;
  /** Stops accepting, waits for in-flight requests (bounded by the grace period), then closes clients. */
  close(): Promise<void>;
}

/** Builds the hono app of a function without listening, so tests can use app.request(). */
export function createApp<A extends EventType>(
  def: FunctionDefinition<A>,
  opts: Pick<ServeOptions, 'log' | 'maxBodyBytes' | 'maxInFlight'> & { metrics?: RuntimeMetrics },
): { app: Hono; metrics: RuntimeMetrics; state: { inFlight: number; draining: boolean } } {
  const metrics = opts.metrics ?? createMetrics(def.name);
  const state = { inFlight: 0, draining: false };
  const accepts = new Set<string>(def.accepts);
  const maxInFlight = opts.maxInFlight ?? 1024;
  const app = new Hono();
  installEdge(app, { log: opts.log, maxBodyBytes: opts.maxBodyBytes });

  app.get('/health/liveness', (c) => c.json({ status: 'alive' }));
  app.get('/health/readiness', async (c) => {
    const ready = !state.draining && (def.ready ? await def.ready() : true);
    return c.json({ status: ready ? 'ready' : 'not ready' }, ready ? 200 : 503);
  });
  app.get('/metrics', async (c) =>
    c.body(await metrics.registry.metrics(), 200, { 'content-type': metrics.registry.contentType }),
  );

  app.use('*', async (_c, next) => {
    state.inFlight++;
    try {
      await next();
    } finally {
      state.inFlight--;
    }
  });

  app.post('/', async (c) => {
    if (state.inFlight > maxInFlight)
      throw new OverCapacityError(`more than ${maxInFlight} requests in flight`);
    const message = await readMessage(c, opts.maxBodyBytes);
    const request = readRequest(message.headers, message.body);
    // A batch's events are handled concurrently; a repeat within the batch is a duplicate of its first copy.
    const results = await dispatchAll({
      entries: request.entries,
      accepts,
      handle: def.handle,
      metrics,
      log: opts.log,
      headers: message.headers,
    });
    return send(c, respond(request.mode, results));
  });

  def.routes?.(app, { metrics, log: opts.log });
  return { app, metrics, state };
}

/** A node HTTP server for a hono app; the one place @hono/node-server is used. */
export type AppServer = ServerType;

/**
 * Serves `app` on host:port (0 picks a free one) once listening; a port that cannot be had (taken, not allowed)
 * rejects with an error naming `name`, the host and the port, instead of an unhandled 'error' event.
 */
export function listenApp(app: Hono, opts: { name: string; port: number; host: string }): Promise<AppServer> {
  return new Promise<AppServer>((resolve, reject) => {
    const s = serveNode({ fetch: app.fetch, port: opts.port, hostname: opts.host }, () => resolve(s));
    s.once('error', (err) =>
      reject(new Error(`${opts.name} cannot listen on ${opts.host}:${opts.port}: ${err.message}`)),
    );
  });
}

/** Starts a function on `port` (0 picks a free one) and returns a handle to stop it. */
export async function serve<A extends EventType>(
  def: FunctionDefinition<A>,
  opts: ServeOptions,
): Promise<RunningFunction> {
  const { app, metrics, state } = createApp(def, opts);
  const server = await listenApp(app, { name: def.name, port: opts.port, host: opts.host ?? '0.0.0.0' });
  const port = (server.address() as AddressInfo).port;
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      state.draining = true;
      opts.log.info({ inFlight: state.inFlight }, 'shutting down: no new requests, draining in-flight ones');
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      const deadline = Date.now() + opts.shutdownGraceMs;
      while (state.inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      if (state.inFlight > 0)
        opts.log.warn({ inFlight: state.inFlight }, 'grace period over with requests in flight');
      if ('closeAllConnections' in server) server.closeAllConnections();
      await closed;
      await def.close?.();
      opts.log.info('stopped');
    })();
    return closing;
  };
  if (opts.handleSignals) {
    const onSignal = (signal: NodeJS.Signals) => {
      opts.log.info({ signal }, 'signal received');
      close().then(
        () => process.exit(0),
        (err: unknown) => {
          opts.log.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  }
  opts.log.info({ port, accepts: def.accepts }, `${def.name} listening`);
  return { app, server, port, url: `http://127.0.0.1:${port}`, metrics, close };
}
