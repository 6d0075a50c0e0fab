// detect-drift on generated streams through the function: silence when stationary, one detection after a shift.
import assert from 'node:assert/strict';
import { CloudEvent, HTTP } from 'cloudevents';
import { after, before, describe, it } from 'node:test';
import { detectDriftFunction } from '../../functions/detect-drift/function.ts';
import type { DetectDriftType } from '../../functions/detect-drift/handler.ts';
import { defaultConfig } from '../../shared/config/index.ts';
import { buildBaseline, type DriftBaseline } from '../../shared/drift/index.ts';
import {
  DriftDetectedSchema,
  DriftReportSchema,
  EventTypes,
  Extensions,
  type FlywheelEvent,
  makeEvent,
} from '../../shared/events/index.ts';
import { ModelRegistry } from '../../shared/registry/index.ts';
import {
  createApp,
  createLogger,
  createMetrics,
  type EventOf,
  type FunctionDefinition,
} from '../../shared/runtime/index.ts';
import { createMemoryStore, createRedisStore, type OnlineStore } from '../../shared/store/index.ts';
import { exportSegmentOnnx } from '../../shared/training/onnx-export.ts';
import { SegmentTrainingConfigSchema } from '../../shared/training/segment-model.ts';
import {
  COLUMNS,
  FEATURE_KINDS,
  type GeneratedTransaction,
  generatedBaseline,
  trainingSet,
  transactionSource,
} from '../shared/drift/generator.ts';
import { linearRiskOnnx } from '../support/models.ts';
import { type RedisServer, startRedis } from '../support/redis.ts';

