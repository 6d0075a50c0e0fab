// Drift detection on the demo source with the champions the trainer builds: silent while stationary, then both drifts found.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { DEFAULT_DRIFT_CONFIG as config } from '../../../shared/drift/config.ts';
import { type TrainedStream, demoStream } from './trained-stream.ts';
import { type MonitorRun, runMonitor } from './monitor.ts';

const DAY = 86_400_000;
/** npm start's defaults: seed 7, 300 customers, 45 days of history (the first 30 only warm the windows up). */
const DEMO = { seed: 7, customers: 300, historyDays: 45 } as const;
/**
 * 80 stationary days: the demo's clock makes every window close by time (DRIFT_WINDOW_MS of event time) once it
 * holds DRIFT_MIN_WINDOW_SIZE = 200 transactions, as in `npm start`, so 80 days (~530 transactions a day) give
 * more than 200 windows. Then the generator's own drift, for 12 days.
 */
const STATIONARY_DAYS = 80;
const DRIFTED_DAYS = 12;
const STATIONARY_WINDOWS = 200;

describe('drift on the demo source, baselines built by the trainer (default configuration)', () => {
  let demo: TrainedStream;
  const runs: Record<'risk' | 'segment', MonitorRun> = {} as Record<'risk' | 'segment', MonitorRun>;
  before(async () => {
    demo = await demoStream({
      ...DEMO,
      liveDays: STATIONARY_DAYS + DRIFTED_DAYS,
      driftAfterDays: STATIONARY_DAYS,
    });
    for (const model of ['risk', 'segment'] as const) {
      runs[model] = runMonitor({
        baseline: demo[model].baseline,
        config,
        source: (i) => demo.live[i] ?? assert.fail(`no transaction ${i}`),
        transactions: demo.live.length,
        seed: 7,
      });
    }
  });

  const stationary = (model: 'risk' | 'segment') =>
    runs[model].windows.filter((w) => w.report.window.end < demo.driftAt);

  it('sends no drift.detected in 200 stationary windows of either model, inputs and prediction both tested', (t) => {
    for (const model of ['risk', 'segment'] as const) {
      const windows = stationary(model);
      assert.ok(windows.length >= STATIONARY_WINDOWS, `${model}: ${windows.length} stationary windows`);
      const detected = windows.filter((w) => w.decision.kind === 'detected');
      assert.deepEqual(
        detected.map((w) => w.decision.reason),
        [],
        `${model}: detections on stationary data`,
      );
      const inputs = Object.keys(demo[model].baseline.features).length;
      for (const w of windows) {
        // "N of N features": every input of the model is watched and tested in its own window, and the prediction too.
        assert.equal(w.decision.verdict.evaluated, inputs, `${model}: ${w.decision.reason}`);
        assert.equal(w.decision.verdict.prediction?.evaluated, true, `${model}: ${w.decision.reason}`);
      }
      const drifting = windows.filter((w) => w.decision.kind === 'drifting').length;
      assert.ok(drifting <= 10, `${model}: ${drifting} isolated drifted windows (chance level is about 1 %)`);
      t.diagnostic(
        `${model}: ${windows.length} stationary windows, ${inputs} of ${inputs} features and the prediction tested, ` +
          `${drifting} isolated drifted windows, 0 detections`,
      );
    }
    assert.equal(Object.keys(demo.segment.baseline.features).length, 4);
  });

  it("tests segment's id against a per-transaction baseline: its share of each segment matches live", (t) => {
    const js = stationary('segment')
      .map((w) => w.report.prediction?.statistics)
      .map((s) => (s?.kind === 'categorical' ? s.jensenShannon : Number.NaN))
      .sort((a, b) => a - b);
    const median = js[js.length >> 1] ?? Number.NaN;
    // Noise alone gives a JS distance near 0.08 for 200 draws over these 8 segments; per customer it was ≈ 0.36.
    assert.ok(median < config.jensenShannonThreshold, `median JS ${median}`);
    t.diagnostic(`segment id: median JS distance ${median.toFixed(3)} over ${js.length} stationary windows`);
  });

  it('detects the programmed drift: risk within k + 1 windows of its start, segment through its inputs within 8 days', (t) => {
    const firstAfter = (model: 'risk' | 'segment') =>
      runs[model].windows.find((w) => w.decision.kind === 'detected' && w.report.window.end >= demo.driftAt);
    const risk = firstAfter('risk');
    assert.ok(risk, 'risk: no detection after the drift');
    const riskWindows = runs.risk.windows.filter(
      (w) => w.report.window.end >= demo.driftAt && w.report.window.end <= risk.report.window.end,
    ).length;
    assert.ok(riskWindows <= config.consecutiveWindows + 1, `risk: detected in window ${riskWindows} after`);
    const segment = firstAfter('segment');
    assert.ok(segment, 'segment: no detection after the drift');
    // Prices rise for every new transaction, so the 30-day means segment watches move by a thirtieth a day.
    const days = (segment.report.window.end - demo.driftAt) / DAY;
    assert.ok(days <= 8, `segment: detected ${days.toFixed(1)} days after the drift`);
    assert.ok(segment.decision.verdict.driftedFeatures.length > 0, segment.decision.reason);
    t.diagnostic(`risk: detected in window ${riskWindows} after the drift: ${risk.decision.reason}`);
    t.diagnostic(`segment: detected ${days.toFixed(1)} days after the drift: ${segment.decision.reason}`);
  });
});
