// The drift decision: effect size and p-value per stream, the share rule, persistence, and the event data.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_DRIFT_CONFIG, driftConfig } from '../../../shared/drift/config.ts';
import { type DriftHistory, decide, EMPTY_HISTORY, judgeStream } from '../../../shared/drift/decide.ts';
import { driftDetectedData, driftMeasuredData } from '../../../shared/drift/events.ts';
import type {
  CategoricalStatistics,
  NumericStatistics,
  StreamStatistics,
  WindowReport,
} from '../../../shared/drift/measure.ts';
import { DriftDetectedSchema, DriftReportSchema } from '../../../shared/events/index.ts';

const config = DEFAULT_DRIFT_CONFIG;

function numeric(effect: { psi?: number; w?: number; p: number }): NumericStatistics {
  return {
    kind: 'numeric',
    n: 500,
    sampleSize: 200,
    mean: 1,
    baselineMean: 1,
    psi: effect.psi ?? 0.01,
    wasserstein: effect.w ?? 0.02,
    wassersteinNormalised: effect.w ?? 0.02,
    ks: 0.05,
    ksPValue: effect.p,
    designEffect: 1,
  };
}

function categorical(effect: { js: number; p: number }): CategoricalStatistics {
  return {
    kind: 'categorical',
    n: 500,
    psi: 0.01,
    jensenShannon: effect.js,
    chiSquare: 3,
    chiSquareDf: 2,
    chiSquarePValue: effect.p,
    designEffect: 1,
    other: 0,
  };
}

const stable = numeric({ p: 0.5 });
const shifted = numeric({ psi: 0.3, w: 0.4, p: 1e-9 });

function report(
  features: Record<string, StreamStatistics>,
  prediction: StreamStatistics | null = null,
): WindowReport {
  return {
    sequence: 0,
    window: { start: 1000, end: 61_000, count: 500 },
    features,
    prediction: prediction ? { name: 'risk', statistics: prediction } : null,
  };
}

/** Four features, one of them (25 %) drifted: a drifted window under the default share. */
const driftedWindow = report({ a: shifted, b: stable, c: stable, d: stable }, stable);
const stableWindow = report({ a: stable, b: stable, c: stable, d: stable }, stable);

describe('judging one stream', () => {
  it('needs an effect size past its threshold and a significant test', () => {
    assert.equal(judgeStream(numeric({ psi: 0.3, p: 0.001 }), config).drifted, true);
    assert.equal(judgeStream(numeric({ w: 0.15, p: 0.001 }), config).drifted, true);
    assert.equal(
      judgeStream(numeric({ psi: 0.3, w: 0.4, p: 0.2 }), config).drifted,
      false,
      'small window: noise',
    );
    assert.equal(
      judgeStream(numeric({ psi: 0.05, w: 0.05, p: 1e-12 }), config).drifted,
      false,
      'huge window: trivial shift',
    );
    assert.equal(judgeStream(categorical({ js: 0.12, p: 1e-4 }), config).drifted, true);
    assert.equal(judgeStream(categorical({ js: 0.05, p: 1e-9 }), config).drifted, false);
    assert.equal(judgeStream(categorical({ js: 0.3, p: 0.02 }), config).drifted, false);
  });

  it('treats the thresholds as inclusive and says which effects passed, with numbers', () => {
    const verdict = judgeStream(numeric({ psi: 0.2, w: 0.1, p: 0.0099 }), config);
    assert.equal(verdict.drifted, true);
    assert.deepEqual(verdict.effects, ['PSI 0.2 ≥ 0.2', 'W/σ 0.1 ≥ 0.1']);
    assert.equal(verdict.test, 'KS p 0.0099 < 0.01');
  });

  it('leaves an insufficient stream out', () => {
    const verdict = judgeStream({ kind: 'insufficient', n: 12, required: 100 }, config);
    assert.deepEqual(verdict, {
      drifted: false,
      evaluated: false,
      significant: false,
      effects: [],
      test: null,
    });
  });
});

