// The local broker: a Knative-broker-compatible ingress (POST /) in front of per-trigger queues and delivery workers.
import type { AddressInfo } from 'node:net';
import { type Context, Hono } from 'hono';
import type { Logger } from '../../shared/runtime/logger.ts';
import { DependencyError, InvalidInputError, OverCapacityError } from '../../shared/errors/index.ts';
import { installEdge, send } from '../../shared/runtime/http-edge.ts';
import { readMessage } from '../../shared/runtime/read-message.ts';
import { type AppServer, listenApp } from '../../shared/runtime/server.ts';
import { problemResponse, type ReceiptEntry } from '../../shared/runtime/respond.ts';
import { createDeadLetterStore, type DeadLetter } from './dead-letters.ts';
import { createDispatcher, type LeftEvent } from './dispatcher.ts';
import { readEvents } from './event.ts';
import type { Trigger } from './triggers.ts';

export interface BrokerOptions {
  /** Triggers as loadTriggers() returns them; only those whose spec.broker is `name` are served. */
  triggers: readonly Trigger[];
  /** Base URL of a Knative Service by name (`score` → `http://127.0.0.1:8083`); called once per trigger by createBroker, may throw for an unknown name. */
  resolve: (service: string) => string;
  /** Events each trigger's queue holds before the ingress answers 429. */
  queueCapacity: number;
  /** JSON-lines file for dead letters; without it they are kept in memory only. */
  deadLetterFile?: string;
  log: Logger;
  /** Deliveries in flight per trigger (default 8). */
  concurrency?: number;
  /** The Broker this process plays (default `default`). */
  name?: string;
  /** Per-attempt timeout when the trigger's delivery sets none (default 30 s). */
  attemptTimeoutMs?: number;
  /** Largest request or reply body (default 1 MiB). */
  maxBodyBytes?: number;
  /** Dead letters kept in memory for the dashboard (default 200). */
  keepDeadLetters?: number;
  /** How long a reply waits for room in a full queue before it is queued anyway (default 10 s). */
  replyWaitMs?: number;
}

export interface TriggerStats {
  name: string;
  subscriber: string;
  accepted: number;
  delivered: number;
  retried: number;
  deadLettered: number;
  replies: number;
  queued: number;
  inFlight: number;
}

export interface BrokerStats {
  /** Events taken in at the ingress with 202. */
  accepted: number;
  /** Events refused with 400. */
  rejected: number;
  /** Requests refused with 429 (queue full). */
  refused: number;
  /** Events (ingress or reply) that matched no trigger. */
  unrouted: number;
  replies: number;
  invalidReplies: number;
  queued: number;
  inFlight: number;
  queueCapacity: number;
  triggers: TriggerStats[];
}

export interface StopReport {
  /** True when every accepted event was delivered or dead-lettered before the grace period ended. */
  drained: boolean;
  left: LeftEvent[];
}

export interface Broker {
  /** The hono app: POST / (and POST /:namespace/:broker), GET /broker/stats, GET /broker/dead-letters, health. */
  app: Hono;
  /** Opens the dead-letter file and starts delivering. */
  start(): Promise<void>;
  /** start() plus an HTTP server on `port` (0 picks one). */
  listen(opts: { port: number; host?: string }): Promise<{ url: string; port: number }>;
  /** Refuses new events (503), drains for up to `graceMs` (default 5 s), then reports what was left. */
  stop(opts?: { graceMs?: number }): Promise<StopReport>;
  stats(): BrokerStats;
  deadLetters(): DeadLetter[];
  /** Resolves when nothing is queued or in flight (after start()). */
  whenIdle(): Promise<void>;
}

/**
 * Creates the local broker. One bounded FIFO per trigger: a slow or failing subscriber fills its own queue and
 * the ingress answers 429 for events routed to it, while other triggers keep flowing. An event answered 202 is
 * delivered, dead-lettered, or still queued or retrying; stop() drains and reports any that remain.
 */
