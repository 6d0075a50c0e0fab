// `flywheel backfill` end to end on a real redis-server and the file log: the store's features lost and rebuilt from
// the log (scores by id identical), reruns that change nothing, and a run stopped midway then resumed.
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createGenerator } from '../../local/demo/generator.ts';
import { runBackfill } from '../../shared/backfill/backfill.ts';
import { readCheckpoint, readCompletion } from '../../shared/backfill/records.ts';
import { customerFeatures } from '../../shared/features/index.ts';
import { createFileEventLog, type EventLog } from '../../shared/log/index.ts';
import { ModelRegistry } from '../../shared/registry/index.ts';
import { createLogger } from '../../shared/runtime/index.ts';
import { createRedisStore, type OnlineStore } from '../../shared/store/index.ts';
import {
  DAY,
  deleteKeys,
  FROM,
  LATENESS_MS,
  type Pipeline,
  RANGE,
  runFlywheel,
  scoresById,
  send,
  snapshot,
  startPipeline,
  stateOf,
  V,
} from '../support/backfill.ts';
import { registerChampions } from '../support/models.ts';
import { type RedisServer, startRedis } from '../support/redis.ts';

const log = createLogger({ name: 'backfill-test', level: 'silent' });
/** The features' keys of the code's version: what is lost and rebuilt (the registry and ingest's markers stay). */
const FEATURE_KEYS = `fw:{*}:${V}:*`;
/** The state that scores read (claims left out: those say what was applied, not what a customer looks like). */

describe('flywheel backfill', () => {
  let redis: RedisServer;
  let store: OnlineStore;
  let eventLog: EventLog;
  let pipeline: Pipeline;
  let dataDir: string;
  let ids: string[];
  let scoresBefore: unknown[];
  let stateBefore: Map<string, string>;
  let env: Record<string, string>;
  const cli = (...args: string[]) =>
    runFlywheel(['backfill', '--from', iso(RANGE.from), '--to', iso(RANGE.to), ...args], env);

  before(async () => {
    redis = await startRedis();
    store = createRedisStore({ url: redis.url, timeoutMs: 5000, log });
    dataDir = await mkdtemp(path.join(tmpdir(), 'backfill-'));
    eventLog = createFileEventLog({ dataDir, topic: 'events', log });
    const registry = new ModelRegistry({ store });
    await registerChampions(registry);
    pipeline = await startPipeline({ store, eventLog, registry, allowedLatenessMs: LATENESS_MS });
    const generated = createGenerator({ seed: 3, customers: 30 }, FROM).until(FROM + 10 * DAY);
    assert.ok(generated.length > 300, `${generated.length} transactions`);
    await send(pipeline.ingest.url, generated);
    ids = [...new Set(generated.map((g) => g.transaction.customerId))].sort();
    env = {
      REDIS_URL: redis.url,
      FLYWHEEL_DATA_DIR: dataDir,
      KAFKA_TOPIC: 'events',
      KAFKA_BROKERS: '',
      ALLOWED_LATENESS_MS: String(LATENESS_MS),
      LOG_LEVEL: 'warn',
    };
  });
  after(async () => {
    await pipeline?.close();
    await eventLog?.close();
    await store?.close();
    await redis?.stop();
  });

  it('rebuilds every customer from the log after the features are lost: the same scores by id', async () => {
    scoresBefore = await scoresById(pipeline.score.url, ids);
    stateBefore = stateOf(await snapshot(redis.port, FEATURE_KEYS));
    assert.equal(stateBefore.size, ids.length * 3, 'history, first sightings and latest per customer');
    const registryBefore = await snapshot(redis.port, 'fw:registry:*');

    assert.ok((await deleteKeys(redis.port, FEATURE_KEYS)) > ids.length * 3, 'claims went too');
    const lost = (await scoresById(pipeline.score.url, ids)) as { defaults?: boolean }[];
    assert.ok(
      lost.every((s) => s.defaults === true),
      'score has no features left',
    );

    const run = await cli();
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /completed: \d+ applied, 0 duplicates, 0 invalid/);
    assert.deepEqual(await scoresById(pipeline.score.url, ids), scoresBefore);
    assert.deepEqual(stateOf(await snapshot(redis.port, FEATURE_KEYS)), stateBefore);
    assert.deepEqual(await snapshot(redis.port, 'fw:registry:*'), registryBefore);
    const done = await readCompletion(store, V);
    assert.deepEqual(done?.range, RANGE);
    assert.equal(done?.counts.applied, pipeline.replies.size, 'every transaction applied once');
    assert.ok((done?.counts.read ?? 0) > pipeline.replies.size, 'labels were read and skipped');
  });

  it('changes nothing when run again: a completed range is not read, a restart finds only duplicates', async () => {
    const everything = await snapshot(redis.port, 'fw:*');
    const again = await cli();
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /already completed/);
    assert.deepEqual(await snapshot(redis.port, 'fw:*'), everything);

    const features = await snapshot(redis.port, FEATURE_KEYS);
    const restart = await cli('--restart');
    assert.equal(restart.code, 0, restart.stderr);
    assert.match(restart.stdout, new RegExp(`completed: 0 applied, ${pipeline.replies.size} duplicates`));
    assert.deepEqual(await snapshot(redis.port, FEATURE_KEYS), features, 'byte for byte');
    assert.deepEqual(await scoresById(pipeline.score.url, ids), scoresBefore);
  });

  it('leaves history, first sightings and latest unchanged when events are applied again after their claims lapsed', async () => {
    const state = stateOf(await snapshot(redis.port, FEATURE_KEYS));
    assert.ok((await deleteKeys(redis.port, `fw:{*}:${V}:claim:*`)) > 0);
    const restart = await cli('--restart');
    assert.equal(restart.code, 0, restart.stderr);
    assert.match(restart.stdout, new RegExp(`completed: ${pipeline.replies.size} applied, 0 duplicates`));
    assert.deepEqual(stateOf(await snapshot(redis.port, FEATURE_KEYS)), state);
  });

  it('resumes a backfill stopped midway from its checkpoint and ends in the same state', async () => {
    await deleteKeys(redis.port, FEATURE_KEYS);
    await deleteKeys(redis.port, 'fw:backfill:*');
    const stop = new AbortController();
    const stopped = await runBackfill({
      eventLog,
      store,
      featureSet: customerFeatures,
      range: RANGE,
      allowedLatenessMs: LATENESS_MS,
      chunkSize: 40,
      signal: stop.signal,
      onProgress: (p) => {
        if (p.chunks >= 3) stop.abort();
      },
      log,
    });
    assert.equal(stopped.kind, 'stopped');
    const saved = await readCheckpoint(store, V, RANGE);
    assert.equal(saved?.done, false);
    const read = saved?.next.reduce((n, o) => n + Number(o.offset), 0) ?? 0;
    const ends = saved?.ends.reduce((n, o) => n + Number(o.offset), 0) ?? 0;
    assert.ok(read > 0 && read < ends, `stopped at ${read} of ${ends} records`);
    assert.ok((saved?.counts.applied ?? 0) > 0);
    assert.equal(await readCompletion(store, V), null);

    const resumed = await cli('--resume');
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stdout, /completed \(resumed\)/);
    assert.match(
      resumed.stdout,
      new RegExp(`: ${pipeline.replies.size} applied, 0 duplicates`),
      'none twice',
    );
    assert.deepEqual(stateOf(await snapshot(redis.port, FEATURE_KEYS)), stateBefore);
    assert.deepEqual(await scoresById(pipeline.score.url, ids), scoresBefore);
    assert.equal((await readCheckpoint(store, V, RANGE))?.done, true);
  });
});

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
