// Per-trigger bounded queues and delivery workers: retry with backoff, replies back into the broker, dead letters.
import type http from 'node:http';
import type { Logger } from '../../shared/runtime/logger.ts';
import { type DeadLetterStore, deadLetterOf } from './dead-letters.ts';
import {
  attempt,
  type AttemptResult,
  backoffMs,
  createAgent,
  isRetriable,
  type Target,
  toTarget,
} from './delivery.ts';
import { type BrokerEvent, looksLikeEvent, readEvents } from './event.ts';
import { Fifo } from './queue.ts';
import type { Trigger } from './triggers.ts';

/** One trigger's queue, its in-flight deliveries and its counters. */
export interface Lane {
  trigger: Trigger;
  target: Target;
  queue: Fifo<BrokerEvent>;
  inFlight: number;
  accepted: number;
  delivered: number;
  retried: number;
  deadLettered: number;
  replies: number;
  spaceWaiters: (() => void)[];
}

/** An event still owed a delivery when the broker stopped. */
export interface LeftEvent {
  trigger: string;
  id: string;
  source: string;
  type: string;
  state: 'queued' | 'in-flight';
}

export interface DispatcherOptions {
  triggers: readonly Trigger[];
  resolve: (service: string) => string;
  queueCapacity: number;
  concurrency: number;
  attemptTimeoutMs: number;
  maxResponseBytes: number;
  /** How long a reply may wait for room in a full queue before it is queued anyway (never dropped). */
  replyWaitMs: number;
  deadLetters: DeadLetterStore;
  log: Logger;
}

export type Dispatcher = ReturnType<typeof createDispatcher>;

/**
 * Builds one lane per trigger. Each lane holds up to `queueCapacity` events from the ingress and runs at most
 * `concurrency` deliveries at once; a delivery holds its slot through its retries, so a failing subscriber
 * slows its own lane (congestion control, as the data-plane contract asks of brokers) and not the others.
 */