export function createBroker(opts: BrokerOptions): Broker {
  const name = opts.name ?? 'default';
  const triggers = opts.triggers.filter((t) => t.broker === name);
  for (const t of opts.triggers)
    if (t.broker !== name)
      opts.log.info({ trigger: t.name, broker: t.broker }, 'trigger of another broker ignored');
  const maxBodyBytes = opts.maxBodyBytes ?? 1024 * 1024;
  const deadLetters = createDeadLetterStore({
    file: opts.deadLetterFile,
    keep: opts.keepDeadLetters ?? 200,
    log: opts.log,
  });
  const dispatcher = createDispatcher({
    triggers,
    resolve: opts.resolve,
    queueCapacity: opts.queueCapacity,
    concurrency: opts.concurrency ?? 8,
    attemptTimeoutMs: opts.attemptTimeoutMs ?? 30_000,
    maxResponseBytes: maxBodyBytes,
    replyWaitMs: opts.replyWaitMs ?? 10_000,
    deadLetters,
    log: opts.log,
  });
  const counts = { accepted: 0, rejected: 0, refused: 0 };
  const state = { started: false, stopping: false };
  let server: AppServer | undefined;

  const app = new Hono();
  installEdge(app, { log: opts.log, maxBodyBytes });
  const ingress = async (c: Context): Promise<Response> => {
    if (!state.started || state.stopping)
      throw new DependencyError('broker', state.stopping ? 'shutting down' : 'not started');
    const message = await readMessage(c, maxBodyBytes);
    const { mode, entries } = readEvents(message.headers, message.body);
    const bad = entries.filter((e) => !e.ok);
    if (bad.length > 0 || entries.length === 0) {
      counts.rejected += bad.length;
      const first = bad[0];
      const receipts: ReceiptEntry[] = bad.map((e) => ({
        index: e.index,
        outcome: 'rejected',
        status: 400,
        detail: e.error.message,
        field: e.error.field,
      }));
      if (!first) throw new InvalidInputError('body', 'a batch needs at least one event');
      return send(c, problemResponse(first.error, mode === 'batch' ? receipts : []));
    }
    const events = entries.flatMap((e) => (e.ok ? [e.event] : []));
    const offered = dispatcher.offer(events);
    if (!offered.ok) {
      counts.refused++;
      const t = offered.full.trigger.name;
      throw new OverCapacityError(`queue of trigger ${t} is full (${opts.queueCapacity} events)`);
    }
    counts.accepted += events.length;
    return c.body(null, 202);
  };
  app.post('/', ingress);
  app.post('/:namespace/:broker', (c) => (c.req.param('broker') === name ? ingress(c) : c.notFound()));
  app.get('/broker/stats', (c) => c.json(stats()));
  app.get('/broker/dead-letters', (c) => c.json(deadLetters.recent()));
  app.get('/health/liveness', (c) => c.json({ status: 'alive' }));
  app.get('/health/readiness', (c) => {
    const ready = state.started && !state.stopping;
    return c.json({ status: ready ? 'ready' : 'not ready' }, ready ? 200 : 503);
  });

  function stats(): BrokerStats {
    const perTrigger = dispatcher.lanes.map(
      (l): TriggerStats => ({
        name: l.trigger.name,
        subscriber: l.target.url,
        accepted: l.accepted,
        delivered: l.delivered,
        retried: l.retried,
        deadLettered: l.deadLettered,
        replies: l.replies,
        queued: l.queue.length,
        inFlight: l.inFlight,
      }),
    );
    return {
      ...counts,
      ...dispatcher.counters,
      queued: perTrigger.reduce((n, t) => n + t.queued, 0),
      inFlight: perTrigger.reduce((n, t) => n + t.inFlight, 0),
      queueCapacity: opts.queueCapacity,
      triggers: perTrigger,
    };
  }

  async function start(): Promise<void> {
    if (state.started) return;
    await deadLetters.open();
    state.started = true;
    dispatcher.start();
    opts.log.info({ broker: name, triggers: triggers.map((t) => t.name) }, 'broker started');
  }

  return {
    app,
    start,
    stats,
    deadLetters: () => deadLetters.recent(),
    whenIdle: () => dispatcher.whenIdle(),
    async listen({ port, host }) {
      await start();
      const s = await listenApp(app, { name: 'broker', port, host: host ?? '127.0.0.1' });
      server = s;
      const bound = (s.address() as AddressInfo).port;
      opts.log.info({ port: bound }, 'broker ingress listening');
      return { url: `http://${host ?? '127.0.0.1'}:${bound}`, port: bound };
    },
    async stop({ graceMs = 5000 } = {}) {
      state.stopping = true;
      let timer: NodeJS.Timeout | undefined;
      const drained = await Promise.race([
        dispatcher.whenIdle().then(() => true),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(false), graceMs);
        }),
      ]);
      clearTimeout(timer);
      if (!drained) await dispatcher.abort();
      dispatcher.close();
      const left = dispatcher.left();
      if (left.length > 0) opts.log.warn({ left: left.length }, 'broker stopped with events not delivered');
      if (server) {
        const s = server;
        server = undefined;
        await new Promise<void>((resolve) => {
          s.close(() => resolve());
          if ('closeAllConnections' in s) s.closeAllConnections();
        });
      }
      await deadLetters.close();
      return { drained: drained && left.length === 0, left };
    },
  };
}
