// `flywheel backfill` beside live traffic (every event applied exactly once), and filling a new feature-set version's
// keys beside the old ones; real redis-server, the file log, ingest → featurize over real HTTP.
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createGenerator } from '../../local/demo/generator.ts';
import { runBackfill } from '../../shared/backfill/backfill.ts';
import { runBackfillCli } from '../../shared/backfill/cli.ts';
import { AcceptedTransactionSchema, EventTypes, eventKey } from '../../shared/events/index.ts';
import {
  applyTransaction,
  customerFeatures,
  defineFeatureSet,
  FEATURIZE_CLAIM_TTL_MS,
} from '../../shared/features/index.ts';
import { createFileEventLog } from '../../shared/log/index.ts';
import { ModelRegistry } from '../../shared/registry/index.ts';
import { createLogger } from '../../shared/runtime/index.ts';
import { createRedisStore } from '../../shared/store/index.ts';
import {
  DAY,
  deleteKeys,
  FROM,
  LATENESS_MS,
  type Pipeline,
  RANGE,
  send,
  snapshot,
  startPipeline,
  stateOf,
  V,
} from '../support/backfill.ts';
import { registerChampions } from '../support/models.ts';
import { startRedis } from '../support/redis.ts';

const log = createLogger({ name: 'backfill-test', level: 'silent' });

/** One run's parts: a redis-server, a store on it, a file log, ingest → featurize and score. */
async function setUp(featurizeSet = customerFeatures) {
  const redis = await startRedis();
  const store = createRedisStore({ url: redis.url, timeoutMs: 5000, log });
  const dataDir = await mkdtemp(path.join(tmpdir(), 'backfill-live-'));
  const eventLog = createFileEventLog({ dataDir, topic: 'events', log });
  const registry = new ModelRegistry({ store });
  await registerChampions(registry);
  const pipeline = await startPipeline({
    store,
    eventLog,
    registry,
    allowedLatenessMs: LATENESS_MS,
    featureSet: featurizeSet,
  });
  const env = {
    REDIS_URL: redis.url,
    FLYWHEEL_DATA_DIR: dataDir,
    KAFKA_TOPIC: 'events',
    KAFKA_BROKERS: '',
    ALLOWED_LATENESS_MS: String(LATENESS_MS),
    LOG_LEVEL: 'warn',
  };
  const close = async () => {
    await pipeline.close();
    await eventLog.close();
    await store.close();
    await redis.stop();
  };
  return { redis, store, eventLog, pipeline, env, close };
}

/** featurize's duplicate counter, from its /metrics. */
async function duplicatesCounted(pipeline: Pipeline): Promise<number> {
  const text = await (await fetch(`${pipeline.featurize.url}/metrics`)).text();
  return Number(/^flywheel_duplicate_events_total\{[^}]*\} (\d+)$/m.exec(text)?.[1] ?? 0);
}

describe('flywheel backfill beside live traffic', () => {
  let s: Awaited<ReturnType<typeof setUp>>;
  before(async () => {
    s = await setUp();
  });
  after(async () => s?.close());

  it('applies every event exactly once while newer events are ingested and featurized during the replay', async () => {
    const generator = createGenerator({ seed: 9, customers: 30 }, FROM);
    const earlier = generator.until(FROM + 8 * DAY);
    const later = generator.until(FROM + 10 * DAY);
    const [first, rest] = [later.slice(0, later.length / 4), later.slice(later.length / 4)];
    assert.ok(earlier.length > 200 && rest.length > 50, `${earlier.length} + ${later.length} transactions`);
    await send(s.pipeline.ingest.url, earlier);
    assert.ok((await deleteKeys(s.redis.port, `fw:{*}:${V}:*`)) > 0, 'the features are lost');

    // live traffic goes on: newer events are featurized first, then more while the backfill replays the log
    await send(s.pipeline.ingest.url, first);
    const duplicatesBefore = await duplicatesCounted(s.pipeline);
    const [outcome] = await Promise.all([
      runBackfill({
        eventLog: s.eventLog,
        store: s.store,
        featureSet: customerFeatures,
        range: RANGE,
        allowedLatenessMs: LATENESS_MS,
        chunkSize: 20,
        log,
      }),
      send(s.pipeline.ingest.url, rest),
    ]);
    assert.equal(outcome.kind, 'completed');
    const liveDuplicates = (await duplicatesCounted(s.pipeline)) - duplicatesBefore;
    const liveApplied = first.length + rest.length - liveDuplicates;
    const total = earlier.length + later.length;
    assert.equal(outcome.checkpoint.counts.applied + liveApplied, total, 'applied once, by one or the other');
    assert.equal(outcome.checkpoint.counts.invalid, 0);
    // the newer events featurized before the replay began were in its range: found applied, and the older ones
    // (days behind them, far past the allowed lateness) were applied all the same
    assert.ok(outcome.checkpoint.counts.duplicates >= first.length);
    assert.equal((await snapshot(s.redis.port, `fw:{*}:${V}:claim:*`)).size, total, 'one claim per event');

    // the same state as featurize of every logged transaction in log order on a store that never lost anything
    const reference = await startRedis();
    const refStore = createRedisStore({ url: reference.url, timeoutMs: 5000, log });
    try {
      const ends = await s.eventLog.endOffsets();
      const records = await s.eventLog.readOffsets(ends.map((e) => ({ ...e, from: '0', to: e.offset })));
      const deps = {
        store: refStore,
        featureSet: customerFeatures,
        allowedLatenessMs: LATENESS_MS,
        claimTtlMs: FEATURIZE_CLAIM_TTL_MS,
      };
      for (const r of records.filter((x) => x.type === EventTypes.transactionAccepted)) {
        const tx = AcceptedTransactionSchema.parse((JSON.parse(r.value) as { data: unknown }).data);
        const { result } = await applyTransaction(deps, { eventKey: eventKey(r), tx });
        assert.equal(result.kind, 'applied');
      }
      const want = stateOf(await snapshot(reference.port, `fw:{*}:${V}:*`));
      assert.equal(want.size, 30 * 3);
      assert.deepEqual(stateOf(await snapshot(s.redis.port, `fw:{*}:${V}:*`)), want);
    } finally {
      await refStore.close();
      await reference.stop();
    }
  });
});