export function createDispatcher(opts: DispatcherOptions) {
  const agent: http.Agent = createAgent();
  /** Set by abort(): no new delivery starts, no retry is sent, and every backoff wait ends at once. */
  let aborted = false;
  /**
   * Wakes each delivery sleeping in a backoff. abort() calls them directly: one per wait, removed when the wait
   * ends, rather than one 'abort' listener per wait on a shared AbortSignal (with a subscriber down, every
   * delivery of every lane waits at once, and more than 10 listeners on one signal is Node's leak warning).
   */
  const sleepers = new Set<() => void>();
  const lanes: Lane[] = opts.triggers.map((trigger) => ({
    trigger,
    target: toTarget(subscriberUrl(trigger, opts.resolve)),
    queue: new Fifo<BrokerEvent>(Math.min(opts.queueCapacity, 1024)),
    inFlight: 0,
    accepted: 0,
    delivered: 0,
    retried: 0,
    deadLettered: 0,
    replies: 0,
    spaceWaiters: [],
  }));
  const counters = { unrouted: 0, replies: 0, invalidReplies: 0 };
  const retrying: LeftEvent[] = [];
  /** Woken after every delivery ends; whenIdle() and abort() wait on it. */
  let settleWaiters: (() => void)[] = [];
  let running = false;

  const route = (event: BrokerEvent): Lane[] => lanes.filter((lane) => lane.trigger.filter(event.attrs));
  const pending = (): number => lanes.reduce((n, l) => n + l.queue.length + l.inFlight, 0);

  function enqueue(lane: Lane, event: BrokerEvent): void {
    lane.queue.push(event);
    lane.accepted++;
    pump(lane);
  }

  function pump(lane: Lane): void {
    while (running && !aborted && lane.inFlight < opts.concurrency && lane.queue.length > 0) {
      const event = lane.queue.shift() as BrokerEvent;
      lane.inFlight++;
      if (lane.spaceWaiters.length > 0) for (const wake of lane.spaceWaiters.splice(0)) wake();
      deliver(lane, event).then(
        () => settle(lane),
        (err: unknown) => {
          opts.log.error({ err, trigger: lane.trigger.name }, 'delivery failed unexpectedly');
          settle(lane);
        },
      );
    }
  }

  function settle(lane: Lane): void {
    lane.inFlight--;
    pump(lane);
    if (settleWaiters.length > 0) {
      const waiters = settleWaiters;
      settleWaiters = [];
      for (const wake of waiters) wake();
    }
  }

  const nextSettle = (): Promise<void> => new Promise((resolve) => settleWaiters.push(resolve));

  async function deliver(lane: Lane, event: BrokerEvent): Promise<void> {
    const { delivery } = lane.trigger;
    const timeoutMs = delivery.timeoutMs ?? opts.attemptTimeoutMs;
    let result: AttemptResult | undefined;
    let attempts = 0;
    for (let retry = 0; ; retry++) {
      if (retry > 0) {
        lane.retried++;
        await backoff(backoffMs(delivery, retry));
        if (aborted) return leave(lane, event);
      }
      attempts++;
      result = await attempt({
        target: lane.target,
        event,
        agent,
        timeoutMs,
        maxResponseBytes: opts.maxResponseBytes,
      });
      if (result.status >= 200 && result.status < 300) {
        lane.delivered++;
        // Data-plane contract: a 202 is never a reply, even if it looks like an event.
        if (result.status !== 202 && looksLikeEvent(result.headers)) await takeReply(lane, result);
        return;
      }
      if (!isRetriable(result.status)) break;
      // Cut short by stop(): still owed, not failed (its last attempt may have been the one stop() aborted).
      if (aborted) return leave(lane, event);
      if (retry >= delivery.retry) break;
    }
    await deadLetter({ lane, event, result, attempts });
  }

  /** Waits `ms`, or less when abort() comes first; the timer is cleared either way. */
  function backoff(ms: number): Promise<void> {
    if (aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      sleepers.add(wake);
    });
  }

  function leave(lane: Lane, event: BrokerEvent): void {
    retrying.push({ ...ids(event), trigger: lane.trigger.name, state: 'in-flight' });
  }

  async function takeReply(lane: Lane, result: AttemptResult): Promise<void> {
    if (result.error) return invalidReply(lane, result.error);
    for (const entry of readEvents(result.headers, result.body).entries) {
      if (!entry.ok) {
        invalidReply(lane, entry.error.message);
        continue;
      }
      lane.replies++;
      counters.replies++;
      await publishReply(entry.event);
    }
  }

  /** The event was delivered; only its reply is unusable, so it is counted and logged, not retried. */
  function invalidReply(lane: Lane, error: string): void {
    counters.invalidReplies++;
    opts.log.warn(
      { trigger: lane.trigger.name, error },
      'subscriber replied with an invalid CloudEvent; reply dropped',
    );
  }

  /** A reply re-enters the broker. It is never refused (the subscriber already acted); it waits for room instead. */
  async function publishReply(event: BrokerEvent): Promise<void> {
    const targets = route(event);
    if (targets.length === 0) counters.unrouted++;
    for (const lane of targets) {
      const deadline = Date.now() + opts.replyWaitMs;
      while (lane.queue.length >= 2 * opts.queueCapacity && !aborted && Date.now() < deadline) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.max(1, deadline - Date.now()));
          lane.spaceWaiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      enqueue(lane, event);
    }
  }

  async function deadLetter(input: {
    lane: Lane;
    event: BrokerEvent;
    result: AttemptResult | undefined;
    attempts: number;
  }): Promise<void> {
    const { lane, event } = input;
    const letter = deadLetterOf({
      trigger: lane.trigger,
      dest: lane.target.url,
      event,
      result: input.result,
      attempts: input.attempts,
    });
    lane.deadLettered++;
    opts.log.warn(
      { trigger: letter.trigger, ...ids(event), attempts: letter.attempts, sink: letter.sink },
      `dead letter: ${letter.reason}`,
    );
    await opts.deadLetters.add(letter);
  }

  return {
    lanes,
    counters,
    route,
    pending,
    /** Starts delivering (queued events included). */
    start(): void {
      running = true;
      for (const lane of lanes) pump(lane);
    },
    /**
     * Ingress admission, all or nothing: queues every event on every matching lane, or nothing when one of those
     * lanes would pass its capacity (the caller answers 429). Returns the lane that was full, if any.
     */
    offer(events: readonly BrokerEvent[]): { ok: true } | { ok: false; full: Lane } {
      const plan = events.map(route);
      const need = new Map<Lane, number>();
      for (const matched of plan) for (const lane of matched) need.set(lane, (need.get(lane) ?? 0) + 1);
      for (const [lane, n] of need)
        if (lane.queue.length + n > opts.queueCapacity) return { ok: false, full: lane };
      for (const [i, matched] of plan.entries()) {
        const event = events[i] as BrokerEvent;
        if (matched.length === 0) counters.unrouted++;
        for (const lane of matched) enqueue(lane, event);
      }
      return { ok: true };
    },
    /** Resolves when nothing is queued or in flight. */
    async whenIdle(): Promise<void> {
      while (pending() > 0) await nextSettle();
    },
    /** Stops retries and in-flight attempts; what they carried is reported by left(). */
    async abort(): Promise<void> {
      aborted = true;
      for (const wake of [...sleepers]) wake();
      // A reply waiting for room stops waiting too; it is queued, and left() reports it.
      for (const lane of lanes) for (const wake of lane.spaceWaiters.splice(0)) wake();
      agent.destroy();
      while (lanes.some((l) => l.inFlight > 0)) await nextSettle();
    },
    /** Events still owed a delivery: queued ones and those whose retries were cut short by abort(). */
    left(): LeftEvent[] {
      const queued = lanes.flatMap((lane) =>
        lane.queue
          .toArray()
          .map((e): LeftEvent => ({ ...ids(e), trigger: lane.trigger.name, state: 'queued' })),
      );
      return [...retrying, ...queued];
    },
    close(): void {
      agent.destroy();
    },
  };
}

function ids(event: BrokerEvent): { id: string; source: string; type: string } {
  return { id: event.attrs.id ?? '', source: event.attrs.source ?? '', type: event.attrs.type ?? '' };
}

/** The subscriber's URL: the resolved service base URL plus the trigger's path, or its absolute URI. */
export function subscriberUrl(trigger: Trigger, resolve: (service: string) => string): string {
  const s = trigger.subscriber;
  if (s.kind === 'url') return s.url;
  const base = resolve(s.service).replace(/\/+$/, '');
  return `${base}${s.path}`;
}
