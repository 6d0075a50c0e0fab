// The whole loop end to end with compressed timings, as one scenario the loop tests run on their infrastructure:
// history → first champions → live traffic → drift detected → training → promotion → scores carrying the new
// version; a function killed mid-stream; then a reconciliation.
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { bootstrapChampions } from '../../../local/bootstrap.ts';
import { createSource, type Source } from '../../../local/demo/source.ts';
import { type Loop, startLoop } from '../../../local/loop.ts';
import { loadConfig } from '../../../shared/config/index.ts';
import { EventTypes, type FlywheelEvent } from '../../../shared/events/index.ts';
import { createFileLogger } from '../../../shared/runtime/index.ts';
import { eventually } from '../../support/http.ts';
import { freeBlock } from '../../support/ports.ts';

/** What the loop runs on: extra environment (REDIS_URL, KAFKA_BROKERS…), started before and stopped after. */
export interface Infrastructure {
  start(): Promise<Record<string, string>>;
  stop(): Promise<void>;
}

/** The embedded defaults: in-process store, file log. */
export const embedded: Infrastructure = { start: async () => ({}), stop: async () => {} };

/** Declares the loop scenario's tests under `title`, on `infrastructure`. */
export function describeLoop(title: string, infrastructure: Infrastructure): void {
  describe(title, () => {
    let loop: Loop;
    let source: Source;
    let dir: string;
    const seen = {
      accepted: new Set<string>(),
      features: new Map<string, number>(),
      scores: new Map<string, number>(),
    };
    let liveFrom = Number.POSITIVE_INFINITY;
    const count = (m: Map<string, number>, id: string) => m.set(id, (m.get(id) ?? 0) + 1);
    const onEvent = (e: FlywheelEvent, direction: 'in' | 'out') => {
      if (direction !== 'out') return;
      const live = Date.now() >= liveFrom;
      if (e.type === EventTypes.transactionAccepted && live) seen.accepted.add(e.id);
      if (e.type === EventTypes.featuresUpdated && seen.accepted.has(e.id)) count(seen.features, e.id);
      if (e.type === EventTypes.scoreComputed && seen.accepted.has(e.id)) count(seen.scores, e.id);
    };

    before(async () => {
      dir = await mkdtemp(path.join(tmpdir(), 'flywheel-e2e-'));
      const env = {
        ...(await infrastructure.start()),
        FLYWHEEL_DATA_DIR: dir,
        FLYWHEEL_PORT_BASE: String(await freeBlock()),
        TRAINING_EXECUTOR: 'local',
        TRAINING_BACKEND: 'cpu',
        DRIFT_WINDOW_SIZE: '200',
        DRIFT_MIN_WINDOW_SIZE: '100',
        DRIFT_WINDOW_MS: '600000',
        MODEL_ALIAS_TTL_MS: '1000',
        // one retraining per champion version per 20 s (hours of simulated time) instead of per 30 min (years
        // here): a drift whose candidate was rejected on its merits is reported again while the test runs
        DRIFT_COOLDOWN_MS: '20000',
        // the simulated clock runs ~20 000× real time: a second of broker reordering is hours of event time
        ALLOWED_LATENESS_MS: String(7 * 86_400_000),
        LOG_LEVEL: 'info',
      };
      const config = loadConfig(env);
      const log = createFileLogger({ name: 'flywheel', level: 'info', file: path.join(dir, 'flywheel.log') });
      loop = await startLoop({ config, env: { ...process.env, ...env }, log, onEvent });
      source = createSource({
        brokerUrl: loop.brokerUrl,
        seed: 21,
        customers: 120,
        rate: 60,
        durationSec: 150,
        driftAfterSec: 6,
        historyDays: 42,
        invalidShare: 0.01,
      });
    });
    after(async () => {
      source?.stop();
      await loop?.stop();
      await infrastructure.stop();
    });

    it('trains the first champions from the replayed history', async () => {
      await bootstrapChampions({
        loop,
        source,
        say: () => {},
      });
      assert.equal(await loop.registry.alias('risk', 'champion'), 1);
      assert.equal(await loop.registry.alias('segment', 'champion'), 1);
    });

    it('detects drift, retrains, promotes, and scores with the new version — surviving a function restart', async () => {
      liveFrom = Date.now();
      const live = source.live();
      // a function killed mid-stream and started again: the broker retries its deliveries, nothing is lost
      await eventually(() => (loop.snapshot().totals.scored > 300 ? true : undefined), 60_000);
      await loop.stopFunction('featurize');
      await new Promise((r) => setTimeout(r, 1500));
      await loop.startFunction('featurize');
      const steps = await eventually(() => {
        const s = loop.snapshot();
        const kinds = s.models.map((m) => `${m.kind}:${m.model}`);
        // A retrained risk champion that has served: one promotion may follow another before it has.
        const promoted = s.models.find(
          (m) =>
            m.kind === 'promoted' &&
            m.model === 'risk' &&
            (m.version ?? 0) > 1 &&
            (s.scoredByVersion[String(m.version)] ?? 0) > 20,
        );
        return promoted ? { kinds, version: promoted.version } : undefined;
      }, 200_000);
      const order = ['drift:risk', 'launched:risk', 'trained:risk', 'promoted:risk'].map((k) =>
        steps.kinds.lastIndexOf(k),
      );
      assert.ok(
        order.every((i) => i >= 0),
        `loop steps seen: ${steps.kinds.join(', ')}`,
      );
      assert.deepEqual(
        [...order].sort((a, b) => a - b),
        order,
        'drift → launch → trained → promoted, in order',
      );
      source.stop();
      await live;
    });

    it('reconciles: every accepted event featurized and scored exactly once, only the broken ones dead-lettered', async () => {
      await loop.whenIdle();
      await eventually(async () => {
        await loop.whenIdle();
        return seen.accepted.size > 0 && [...seen.accepted].every((id) => seen.scores.has(id))
          ? true
          : undefined;
      }, 30_000).catch(() => {
        const missing = [...seen.accepted].filter((id) => !seen.scores.has(id));
        const unfeaturized = [...seen.accepted].filter((id) => !seen.features.has(id));
        assert.fail(
          `${seen.accepted.size} accepted, ${missing.length} not scored, ${unfeaturized.length} not featurized`,
        );
      });
      const twice = [...seen.features.entries(), ...seen.scores.entries()].filter(([, n]) => n !== 1);
      assert.deepEqual(twice, [], 'no event featurized or scored twice');
      assert.equal(seen.features.size, seen.accepted.size);
      assert.equal(seen.scores.size, seen.accepted.size);
      const dead = loop.snapshot().deadLetters;
      assert.ok(source.brokenIds.size > 0, 'the source sent broken events');
      assert.deepEqual(
        new Set(dead.map((d) => String(d.event.id))),
        source.brokenIds,
        'exactly the broken events are dead letters',
      );
      for (const d of dead) {
        assert.equal(String(d.event.knativeerrorcode), '400');
        assert.match(
          Buffer.from(String(d.event.knativeerrordata), 'base64').toString(),
          /data\.(amount|currency)/,
        );
      }
    });
  });
}
