// Benchmark: detect-drift's cost per event and store round trips per event, against a lock + JSON read-modify-write.
import { parseArgs } from 'node:util';
import { detectDriftFunction } from '../functions/detect-drift/function.ts';
import type { ObservedType } from '../functions/detect-drift/handler.ts';
import { defaultConfig } from '../shared/config/index.ts';
import { z } from 'zod';
import {
  countObservation,
  type DriftHistory,
  DriftHistorySchema,
  DEFAULT_DRIFT_CONFIG as defaultDrift,
  decide,
  EMPTY_HISTORY,
  emptyWindow,
  measureWindow,
  type Observation,
  type WindowCounts,
} from '../shared/drift/index.ts';
import { EventTypes, makeEvent } from '../shared/events/index.ts';
import { ModelRegistry } from '../shared/registry/index.ts';
import { createLogger, createMetrics, type EventOf } from '../shared/runtime/index.ts';
import { createMemoryStore, createRedisStore, type OnlineStore } from '../shared/store/index.ts';
import { COLUMNS, generatedBaseline, transactionSource } from '../test/shared/drift/generator.ts';
import { isWindowDue } from '../test/shared/drift/monitor.ts';
import { type RedisServer, redisCommand, startRedis } from '../test/support/redis.ts';
import { machine } from './support/load.ts';

const { values: args } = parseArgs({
  options: {
    transactions: { type: 'string', default: '20000' },
    concurrency: { type: 'string', default: '16' },
    naive: { type: 'string', default: '5000' },
  },
});
const TRANSACTIONS = Number(args.transactions);
const CONCURRENCY = Number(args.concurrency);
const NAIVE_TRANSACTIONS = Number(args.naive);

const log = createLogger({ name: 'bench', level: 'silent' });
const config = defaultConfig();
const baseline = generatedBaseline({ seed: 1, rows: 20_000 });
const FEATURE_SET = { name: 'generated', version: '1' };

/** Registers a champion with the baseline (the ONNX check is not what is measured here, so it is stubbed). */
async function champion(store: OnlineStore): Promise<number> {
  const registry = new ModelRegistry({
    store,
    inspect: async () => ({ inputName: 'features', width: COLUMNS.length, outputs: ['probability'] }),
  });
  const record = await registry.register({
    name: 'risk',
    artifact: new Uint8Array([8, 1]),
    lineage: {
      featureSet: { ...FEATURE_SET, columns: [...COLUMNS] },
      dataRange: { from: 0, to: 1 },
      metrics: {},
      hyperParameters: {},
      codeVersion: 'bench',
      backend: { name: 'cpu', reason: 'bench' },
      trainedBy: 'bench',
      baseline,
    },
  });
  await registry.moveAlias({
    name: 'risk',
    alias: 'champion',
    to: record.version,
    actor: 'bench',
    reason: 'bench',
  });
  return record.version;
}

/** Two events per generated transaction (features.updated, then score.computed), 100 ms apart in event time. */
function events(transactions: number, version: number): { event: EventOf<ObservedType>; at: number }[] {
  const next = transactionSource({ seed: 2 });
  const out: { event: EventOf<ObservedType>; at: number }[] = [];
  for (let i = 0; i < transactions; i++) {
    const t = next();
    const at = i * 100;
    const ids = { customerId: `c-${i % 997}`, transactionId: `t-${i}`, occurredAt: at };
    out.push({
      at,
      event: makeEvent({
        type: EventTypes.featuresUpdated,
        source: 'bench',
        id: `f-${i}`,
        data: { ...ids, featureSet: FEATURE_SET, values: t.features, asOf: at },
      }),
    });
    out.push({
      at,
      event: makeEvent({
        type: EventTypes.scoreComputed,
        source: 'bench',
        id: `s-${i}`,
        data: {
          ...ids,
          risk: t.risk,
          riskBand: 'low',
          segment: 0,
          model: { name: 'risk', version },
          segmentModel: { name: 'segment', version: 1 },
          featureSet: FEATURE_SET,
        },
      }),
    });
  }
  return out;
}

/** The store with each call counted: one OnlineStore call is one round trip. */
function counted(store: OnlineStore): { store: OnlineStore; trips: () => number } {
  let trips = 0;
  const proxy = new Proxy(store, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function' || prop === 'close') return value;
      return (...a: unknown[]): unknown => {
        trips++;
        return value.apply(target, a);
      };
    },
  });
  return { store: proxy, trips: () => trips };
}

