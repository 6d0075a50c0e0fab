// Redis pub/sub for the store: one dedicated subscriber connection, handlers fanned out per channel.
import { DependencyError } from '../errors/index.ts';
import type { Logger } from '../runtime/logger.ts';
import { type Connectable, ReadyGate, storeError } from './redis-support.ts';

/** What subscriptions need from a subscriber connection (an ioredis connection in subscriber mode fits). */
export interface SubscriberConnection extends Connectable {
  on(event: 'ready', listener: () => void): unknown;
  on(event: 'message', listener: (channel: string, message: string) => void): unknown;
  subscribe(channel: string): Promise<unknown>;
  unsubscribe(channel: string): Promise<unknown>;
}

/** Subscriptions over one lazily opened connection; it resubscribes by itself after a reconnect. */
export class Subscriptions {
  private readonly handlers = new Map<string, Set<(message: string) => void>>();
  private readonly subscribing = new Map<string, Promise<unknown>>();
  private sub: { conn: SubscriberConnection; gate: ReadyGate } | undefined;
  private closed = false;
  private readonly open: () => SubscriberConnection;
  private readonly timeoutMs: number;
  private readonly log: Logger;

  constructor(opts: { open: () => SubscriberConnection; timeoutMs: number; log: Logger }) {
    this.open = opts.open;
    this.timeoutMs = opts.timeoutMs;
    this.log = opts.log;
  }

  /** The subscriber connection, opened on first use. */
  private connection(): { conn: SubscriberConnection; gate: ReadyGate } {
    if (this.sub) return this.sub;
    if (this.closed) throw new DependencyError('redis', 'store is closed');
    const conn = this.open();
    conn.on('message', (channel, message) => {
      for (const onMessage of this.handlers.get(channel) ?? []) {
        try {
          onMessage(message);
        } catch (err) {
          this.log.error({ err, channel }, 'store: a subscriber threw');
        }
      }
    });
    this.sub = { conn, gate: new ReadyGate({ conn, timeoutMs: this.timeoutMs }) };
    return this.sub;
  }

  /** Adds a handler for `name`, subscribing the connection on the channel's first handler. */
  async subscribe(name: string, onMessage: (message: string) => void): Promise<() => Promise<void>> {
    const sub = this.connection();
    const set = this.handlers.get(name) ?? new Set();
    this.handlers.set(name, set);
    set.add(onMessage);
    try {
      let pending = this.subscribing.get(name);
      if (!pending) {
        pending = sub.gate.wait().then(() => sub.conn.subscribe(name));
        this.subscribing.set(name, pending);
        pending.catch(() => this.subscribing.delete(name));
      }
      await pending;
    } catch (err) {
      set.delete(onMessage);
      throw storeError('subscribe', err);
    }
    return () => this.remove(name, set, onMessage);
  }

  private async remove(name: string, set: Set<(message: string) => void>, onMessage: (m: string) => void) {
    set.delete(onMessage);
    if (set.size > 0 || this.handlers.get(name) !== set) return;
    this.handlers.delete(name);
    this.subscribing.delete(name);
    const sub = this.sub;
    if (sub === undefined || sub.gate.isClosed) return; // closing dropped every subscription already
    try {
      await sub.gate.wait();
      await sub.conn.unsubscribe(name);
    } catch (err) {
      throw storeError('unsubscribe', err);
    }
  }

  /** Stops accepting subscriptions and fails pending ones; the owner closes the connection itself. */
  close(): void {
    this.closed = true;
    this.sub?.gate.close();
  }
}
