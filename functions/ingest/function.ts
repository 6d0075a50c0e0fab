// ingest as a servable function: its handler bound to its dependencies, readiness and shutdown.
import { type Config, ConfigSchema } from '../../shared/config/index.ts';
import type { EventLog } from '../../shared/log/index.ts';
import type { FunctionDefinition, Sink } from '../../shared/runtime/index.ts';
import type { OnlineStore } from '../../shared/store/index.ts';
import { groupAppend } from './group-append.ts';
import { DEFAULT_DEDUPE_TTL_MS, handle, INGEST_TYPES, type IngestType } from './handler.ts';

export interface IngestWiring {
  store: OnlineStore;
  eventLog: EventLog;
  sink: Sink;
  config: Pick<Config, 'MAX_CLOCK_SKEW_MS'> &
    Partial<Pick<Config, 'INGEST_CLAIM_TTL_MS' | 'INGEST_LINGER_MS'>>;
  now?: () => number;
}

/**
 * How many claim TTLs a holder may keep its claim, renewals included: twice the TTL leaves a slow publish (K_SINK
 * retries) its claim while a stuck holder still frees the event well inside the sender's retry budget.
 */
export const CLAIM_MAX_HOLD_TTLS = 2;

/** ingest bound to a store, an event log and a sink (used by main.ts, the local runner and the tests). */
export function ingestFunction(w: IngestWiring): FunctionDefinition<IngestType> {
  const claimTtlMs = w.config.INGEST_CLAIM_TTL_MS ?? ConfigSchema.shape.INGEST_CLAIM_TTL_MS.parse(undefined);
  const deps = {
    store: w.store,
    append: groupAppend(w.eventLog, { lingerMs: w.config.INGEST_LINGER_MS ?? 0 }),
    sink: w.sink,
    now: w.now ?? Date.now,
    source: 'flywheel/ingest',
    maxClockSkewMs: w.config.MAX_CLOCK_SKEW_MS,
    dedupeTtlMs: DEFAULT_DEDUPE_TTL_MS,
    claimTtlMs,
    claimMaxHoldMs: CLAIM_MAX_HOLD_TTLS * claimTtlMs,
  };
  return {
    name: 'ingest',
    accepts: INGEST_TYPES,
    handle: (event, ctx) => handle(event, deps, ctx),
    ready: async () => (await w.store.ping()) && (await w.eventLog.ping()),
    close: async () => {
      await w.eventLog.close();
      await w.store.close();
    },
  };
}