/** Redis's own counters: commands run (including those inside scripts) and bytes in and out. */
async function redisCounters(server: RedisServer | null): Promise<{ commands: number; bytes: number }> {
  if (!server) return { commands: Number.NaN, bytes: Number.NaN };
  const info = await redisCommand(server.port, ['INFO', 'all']);
  const text = typeof info === 'string' ? info : '';
  let commands = 0;
  for (const m of text.matchAll(/^cmdstat_[^:]+:calls=(\d+)/gm)) commands += Number(m[1]);
  const read = (name: string) => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(text)?.[1] ?? Number.NaN);
  return { commands, bytes: read('total_net_input_bytes') + read('total_net_output_bytes') };
}

interface Row {
  name: string;
  events: number;
  usPerEvent: number;
  p99Us: number | null;
  trips: number;
  commands: number;
  bytes: number;
  closeMs: number;
}

const percentile = (sorted: number[], q: number): number =>
  sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * q) - 1)] ?? Number.NaN;

/** detect-drift itself: `replicas` functions sharing the store, `concurrency` events in flight. */
async function measureFunction(input: {
  name: string;
  makeStore: () => OnlineStore;
  server: RedisServer | null;
  replicas: number;
  concurrency: number;
}): Promise<Row> {
  const setup = input.makeStore();
  const version = await champion(setup);
  const stores = Array.from({ length: input.replicas }, () =>
    input.server ? counted(input.makeStore()) : counted(setup),
  );
  const fns = stores.map((s) => detectDriftFunction({ store: s.store, config, log }));
  const ctx = { log, metrics: createMetrics('detect-drift') };
  const stream = events(TRANSACTIONS, version);
  const times: number[] = [];
  const closes: number[] = [];
  const before = await redisCounters(input.server);
  const started = performance.now();
  for (let i = 0; i < stream.length; i += input.concurrency) {
    await Promise.all(
      stream.slice(i, i + input.concurrency).map(async ({ event }, j) => {
        const fn = fns[Math.floor((i + j) / 3) % fns.length];
        if (!fn) return;
        const t0 = performance.now();
        const outcome = await fn.handle(event, ctx);
        const dt = performance.now() - t0;
        times.push(dt);
        if (outcome.kind === 'reply') closes.push(dt);
      }),
    );
  }
  const wallMs = performance.now() - started;
  const after = await redisCounters(input.server);
  for (const fn of fns) await fn.close?.();
  if (input.server) await setup.close();
  times.sort((a, b) => a - b);
  const n = stream.length;
  const trips = stores.reduce((s, x) => s + x.trips(), 0);
  return {
    name: input.name,
    events: n,
    usPerEvent: (wallMs * 1000) / n,
    p99Us: input.concurrency === 1 ? percentile(times, 0.99) * 1000 : null,
    trips: trips / n,
    commands: (after.commands - before.commands - 1) / n,
    bytes: (after.bytes - before.bytes) / n,
    closeMs: closes.reduce((s, x) => s + x, 0) / Math.max(1, closes.length),
  };
}

const entries = <K extends z.ZodType>(key: K) => z.array(z.tuple([key, z.number()]));

/** The naive layout's document: the window's counts as JSON, each map as its entries. */
const WindowDocumentSchema = z.object({
  sequence: z.number(),
  start: z.number(),
  featureEvents: z.number(),
  predictionEvents: z.number(),
  features: z.array(z.tuple([z.string(), entries(z.number())])),
  prediction: entries(z.number()),
  units: z.object({ features: entries(z.string()), prediction: entries(z.string()) }),
});

function toDocument(c: WindowCounts): string {
  return JSON.stringify({
    ...c,
    features: [...c.features].map(([name, values]) => [name, [...values]]),
    prediction: [...c.prediction],
    units: { features: [...c.units.features], prediction: [...c.units.prediction] },
  });
}

function fromDocument(raw: string): WindowCounts {
  const d = WindowDocumentSchema.parse(JSON.parse(raw));
  return {
    ...d,
    features: new Map(d.features.map(([name, values]) => [name, new Map(values)])),
    prediction: new Map(d.prediction),
    units: { features: new Map(d.units.features), prediction: new Map(d.units.prediction) },
  };
}

/**
 * The obvious layout for comparison: the window's counts as one JSON document, read, counted into and written back
 * under a lock.
 */