const log = createLogger({ name: 'test', level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const config = defaultConfig();
const WINDOW = config.DRIFT_WINDOW_SIZE;
/** Each transaction is two events: features.updated, then score.computed. */
const EVENTS_PER_TRANSACTION = 2;
/** The shift starts mid-window (transaction 2250 of windows of 500), the less favourable case. */
const SHIFT_AT = 2_250;
/** README: with the defaults, drift.detected within (k + 1) windows of the shift's start: 4000 events. */
const DETECTION_BOUND_EVENTS = (config.DRIFT_CONSECUTIVE_WINDOWS + 1) * WINDOW * EVENTS_PER_TRANSACTION;

const riskBaseline = generatedBaseline({ seed: 1, rows: 20_000 });
const FEATURE_SET = { name: 'generated', version: '1' };

/** A tiny real risk ONNX on the generator's columns: logistic on the scaled amount (the weights do not matter here). */
function riskArtifact(): Uint8Array {
  return linearRiskOnnx({ columns: COLUMNS, column: 0, a: 0.02, b: -3 });
}

/** A real segment ONNX (two centroids on the first column). */
function segmentArtifact(): Uint8Array {
  const width = COLUMNS.length;
  const centroid = (x: number) => COLUMNS.map((_, i) => (i === 0 ? x : 0));
  return exportSegmentOnnx(
    {
      kind: 'segment',
      columns: [...COLUMNS],
      scaler: { mean: new Array<number>(width).fill(0), std: new Array<number>(width).fill(1) },
      centroids: [centroid(20), centroid(80)],
      centroidsRaw: [centroid(20), centroid(80)],
      metrics: { k: 2, inertia: 1, silhouette: 0.6, silhouetteSampled: false, sizes: [1, 1], candidates: [] },
      training: { rows: 2, iterations: 1, config: SegmentTrainingConfigSchema.parse({}) },
    },
    { name: 'segment' },
  );
}

const lineage = (baseline: DriftBaseline) => ({
  featureSet: { ...FEATURE_SET, columns: [...COLUMNS] },
  dataRange: { from: 0, to: 1 },
  metrics: {},
  hyperParameters: {},
  codeVersion: 'test',
  backend: { name: 'cpu', reason: 'test' },
  trainedBy: 'test',
  baseline,
});

/** Registers a model with `baseline` and makes it the champion; returns its version. */
async function champion(input: {
  store: OnlineStore;
  name: 'risk' | 'segment';
  baseline: DriftBaseline;
}): Promise<number> {
  const registry = new ModelRegistry({ store: input.store });
  const artifact = input.name === 'risk' ? riskArtifact() : segmentArtifact();
  const record = await registry.register({ name: input.name, artifact, lineage: lineage(input.baseline) });
  await registry.moveAlias({
    name: input.name,
    alias: 'champion',
    to: record.version,
    actor: 'test',
    reason: 'test',
  });
  return record.version;
}

function replica(store: OnlineStore, overrides: Record<string, string> = {}) {
  return detectDriftFunction({ store, config: defaultConfig(overrides), log });
}

function eventsOf(input: {
  i: number;
  t: GeneratedTransaction;
  at: number;
  risk: number;
  segment?: number;
}): EventOf<DetectDriftType>[] {
  const { i, t, at } = input;
  const ids = { customerId: `c-${i % 97}`, transactionId: `t-${i}`, occurredAt: at };
  return [
    makeEvent({
      type: EventTypes.featuresUpdated,
      source: 'test/featurize',
      id: `f-${i}`,
      data: { ...ids, featureSet: FEATURE_SET, values: t.features, asOf: at },
    }),
    makeEvent({
      type: EventTypes.scoreComputed,
      source: 'test/score',
      id: `s-${i}`,
      data: {
        ...ids,
        risk: t.risk,
        riskBand: 'low',
        segment: t.features.amount !== undefined && t.features.amount > 50 ? 1 : 0,
        model: { name: 'risk', version: input.risk },
        segmentModel: { name: 'segment', version: input.segment ?? 1 },
        featureSet: FEATURE_SET,
      },
    }),
  ];
}

interface Replied {
  event: FlywheelEvent;
  /** Events sent so far (1-based) when the event that produced this reply was sent. */
  atEvent: number;
  replica: number;
}

/**
 * Sends each transaction's two events, 100 ms apart in generated time, to the replicas in turn, `concurrency`
 * events in flight at once, and collects the replies.
 */
async function drive(input: {
  replicas: FunctionDefinition<DetectDriftType>[];
  source: (i: number) => GeneratedTransaction;
  transactions: number;
  risk: number;
  segment?: number;
  concurrency?: number;
  msApart?: number;
  /** The first transaction's number (default 0): a later drive continues the same event-time line. */
  from?: number;
}): Promise<Replied[]> {
  const ctx = { log, metrics: createMetrics('detect-drift') };
  const replies: Replied[] = [];
  const concurrency = input.concurrency ?? 1;
  let inFlight: Promise<void>[] = [];
  let sent = 0;
  const from = input.from ?? 0;
  for (let i = from; i < from + input.transactions; i++) {
    const at = i * (input.msApart ?? 100);
    const events = eventsOf({
      i,
      t: input.source(i),
      at,
      risk: input.risk,
      ...(input.segment ? { segment: input.segment } : {}),
    });
    for (const event of events) {
      sent++;
      const atEvent = sent;
      // Runs of three events per replica, so each replica gets both event types and closes windows.
      const r = Math.floor(sent / 3) % input.replicas.length;
      const fn = input.replicas[r];
      assert.ok(fn);
      inFlight.push(
        fn.handle(event, ctx).then((outcome) => {
          if (outcome.kind === 'reply') replies.push({ event: outcome.event, atEvent, replica: r });
        }),
      );
      if (inFlight.length >= concurrency) {
        await Promise.all(inFlight);
        inFlight = [];
      }
    }
  }
  await Promise.all(inFlight);
  return replies.sort((a, b) => a.atEvent - b.atEvent);
}

const ofType = (replies: Replied[], type: string) => replies.filter((r) => r.event.type === type);

/** The window number in a reply id (`drift-<model>-v<version>-w<n>-<kind>`). */
const windowOf = (r: Replied): number => Number(/-w(\d+)-/.exec(r.event.id)?.[1] ?? Number.NaN);

describe('detect-drift on a memory store', () => {
  it('sends no drift.detected over 200 windows of a stationary stream, and one drift.measured per window', async () => {
    const store = createMemoryStore();
    const risk = await champion({ store, name: 'risk', baseline: riskBaseline });
    const next = transactionSource({ seed: 2 });
    const replies = await drive({
      replicas: [replica(store)],
      source: () => next(),
      transactions: 200 * WINDOW,
      risk,
    });
    assert.equal(ofType(replies, EventTypes.driftDetected).length, 0);
    const measured = ofType(replies, EventTypes.driftMeasured);
    assert.equal(measured.length, 200);
    assert.deepEqual(
      measured.map(windowOf),
      Array.from({ length: 200 }, (_, i) => i),
    );
    for (const r of measured) {
      const data = DriftReportSchema.parse(r.event.data);
      assert.equal(data.window.count, WINDOW);
      assert.deepEqual(data.model, { name: 'risk', version: risk });
      assert.equal(r.event.extensions[Extensions.model], 'risk');
    }
    const drifted = measured.filter((r) => DriftReportSchema.parse(r.event.data).drifted).length;
    assert.ok(drifted <= 10, `${drifted} isolated drifted windows`);
  });

  it('detects amounts shifted by +0.5σ within the stated bound, with the statistics and the reason', async (t) => {
    const store = createMemoryStore();
    const risk = await champion({ store, name: 'risk', baseline: riskBaseline });
    const before = transactionSource({ seed: 3 });
    const after = transactionSource({ seed: 4, amountShiftSd: 0.5 });
    const replies = await drive({
      replicas: [replica(store)],
      source: (i) => (i < SHIFT_AT ? before() : after()),
      transactions: SHIFT_AT + 2 * WINDOW * (config.DRIFT_CONSECUTIVE_WINDOWS + 1),
      risk,
    });
    const detected = ofType(replies, EventTypes.driftDetected);
    assert.equal(detected.length, 1);
    const [first] = detected;
    assert.ok(first);
    const eventsToDetect = first.atEvent - SHIFT_AT * EVENTS_PER_TRANSACTION;
    assert.ok(
      eventsToDetect > 0 && eventsToDetect <= DETECTION_BOUND_EVENTS,
      `${eventsToDetect} events after the shift`,
    );
    t.diagnostic(`0.5σ amount shift: drift.detected ${eventsToDetect} events after it began`);
    const data = DriftDetectedSchema.parse(first.event.data);
    assert.equal(data.consecutiveWindows, config.DRIFT_CONSECUTIVE_WINDOWS);
    assert.equal(data.features.amount?.drifted, true);
    assert.equal(data.prediction?.drifted, true);
    assert.equal(data.threshold.psi, config.DRIFT_PSI_THRESHOLD);
    assert.match(data.reason, /^drift in 3 consecutive windows; .*amount \(PSI [\d.]+ ≥ 0\.2/);
    assert.equal(first.event.extensions[Extensions.model], 'risk');
    assert.equal(first.event.id, `drift-risk-v${risk}-w${windowOf(first)}-detected`);
  });

  it('detects a persisting drift again once the run it asked for failed (training.failed lifts the cooldown)', async (t) => {
    const store = createMemoryStore();
    const risk = await champion({ store, name: 'risk', baseline: riskBaseline });
    const fn = replica(store);
    const before = transactionSource({ seed: 3 });
    const after = transactionSource({ seed: 4, amountShiftSd: 0.5 });
    const span = 2 * WINDOW * (config.DRIFT_CONSECUTIVE_WINDOWS + 1);
    const first = await drive({
      replicas: [fn],
      source: (i) => (i < SHIFT_AT ? before() : after()),
      transactions: SHIFT_AT + span,
      risk,
    });
    assert.equal(ofType(first, EventTypes.driftDetected).length, 1);
    // The drift is still there, but the cooldown holds its detections back.
    const held = await drive({
      replicas: [fn],
      source: () => after(),
      transactions: span,
      risk,
      from: SHIFT_AT + span,
    });
    assert.equal(ofType(held, EventTypes.driftDetected).length, 0, 'detected again within the cooldown');
    const failed = makeEvent({
      type: EventTypes.trainingFailed,
      source: 'flywheel/trainer',
      id: 'failed-1',
      data: { model: 'risk', reason: 'too few fraud labels: 64 in training, 0 in holdout' },
    });
    const ctx = { log, metrics: createMetrics('detect-drift') };
    assert.deepEqual(await fn.handle(failed, ctx), {
      kind: 'accepted',
      detail: `cooldown of risk v${risk} lifted`,
    });
    assert.deepEqual(await fn.handle(failed, ctx), {
      kind: 'accepted',
      detail: `no cooldown for risk v${risk}`,
    });
    const again = await drive({
      replicas: [fn],
      source: () => after(),
      transactions: span,
      risk,
      from: SHIFT_AT + 2 * span,
    });
    const detected = ofType(again, EventTypes.driftDetected);
    assert.equal(detected.length, 1, 'the drift was not detected again after its run failed');
    t.diagnostic(`detected again ${detected[0]?.atEvent} events after the failure was reported`);
    assert.match(
      await ctx.metrics.registry.metrics(),
      /flywheel_drift_cooldowns_lifted_total\{[^}]*model="risk"[^}]*\} 1\b/,
    );
  });

  it('gives exactly one detection with two replicas sharing the store, closing every window once', async () => {
    const store = createMemoryStore();
    const risk = await champion({ store, name: 'risk', baseline: riskBaseline });
    const before = transactionSource({ seed: 3 });
    const after = transactionSource({ seed: 4, amountShiftSd: 0.5 });
    const replicas = [replica(store), replica(store)];
    const windows = 16;
    const replies = await drive({
      replicas,
      source: (i) => (i < SHIFT_AT ? before() : after()),
      transactions: windows * WINDOW,
      risk,
      concurrency: 8,
    });
    const detected = ofType(replies, EventTypes.driftDetected);
    assert.equal(detected.length, 1, 'one detection although the drift persists for 11 windows');
    const [first] = detected;
    assert.ok(first);
    assert.ok(first.atEvent - SHIFT_AT * EVENTS_PER_TRANSACTION <= DETECTION_BOUND_EVENTS);
    const closed = replies.map(windowOf).sort((a, b) => a - b);
    assert.deepEqual(
      closed,
      Array.from({ length: closed.length }, (_, i) => i),
      'each window closed by exactly one replica',
    );
    assert.ok(closed.length >= windows - 1, `${closed.length} windows closed`);
    assert.equal(new Set(replies.map((r) => r.replica)).size, 2, 'both replicas closed windows');
    // The persistence rule alone would detect again every third drifted window; the cooldown held those back.
    const laterDrifted = ofType(replies, EventTypes.driftMeasured).filter(
      (r) => r.atEvent > first.atEvent && DriftReportSchema.parse(r.event.data).drifted,
    );
    assert.ok(
      laterDrifted.length >= config.DRIFT_CONSECUTIVE_WINDOWS,
      `${laterDrifted.length} drifted after`,
    );
  });

  it('closes a quiet window by time once it holds the minimum, and keeps a quieter one open', async () => {
    const store = createMemoryStore();
    const risk = await champion({ store, name: 'risk', baseline: riskBaseline });
    const next = transactionSource({ seed: 6 });
    // 150 transactions a window's time apart in total: under the minimum of 200, nothing closes.
    const quiet = await drive({
      replicas: [replica(store)],
      source: () => next(),
      transactions: 150,
      risk,
      msApart: Math.ceil((config.DRIFT_WINDOW_MS * 2) / 150),
    });
    assert.equal(quiet.length, 0);
    const store2 = createMemoryStore();
    const risk2 = await champion({ store: store2, name: 'risk', baseline: riskBaseline });
    const msApart = Math.ceil(config.DRIFT_WINDOW_MS / 300);
    const replies = await drive({
      replicas: [replica(store2)],
      source: () => next(),
      transactions: 320,
      risk: risk2,
      msApart,
    });
    assert.equal(replies.length, 1);
    const [closed] = replies;
    assert.ok(closed);
    const data = DriftReportSchema.parse(closed.event.data);
    assert.ok(
      data.window.count >= config.DRIFT_MIN_WINDOW_SIZE && data.window.count < WINDOW,
      `${data.window.count}`,
    );
    assert.ok(data.window.end - data.window.start >= config.DRIFT_WINDOW_MS);
  });

  it('starts a fresh window and history when the champion changes, and ignores scores of other versions', async () => {
    const store = createMemoryStore();
    const v1 = await champion({ store, name: 'risk', baseline: riskBaseline });
    const fn = replica(store, { MODEL_ALIAS_TTL_MS: '0' });
    const next = transactionSource({ seed: 8 });
    const first = await drive({ replicas: [fn], source: () => next(), transactions: 300, risk: v1 });
    assert.equal(first.length, 0);
    const v2 = await champion({ store, name: 'risk', baseline: riskBaseline });
    // Scores still made by v1 do not count towards v2's window; v2's window needs 500 of its own.
    const stale = await drive({ replicas: [fn], source: () => next(), transactions: 450, risk: v1 });
    assert.equal(stale.length, 0, 'features count, but v2 window has 450 features only');
    const fresh = await drive({ replicas: [fn], source: () => next(), transactions: 60, risk: v2 });
    assert.equal(fresh.length, 1);
    const data = DriftReportSchema.parse(fresh[0]?.event.data);
    assert.deepEqual(data.model, { name: 'risk', version: v2 });
    assert.equal(data.window.count, WINDOW);
    // The 500th features.updated closes it, after 49 scores by v2: too few to test the prediction.
    assert.deepEqual(data.prediction && [data.prediction.kind, data.prediction.n], ['insufficient', 49]);
    assert.equal(fresh[0]?.event.id, `drift-risk-v${v2}-w0-measured`);
  });

  it('watches the segment champion on its inputs and its prediction: a shifted segment mix is detected for model segment', async () => {
    const store = createMemoryStore();
    const segmentTraining = Array.from({ length: 5_000 }, (_, i) => (i % 10 < 7 ? 0 : 1));
    const segment = await champion({
      store,
      name: 'segment',
      baseline: buildBaseline({
        columns: COLUMNS,
        rows: trainingSet({ seed: 1, rows: 5_000 }).rows,
        kinds: FEATURE_KINDS,
        prediction: { name: 'segment', kind: 'categorical', values: segmentTraining },
      }),
    });
    const fn = replica(store);
    const next = transactionSource({ seed: 9 });
    const ctx = { log, metrics: createMetrics('detect-drift') };
    const replies: FlywheelEvent[] = [];
    // No risk champion: only the segment window is fed; half of the customers are now in segment 1 (30 % before).
    for (let i = 0; i < 4 * WINDOW; i++) {
      const [features, score] = eventsOf({ i, t: next(), at: i * 100, risk: 1, segment });
      assert.ok(features && score && score.type === EventTypes.scoreComputed);
      const shifted = { ...score, data: { ...score.data, segment: i % 2 } };
      for (const event of [features, shifted]) {
        const outcome = await fn.handle(event, ctx);
        if (outcome.kind === 'reply') replies.push(outcome.event);
      }
    }
    assert.deepEqual(
      replies.map((e) => e.type),
      [
        EventTypes.driftMeasured,
        EventTypes.driftMeasured,
        EventTypes.driftDetected,
        EventTypes.driftMeasured,
      ],
    );
    const detected = DriftDetectedSchema.parse(replies[2]?.data);
    assert.deepEqual(detected.model, { name: 'segment', version: segment });
    // Its own window watches every input its baseline knows, not the prediction alone ("0 of 0 features").
    assert.deepEqual(Object.keys(detected.features).sort(), [...COLUMNS].sort());
    for (const [name, f] of Object.entries(detected.features)) assert.notEqual(f.kind, 'insufficient', name);
    assert.match(detected.reason, new RegExp(`latest window: \\d+ of ${COLUMNS.length} features drifted`));
    assert.equal(detected.prediction?.kind, 'categorical');
    assert.equal(replies[2]?.extensions[Extensions.model], 'segment');
  });

  it('replies over HTTP in binary mode: 202 while a window fills, 200 with drift.measured when it closes', async () => {
    const store = createMemoryStore();
    const risk = await champion({ store, name: 'risk', baseline: riskBaseline });
    const { app } = createApp(replica(store), { log, maxBodyBytes: 1 << 20 });
    const next = transactionSource({ seed: 12 });
    const answers: { status: number; type: string | null; body: string }[] = [];
    for (let i = 0; i < WINDOW; i++) {
      for (const e of eventsOf({ i, t: next(), at: i * 100, risk })) {
        const message = HTTP.binary(
          new CloudEvent({
            id: e.id,
            source: e.source,
            type: e.type,
            datacontenttype: 'application/json',
            data: e.data,
          }),
        );
        const headers = Object.fromEntries(Object.entries(message.headers).map(([k, v]) => [k, String(v)]));
        const res = await app.request('/', { method: 'POST', headers, body: String(message.body) });
        answers.push({ status: res.status, type: res.headers.get('ce-type'), body: await res.text() });
      }
    }
    // The 500th features.updated (the second-to-last event) closes the window.
    const closing = answers.at(-2);
    assert.deepEqual(
      answers.filter((a) => a.status !== 202).map((a) => a.status),
      [200],
    );
    assert.equal(closing?.status, 200);
    assert.equal(closing?.type, EventTypes.driftMeasured);
    assert.equal(DriftReportSchema.parse(JSON.parse(closing?.body ?? '')).window.count, WINDOW);
  });

  it('answers 202 with nothing to watch before any champion has a baseline', async () => {
    const store = createMemoryStore();
    const fn = replica(store);
    const [features] = eventsOf({ i: 0, t: transactionSource({ seed: 1 })(), at: 0, risk: 1 });
    assert.ok(features);
    const outcome = await fn.handle(features, { log, metrics: createMetrics('detect-drift') });
    assert.deepEqual(outcome, { kind: 'accepted', detail: 'no watched champion observes this event' });
  });
});

/** The store with a count of calls per method: each OnlineStore call is one round trip to Redis. */
function counted(store: OnlineStore): { store: OnlineStore; calls: Map<string, number> } {
  const calls = new Map<string, number>();
  const proxy = new Proxy(store, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function' || typeof prop !== 'string' || prop === 'close') return value;
      return (...args: unknown[]): unknown => {
        calls.set(prop, (calls.get(prop) ?? 0) + 1);
        return value.apply(target, args);
      };
    },
  });
  return { store: proxy, calls };
}