describe('flywheel backfill --feature-set', () => {
  /** The version live featurize ran before this code: the same features but one fewer event kept. */
  const { name, entity, windows, maxEvents, features } = customerFeatures;
  const previous = defineFeatureSet({ name, entity, windows, maxEvents: maxEvents - 1, features });
  let s: Awaited<ReturnType<typeof setUp>>;
  before(async () => {
    s = await setUp(previous);
  });
  after(async () => s?.close());

  it("fills the code's version beside the old keys, leaves those untouched, and score reports it complete", async () => {
    assert.notEqual(previous.version, V);
    const generated = createGenerator({ seed: 4, customers: 20 }, FROM).until(FROM + 6 * DAY);
    await send(s.pipeline.ingest.url, generated);
    const ids = [...new Set(generated.map((g) => g.transaction.customerId))];
    const old = await snapshot(s.redis.port, `fw:{*}:${previous.version}:*`);
    assert.equal(stateOf(old).size, ids.length * 3);
    assert.equal((await snapshot(s.redis.port, `fw:{*}:${V}:*`)).size, 0);
    const before = (await (await fetch(`${s.pipeline.score.url}/v1/feature-set`)).json()) as Record<
      string,
      unknown
    >;
    assert.deepEqual(before, { name, version: V, backfilled: false, backfill: null });

    const lines: string[] = [];
    const err = { write: (text: string) => lines.push(text) };
    const refused = await runBackfillCli(
      ['--from', iso(RANGE.from), '--to', iso(RANGE.to), '--feature-set', previous.version],
      { env: s.env, out: (l) => lines.push(l), err },
    );
    assert.equal(refused, 2);
    assert.match(
      lines.join(''),
      new RegExp(`unknown feature-set version ${previous.version}: .*version ${V}`),
    );

    const code = await runBackfillCli(
      ['--from', iso(RANGE.from), '--to', iso(RANGE.to), '--feature-set', V],
      {
        env: s.env,
        out: (l) => lines.push(l),
        err,
      },
    );
    assert.equal(code, 0, lines.join('\n'));
    assert.deepEqual(await snapshot(s.redis.port, `fw:{*}:${previous.version}:*`), old, 'old keys untouched');
    assert.equal(stateOf(await snapshot(s.redis.port, `fw:{*}:${V}:*`)).size, ids.length * 3);
    assert.deepEqual(
      await s.store.readCustomers(ids, customerFeatures),
      await s.store.readCustomers(ids, previous),
      'the same customers, in the new keys',
    );
    const after = (await (await fetch(`${s.pipeline.score.url}/v1/feature-set`)).json()) as {
      backfilled: boolean;
      backfill: { range: unknown; counts: { applied: number } };
    };
    assert.equal(after.backfilled, true);
    assert.deepEqual(after.backfill.range, RANGE);
    assert.equal(after.backfill.counts.applied, generated.length);
  });
});

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