async function measureNaive(server: RedisServer): Promise<Row> {
  const counting = counted(createRedisStore({ url: server.url, timeoutMs: 2_000, log }));
  const store = counting.store;
  const stream = events(NAIVE_TRANSACTIONS, 1);
  const times: number[] = [];
  const closes: number[] = [];
  const before = await redisCounters(server);
  const started = performance.now();
  for (const { event, at } of stream) {
    const t0 = performance.now();
    const observation: Observation =
      event.type === EventTypes.featuresUpdated
        ? { source: 'features', values: event.data.values, at }
        : { source: 'prediction', values: { risk: event.data.risk }, at };
    while (!(await store.acquireLock('bench:naive', 'me', 1_000))) await new Promise((r) => setImmediate(r));
    const raw = await store.readRecord('bench:naive:window');
    let counts = raw ? fromDocument(raw) : emptyWindow({ start: at });
    countObservation(counts, baseline, observation);
    let closed = false;
    if (isWindowDue({ counts, now: at, config: defaultDrift })) {
      const rawHistory = await store.readRecord('bench:naive:history');
      const history: DriftHistory = rawHistory
        ? DriftHistorySchema.parse(JSON.parse(rawHistory))
        : EMPTY_HISTORY;
      const report = measureWindow({
        counts,
        baseline,
        config: defaultDrift,
        now: at,
        seed: counts.sequence,
      });
      const decision = decide({ report, history, config: defaultDrift });
      await store.writeRecord('bench:naive:history', JSON.stringify(decision.history));
      counts = emptyWindow({ start: at, sequence: counts.sequence + 1 });
      closed = true;
    }
    await store.writeRecord('bench:naive:window', toDocument(counts));
    await store.releaseLock('bench:naive', 'me');
    const dt = performance.now() - t0;
    times.push(dt);
    if (closed) closes.push(dt);
  }
  const wallMs = performance.now() - started;
  const after = await redisCounters(server);
  await store.close();
  times.sort((a, b) => a - b);
  const n = stream.length;
  return {
    name: 'lock + JSON read-modify-write of the counts, redis, 1 replica, sequential',
    events: n,
    usPerEvent: (wallMs * 1000) / n,
    p99Us: percentile(times, 0.99) * 1000,
    trips: counting.trips() / n,
    commands: (after.commands - before.commands - 1) / n,
    bytes: (after.bytes - before.bytes) / n,
    closeMs: closes.reduce((s, x) => s + x, 0) / Math.max(1, closes.length),
  };
}

const server = await startRedis();
const redis = () => createRedisStore({ url: server.url, timeoutMs: 2_000, log });
const rows: Row[] = [];
try {
  rows.push(
    await measureFunction({
      name: 'detect-drift, memory store, 1 replica, sequential',
      makeStore: () => createMemoryStore(),
      server: null,
      replicas: 1,
      concurrency: 1,
    }),
  );
  await redisCommand(server.port, ['FLUSHALL']);
  rows.push(
    await measureFunction({
      name: 'detect-drift, redis, 1 replica, sequential',
      makeStore: redis,
      server,
      replicas: 1,
      concurrency: 1,
    }),
  );
  await redisCommand(server.port, ['FLUSHALL']);
  rows.push(
    await measureFunction({
      name: `detect-drift, redis, 2 replicas, ${CONCURRENCY} in flight`,
      makeStore: redis,
      server,
      replicas: 2,
      concurrency: CONCURRENCY,
    }),
  );
  await redisCommand(server.port, ['FLUSHALL']);
  rows.push(await measureNaive(server));
} finally {
  await server.stop();
}

const f = (x: number, digits = 1): string => (Number.isFinite(x) ? x.toFixed(digits) : '–');
console.log('### detect-drift: cost per event and store round trips\n');
console.log(
  `${machine()}. Generated transactions (9 features + the risk score, two events each), default drift settings ` +
    `(windows of ${config.DRIFT_WINDOW_SIZE} transactions); a private redis-server on loopback. µs/event is wall ` +
    'time over all events (with events in flight: the inverse of throughput). Round trips are OnlineStore calls; ' +
    'Redis commands include those run inside Lua scripts; bytes are Redis network bytes in + out.\n',
);
console.log(
  '| setup | events | µs/event | p99 µs | round trips/event | Redis commands/event | bytes/event | window close ms |',
);
console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
for (const r of rows) {
  console.log(
    `| ${r.name} | ${r.events} | ${f(r.usPerEvent)} | ${r.p99Us === null ? '–' : f(r.p99Us)} | ${f(r.trips, 3)} | ` +
      `${f(r.commands, 2)} | ${f(r.bytes, 0)} | ${f(r.closeMs, 2)} |`,
  );
}