describe('detect-drift on a real redis-server', () => {
  let server: RedisServer;
  before(async () => {
    server = await startRedis();
  });
  after(() => server.stop());

  it('gives exactly one detection with two replicas, with about one store round trip per event', async (t) => {
    const setup = createRedisStore({ url: server.url, timeoutMs: 2_000, log });
    const risk = await champion({ store: setup, name: 'risk', baseline: riskBaseline });
    await setup.close();
    const stores = [0, 1].map(() => counted(createRedisStore({ url: server.url, timeoutMs: 2_000, log })));
    const replicas = stores.map((s) => replica(s.store));
    try {
      const before = transactionSource({ seed: 3 });
      const after = transactionSource({ seed: 4, amountShiftSd: 0.5 });
      const transactions = 10 * WINDOW;
      const replies = await drive({
        replicas,
        source: (i) => (i < SHIFT_AT ? before() : after()),
        transactions,
        risk,
        concurrency: 8,
      });
      const detected = ofType(replies, EventTypes.driftDetected);
      assert.equal(detected.length, 1);
      assert.ok((detected[0]?.atEvent ?? 0) - SHIFT_AT * EVENTS_PER_TRANSACTION <= DETECTION_BOUND_EVENTS);
      const closed = replies.map(windowOf).sort((x, y) => x - y);
      assert.deepEqual(
        closed,
        Array.from({ length: closed.length }, (_, i) => i),
      );
      assert.ok(closed.length >= 9, `${closed.length} windows closed`);
      let trips = 0;
      for (const s of stores) for (const n of s.calls.values()) trips += n;
      const perEvent = trips / (transactions * EVENTS_PER_TRANSACTION);
      assert.ok(perEvent >= 1 && perEvent < 1.05, `${perEvent.toFixed(4)} round trips per event`);
      t.diagnostic(
        `${perEvent.toFixed(4)} round trips per event: ${JSON.stringify(Object.fromEntries(stores[0]?.calls ?? []))}`,
      );
    } finally {
      for (const fn of replicas) await fn.close?.();
    }
  });
});
