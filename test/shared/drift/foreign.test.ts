// Drift detection on the foreign test source with the champions the trainer builds: silent while stationary, then
// shift A found by risk (not by segment, whose inputs it leaves alone here) and shift B found by segment.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { DEFAULT_DRIFT_CONFIG as config } from '../../../shared/drift/config.ts';
import { createDeliveryPlan, DEFAULT_DELIVERY } from '../../support/foreign-source/delivery.ts';
import { createForeignGenerator, DEFAULT_FOREIGN_GENERATOR } from '../../support/foreign-source/generator.ts';
import { ingestRecords } from '../../support/foreign-source/log-records.ts';
import { type TrainedStream, trainedStream } from './trained-stream.ts';
import { type MonitorRun, runMonitor } from './monitor.ts';

const DAY = 86_400_000;
const SEED = 11;
const CUSTOMERS = 300;
const FROM = Date.UTC(2026, 2, 1);
/** 45 days of history, as npm start replays: the first 30 only warm the windows up. */
const LIVE_START = FROM + 45 * DAY;
/**
 * 75 stationary days: about 1.9 purchases per customer and day give ~570 transactions a day, and windows close at
 * DRIFT_MIN_WINDOW_SIZE = 200 (their DRIFT_WINDOW_MS of event time is long past by then), so more than 200 windows.
 */
const SHIFT_A = LIVE_START + 75 * DAY;
/** Shift B (behaviour: students, retirees, families) ten days after shift A; then twelve more days. */
const SHIFT_B = SHIFT_A + 10 * DAY;
const LIVE_END = SHIFT_B + 12 * DAY;
const STATIONARY_WINDOWS = 200;

describe('drift on the foreign source, baselines built by the trainer (default configuration)', () => {
  let stream: TrainedStream;
  const runs: Record<'risk' | 'segment', MonitorRun> = {} as Record<'risk' | 'segment', MonitorRun>;
  before(async () => {
    const generator = createForeignGenerator(
      {
        seed: SEED,
        customers: CUSTOMERS,
        // prices unchanged: shift A moves checkout (online share, a wallet device), which only risk's inputs see
        shiftA: { ...DEFAULT_FOREIGN_GENERATOR.shiftA, at: SHIFT_A, priceFactor: 1 },
        shiftB: { ...DEFAULT_FOREIGN_GENERATOR.shiftB, at: SHIFT_B },
      },
      FROM,
    );
    // 20 % re-sent, late and out-of-order events included: what ingest logs, at-least-once
    const plan = createDeliveryPlan(generator, { ...DEFAULT_DELIVERY, seed: SEED });
    const history = ingestRecords(plan.due(LIVE_START));
    const later = ingestRecords(plan.due(LIVE_END));
    stream = await trainedStream({
      historyStart: FROM,
      liveStart: LIVE_START,
      driftAt: SHIFT_A,
      history,
      all: [...history, ...later],
    });
    for (const model of ['risk', 'segment'] as const) {
      runs[model] = runMonitor({
        baseline: stream[model].baseline,
        config,
        source: (i) => stream.live[i] ?? assert.fail(`no transaction ${i}`),
        transactions: stream.live.length,
        seed: SEED,
      });
    }
  });

  const between = (model: 'risk' | 'segment', from: number, to: number) =>
    runs[model].windows.filter((w) => w.report.window.end >= from && w.report.window.end < to);
  const detections = (model: 'risk' | 'segment', from: number, to: number) =>
    between(model, from, to).filter((w) => w.decision.kind === 'detected');

  it('sends no drift.detected in 200 stationary windows of either model, inputs and prediction both tested', (t) => {
    for (const model of ['risk', 'segment'] as const) {
      const windows = between(model, 0, SHIFT_A);
      assert.ok(windows.length >= STATIONARY_WINDOWS, `${model}: ${windows.length} stationary windows`);
      assert.deepEqual(
        detections(model, 0, SHIFT_A).map((w) => w.decision.reason),
        [],
        `${model}: detections on stationary data`,
      );
      const inputs = Object.keys(stream[model].baseline.features).length;
      for (const w of windows) {
        assert.equal(w.decision.verdict.evaluated, inputs, `${model}: ${w.decision.reason}`);
        assert.equal(w.decision.verdict.prediction?.evaluated, true, `${model}: ${w.decision.reason}`);
      }
      const drifting = windows.filter((w) => w.decision.kind === 'drifting').length;
      assert.ok(drifting <= 10, `${model}: ${drifting} isolated drifted windows (chance level is about 1 %)`);
      t.diagnostic(
        `${model}: ${windows.length} stationary windows, ${inputs} inputs and the prediction tested, ` +
          `${drifting} isolated drifted windows, 0 detections`,
      );
    }
  });

  it('finds shift A through risk within k + 1 windows, and leaves segment quiet until shift B', (t) => {
    const risk = detections('risk', SHIFT_A, SHIFT_B)[0];
    assert.ok(risk, 'risk: no detection after shift A');
    const windows = between('risk', SHIFT_A, risk.report.window.end + 1).length;
    assert.ok(windows <= config.consecutiveWindows + 1, `risk: detected in window ${windows} after shift A`);
    assert.deepEqual(
      detections('segment', SHIFT_A, SHIFT_B).map((w) => w.decision.reason),
      [],
      'segment: shift A leaves its inputs alone',
    );
    t.diagnostic(`risk: detected in window ${windows} after shift A: ${risk.decision.reason}`);
  });

  it('finds shift B through segment within 8 days', (t) => {
    const segment = detections('segment', SHIFT_B, LIVE_END)[0];
    assert.ok(segment, 'segment: no detection after shift B');
    const days = (segment.report.window.end - SHIFT_B) / DAY;
    assert.ok(days <= 8, `segment: detected ${days.toFixed(1)} days after shift B`);
    t.diagnostic(`segment: detected ${days.toFixed(1)} days after shift B: ${segment.decision.reason}`);
  });
});