describe('deciding on a window', () => {
  it('marks a window drifted when the drifted share reaches driftedShare', () => {
    const quarter = decide({ report: driftedWindow, history: EMPTY_HISTORY, config });
    assert.equal(quarter.verdict.drifted, true);
    assert.equal(quarter.verdict.driftedShare, 0.25);
    assert.deepEqual(quarter.verdict.driftedFeatures, ['a']);
    const fifth = decide({
      report: report({ a: shifted, b: stable, c: stable, d: stable, e: stable }),
      history: EMPTY_HISTORY,
      config,
    });
    assert.equal(fifth.verdict.drifted, false);
    assert.equal(fifth.kind, 'stable');
  });

  it('counts only tested features in the share', () => {
    const insufficient: StreamStatistics = { kind: 'insufficient', n: 3, required: 100 };
    const d = decide({
      report: report({ a: shifted, b: stable, c: insufficient, d: insufficient, e: insufficient }),
      history: EMPTY_HISTORY,
      config,
    });
    assert.equal(d.verdict.evaluated, 2);
    assert.equal(d.verdict.driftedShare, 0.5);
    assert.equal(d.verdict.drifted, true);
  });

  it('marks a window drifted when the prediction drifted, whatever the features did', () => {
    const d = decide({ report: report({ a: stable, b: stable }, shifted), history: EMPTY_HISTORY, config });
    assert.equal(d.verdict.driftedShare, 0);
    assert.equal(d.verdict.predictionDrifted, true);
    assert.equal(d.kind, 'drifting');
    assert.match(
      d.reason,
      /prediction risk \(PSI 0\.3 ≥ 0\.2, W\/σ 0\.4 ≥ 0\.1, KS p 1\.00e-9 < 0\.01\) drifted/,
    );
  });

  it('sends drift.detected only on the third drifted window in a row, then starts counting again', () => {
    let history: DriftHistory = EMPTY_HISTORY;
    const kinds: string[] = [];
    for (let i = 0; i < 6; i++) {
      const d = decide({ report: driftedWindow, history, config });
      kinds.push(d.kind);
      history = d.history;
    }
    assert.deepEqual(kinds, ['drifting', 'drifting', 'detected', 'drifting', 'drifting', 'detected']);
    assert.deepEqual(history, { consecutive: 0, windows: 6, detections: 2, lastDetectedAt: 61_000 });
  });

  it('restarts the run after a stable window', () => {
    let history: DriftHistory = EMPTY_HISTORY;
    const kinds: string[] = [];
    for (const r of [
      driftedWindow,
      driftedWindow,
      stableWindow,
      driftedWindow,
      driftedWindow,
      driftedWindow,
    ]) {
      const d = decide({ report: r, history, config });
      kinds.push(d.kind);
      history = d.history;
    }
    assert.deepEqual(kinds, ['drifting', 'drifting', 'stable', 'drifting', 'drifting', 'detected']);
  });

  it('leaves the run as it was when no stream had enough observations', () => {
    const empty = report(
      { a: { kind: 'insufficient', n: 3, required: 100 } },
      { kind: 'insufficient', n: 2, required: 100 },
    );
    const history: DriftHistory = { consecutive: 2, windows: 7, detections: 0, lastDetectedAt: null };
    const d = decide({ report: empty, history, config });
    assert.equal(d.kind, 'insufficient');
    assert.deepEqual(d.history, { ...history, windows: 8 });
  });

  it('follows a configured persistence and share', () => {
    const eager = driftConfig({ consecutiveWindows: 1, driftedShare: 0.5 });
    assert.equal(decide({ report: driftedWindow, history: EMPTY_HISTORY, config: eager }).kind, 'stable');
    const two = report({ a: shifted, b: shifted, c: stable, d: stable });
    assert.equal(decide({ report: two, history: EMPTY_HISTORY, config: eager }).kind, 'detected');
  });

  it('states the reason in words and numbers', () => {
    let history: DriftHistory = EMPTY_HISTORY;
    let reason = '';
    for (let i = 0; i < 3; i++) {
      const d = decide({ report: driftedWindow, history, config });
      history = d.history;
      reason = d.reason;
    }
    assert.equal(
      reason,
      'drift in 3 consecutive windows; latest window: 1 of 4 features drifted (25% ≥ 25%): ' +
        'a (PSI 0.3 ≥ 0.2, W/σ 0.4 ≥ 0.1, KS p 1.00e-9 < 0.01); prediction risk stable',
    );
  });
});

describe('drift configuration', () => {
  it('has the documented defaults and rejects out-of-range values', () => {
    assert.deepEqual(DEFAULT_DRIFT_CONFIG, {
      windowSize: 500,
      windowMs: 300_000,
      minWindowSize: 200,
      minStreamCount: 100,
      sampleSize: 200,
      alpha: 0.01,
      psiThreshold: 0.2,
      wassersteinThreshold: 0.1,
      jensenShannonThreshold: 0.1,
      driftedShare: 0.25,
      consecutiveWindows: 3,
      epsilon: 1e-4,
    });
    assert.equal(driftConfig({ alpha: 0.05 }).alpha, 0.05);
    assert.throws(() => driftConfig({ alpha: 2 }));
    assert.throws(() => driftConfig({ consecutiveWindows: 0 }));
  });
});

describe('drift event data', () => {
  const model = { name: 'risk' as const, version: 3 };

  it('builds drift.measured data that the catalog schema accepts, with each stream verdict', () => {
    const decision = decide({ report: driftedWindow, history: EMPTY_HISTORY, config });
    const data = DriftReportSchema.parse(driftMeasuredData({ model, report: driftedWindow, decision }));
    assert.equal(data.features.a?.drifted, true);
    assert.equal(data.features.a?.psi, 0.3);
    assert.equal(data.features.b?.drifted, false);
    assert.equal(data.prediction?.name, 'risk');
    assert.equal(data.driftedShare, 0.25);
    assert.equal(driftDetectedData({ model, report: driftedWindow, decision, config }), null);
  });

  it('builds drift.detected data with thresholds, the run length and the reason', () => {
    const history: DriftHistory = { consecutive: 2, windows: 2, detections: 0, lastDetectedAt: null };
    const decision = decide({ report: driftedWindow, history, config });
    const data = DriftDetectedSchema.parse(
      driftDetectedData({ model, report: driftedWindow, decision, config }),
    );
    assert.equal(data.consecutiveWindows, 3);
    assert.equal(data.threshold.psi, 0.2);
    assert.equal(data.threshold.driftedShare, 0.25);
    assert.equal(data.reason, decision.reason);
    assert.deepEqual(data.model, model);
  });
});
