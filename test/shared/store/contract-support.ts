// Shared pieces of the store contract suite: the subject under test, unique names, bounded waits.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { EMPTY_WINDOW } from '../../../shared/features/windows.ts';
import type {
  CustomerEventInput,
  OnlineStore,
  PriorSummary,
  WindowStats,
} from '../../../shared/store/index.ts';

/** An implementation under test: the shared store, and a way to open a fresh one (for close tests). */
export interface StoreSubject {
  name: string;
  store(): OnlineStore;
  open(): Promise<OnlineStore>;
}

/** A name no other test uses, so tests share one store without seeing each other's keys. */
export function unique(label: string): string {
  return `${label}-${randomUUID().slice(0, 8)}`;
}

/** Event times in tests: a fixed epoch so results are exact. */
export const T0 = 1_700_000_000_000;

/** An applyCustomerEvent input with roomy defaults; override what the test is about. */
export function customerEvent(
  overrides: Partial<CustomerEventInput> & { customerId: string },
): CustomerEventInput {
  const retentionMs = overrides.retentionMs ?? 3_600_000;
  return {
    eventKey: unique('event'),
    eventTime: T0,
    orderKey: overrides.record ?? 'r',
    value: 1,
    record: 'r',
    retentionMs,
    windowsMs: [retentionMs],
    maxEvents: 1000,
    allowedLatenessMs: 3_600_000,
    claimTtlMs: 60_000,
    firstSeen: [],
    ...overrides,
  };
}

/** The summary of no earlier events over `windows` windows. */
export function emptySummary(windows = 1): PriorSummary {
  return { windows: Array.from({ length: windows }, () => ({ ...EMPTY_WINDOW })), lastTime: null };
}

/** The window statistics of a single value. */
export function single(x: number): WindowStats {
  return { count: 1, sum: x, mean: x, min: x, max: x, std: 0, last: x };
}

/**
 * A customer's stored history as [time, order key] pairs (customerEvent's order key defaults to its record, so tests
 * name entries by record); `version` picks a feature-set version's keys.
 */
export async function storedHistory(
  store: OnlineStore,
  customerId: string,
  version?: string,
): Promise<[number, string][]> {
  return (await store.readHistory(customerId, version)).map((e) => [e.time, e.orderKey]);
}

/** Long enough after a 100 ms TTL that the key has expired on any machine (not a timing assertion). */
export const AFTER_TTL_MS = 250;
export const SHORT_TTL_MS = 100;

export const waitPastTtl = () => sleep(AFTER_TTL_MS);

/** Alias notices collected from a watcher, with a bounded wait until the collected ones satisfy a condition. */
export async function collect(store: OnlineStore) {
  const messages: string[] = [];
  let wake: (() => void) | undefined;
  const unsubscribe = await store.watchAliases((m) => {
    messages.push(m);
    wake?.();
  });
  return {
    messages,
    unsubscribe,
    /** Resolves once `done(messages)` holds; rejects after 5 s so a lost notice fails instead of hanging. */
    async until(done: (messages: readonly string[]) => boolean): Promise<string[]> {
      const deadline = Date.now() + 5000;
      while (!done(messages)) {
        if (Date.now() > deadline)
          throw new Error(`the notices that arrived are not enough: ${messages.join(', ')}`);
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, 50);
        });
      }
      return messages;
    },
  };
}
