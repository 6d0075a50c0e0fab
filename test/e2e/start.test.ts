// `npm start` with its defaults (seed 7), time compressed: no "drift detected" before the source's programmed drift.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { bootstrapChampions } from '../../local/bootstrap.ts';
import { createSource, type Source } from '../../local/demo/source.ts';
import { type Loop, startLoop } from '../../local/loop.ts';
import { loadConfig } from '../../shared/config/index.ts';
import { DEFAULT_DRIFT_CONFIG } from '../../shared/drift/config.ts';
import {
  DriftDetectedSchema,
  DriftReportSchema,
  EventTypes,
  type FlywheelEvent,
} from '../../shared/events/index.ts';
import { createFileLogger } from '../../shared/runtime/index.ts';
import { freeBlock } from '../support/ports.ts';

/**
 * local/start.ts's defaults. The demo's data depend on the seed, the customers and the history; the rate only sets
 * how fast the simulated clock runs. Compressing time by C (rate × C, drift-after and duration ÷ C) keeps the same
 * simulated calendar — the same transactions before the drift (rate × drift-after = 1200) — in a third of the time.
 */
const DEFAULTS = {
  seed: 7,
  customers: 300,
  historyDays: 45,
  invalidShare: 0.002,
  rate: 20,
  driftAfterSec: 60,
};
const COMPRESSION = 3;

describe('npm start with its defaults (seed 7), time compressed', () => {
  let loop: Loop;
  let source: Source;
  let dir: string;
  const drift: { measured: FlywheelEvent[]; detected: FlywheelEvent[] } = { measured: [], detected: [] };
  const onEvent = (e: FlywheelEvent, direction: 'in' | 'out') => {
    if (direction !== 'out') return;
    if (e.type === EventTypes.driftMeasured) drift.measured.push(e);
    if (e.type === EventTypes.driftDetected) drift.detected.push(e);
  };

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'flywheel-start-'));
    // As local/start.ts builds it: the widened lateness, then the data directory and the port base; every other
    // variable (DRIFT_* included) at its default. The trainer runs on the CPU backend, as in the loop test.
    const env = {
      ALLOWED_LATENESS_MS: String(7 * 86_400_000),
      FLYWHEEL_DATA_DIR: dir,
      FLYWHEEL_PORT_BASE: String(await freeBlock()),
      TRAINING_BACKEND: 'cpu',
      LOG_LEVEL: 'info',
    };
    const config = loadConfig(env);
    assert.equal(config.DRIFT_WINDOW_SIZE, DEFAULT_DRIFT_CONFIG.windowSize);
    const log = createFileLogger({ name: 'flywheel', level: 'info', file: path.join(dir, 'flywheel.log') });
    loop = await startLoop({ config, env: { ...process.env, ...env }, log, onEvent });
    source = createSource({
      brokerUrl: loop.brokerUrl,
      seed: DEFAULTS.seed,
      customers: DEFAULTS.customers,
      rate: DEFAULTS.rate * COMPRESSION,
      durationSec: 600 / COMPRESSION,
      driftAfterSec: DEFAULTS.driftAfterSec / COMPRESSION,
      historyDays: DEFAULTS.historyDays,
      invalidShare: DEFAULTS.invalidShare,
      // as local/start.ts, and stop once the simulated clock reaches the drift
      onProgress: (p) => {
        Object.assign(loop.state.source, p);
        if (p.drifting) source.stop();
      },
    });
  });
  after(async () => {
    source?.stop();
    await loop?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('trains the first champions on the replayed history, as npm start does', async () => {
    await bootstrapChampions({ loop, source, say: () => {} });
    assert.equal(await loop.registry.alias('risk', 'champion'), 1);
    assert.equal(await loop.registry.alias('segment', 'champion'), 1);
  });

  it('shows no "drift detected" line before the drift time, with every model judged in enough windows', async (t) => {
    // Bounded by events, not seconds: the source stops at the drift time, then every event it sent is processed.
    await source.live();
    await loop.whenIdle();
    assert.ok(loop.state.source.drifting, 'the source reached its drift time');
    const { driftAt } = source.timeline;
    const before = (e: FlywheelEvent) => DriftReportSchema.parse(e.data).window.end < driftAt;
    const detectedBefore = drift.detected.filter(before).map((e) => DriftDetectedSchema.parse(e.data).reason);
    assert.deepEqual(detectedBefore, [], 'drift.detected before the drift time');
    // The terminal's "drift detected" lines come from these model events (local/progress.ts modelLine).
    assert.deepEqual(
      loop.state.modelsSince(0).filter((m) => m.kind === 'drift'),
      [],
      'no "drift detected" line',
    );
    for (const model of ['risk', 'segment'] as const) {
      const windows = drift.measured
        .filter(before)
        .map((e) => DriftReportSchema.parse(e.data))
        .filter((d) => d.model.name === model);
      // Fewer windows than the persistence rule needs could never have alarmed: the test would prove nothing.
      assert.ok(
        windows.length >= DEFAULT_DRIFT_CONFIG.consecutiveWindows,
        `${model}: ${windows.length} windows closed before the drift`,
      );
      const features = Object.keys(windows[0]?.features ?? {}).length;
      assert.ok(features > 0, `${model}: its window watches its inputs`);
      t.diagnostic(
        `${model}: ${windows.length} windows before the drift, ${windows.filter((w) => w.drifted).length} drifted, ` +
          `${features} features and the prediction watched, no detection`,
      );
    }
  });
});
