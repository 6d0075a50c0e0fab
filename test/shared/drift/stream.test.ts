// Drift detection end to end on generated streams: silence on a stationary stream, detection after a 0.5σ shift.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_DRIFT_CONFIG as config } from '../../../shared/drift/config.ts';
import { WindowReportSchema } from '../../../shared/drift/measure.ts';
import { generatedBaseline, transactionSource } from './generator.ts';
import { observedOf, runMonitor } from './monitor.ts';

const baseline = generatedBaseline({ seed: 1, rows: 20_000 });

/** Two events (features.updated, score.computed) per transaction. */
const EVENTS_PER_TRANSACTION = 2;
/** The shift starts mid-window, the less favourable case for a count window. */
const SHIFT_AT_TRANSACTION = 2250;
/**
 * With the defaults the third drifted window must close within k + 1 = 4 windows of the shift's start, the first
 * being partly unshifted: 4 × 500 transactions × 2 events = 4000 events.
 */
const DETECTION_BOUND_EVENTS = (config.consecutiveWindows + 1) * config.windowSize * EVENTS_PER_TRANSACTION;

describe('drift detection on generated streams (default configuration)', () => {
  it('sends no drift.detected over 200 windows of a stationary stream', (t) => {
    const next = transactionSource({ seed: 2 });
    const run = runMonitor({
      baseline,
      config,
      source: () => observedOf(next()),
      transactions: 200 * config.windowSize,
      seed: 7,
    });
    const kinds = run.windows.map((w) => w.decision.kind);
    assert.equal(run.windows.length, 200);
    assert.equal(kinds.filter((k) => k === 'detected').length, 0);
    assert.equal(kinds.filter((k) => k === 'insufficient').length, 0, 'every window was tested');
    for (const w of run.windows) assert.deepEqual(WindowReportSchema.parse(w.report), w.report);
    const drifting = kinds.filter((k) => k === 'drifting').length;
    assert.ok(
      drifting <= 10,
      `${drifting} single drifted windows (chance level is about 1 % per tested stream)`,
    );
    t.diagnostic(`stationary: 200 windows, ${drifting} isolated drifted windows, 0 detections`);
  });

  it('detects amounts shifted by +0.5σ within the stated number of events', (t) => {
    const before = transactionSource({ seed: 3 });
    const after = transactionSource({ seed: 4, amountShiftSd: 0.5 });
    const run = runMonitor({
      baseline,
      config,
      source: (i) => observedOf(i < SHIFT_AT_TRANSACTION ? before() : after()),
      transactions: SHIFT_AT_TRANSACTION + 2 * DETECTION_BOUND_EVENTS,
      seed: 7,
    });
    const shiftEvent = SHIFT_AT_TRANSACTION * EVENTS_PER_TRANSACTION;
    assert.equal(
      run.windows.filter((w) => w.atEvent <= shiftEvent && w.decision.kind === 'detected').length,
      0,
    );
    const detection = run.windows.find((w) => w.decision.kind === 'detected');
    assert.ok(detection, 'drift.detected was never decided');
    const eventsToDetect = detection.atEvent - shiftEvent;
    assert.ok(
      eventsToDetect > 0 && eventsToDetect <= DETECTION_BOUND_EVENTS,
      `${eventsToDetect} events after the shift`,
    );
    // Deterministic with these seeds: the third window holding shifted data closes 2493 events after the shift.
    assert.equal(eventsToDetect, 2493);
    const verdict = detection.decision.verdict;
    assert.ok(verdict.driftedFeatures.includes('amount'));
    assert.equal(verdict.predictionDrifted, true);
    assert.match(detection.decision.reason, /^drift in 3 consecutive windows; .*amount \(PSI [\d.]+ ≥ 0\.2/);
    t.diagnostic(`0.5σ amount shift: detected ${eventsToDetect} events after it began`);
    t.diagnostic(`reason: ${detection.decision.reason}`);
  });
});
