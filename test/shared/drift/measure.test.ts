// Per-stream statistics of a window: what each is computed on, and that every value stays finite for JSON.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildBaseline } from '../../../shared/drift/baseline.ts';
import { driftConfig } from '../../../shared/drift/config.ts';
import {
  type CategoricalSummary,
  measureStream,
  type NumericSummary,
  StreamStatisticsSchema,
} from '../../../shared/drift/measure.ts';
import { chiSquare, jensenShannon, ks2samp, psi, wasserstein1 } from '../../../shared/drift/stats.ts';

const config = driftConfig({ minStreamCount: 4 });
const baseline = buildBaseline({
  columns: ['x', 'code', 'constant'],
  rows: Array.from({ length: 200 }, (_, i) => [i, i % 4, 7]),
  kinds: { code: 'categorical' },
  options: { quantiles: 20 },
});
const x = baseline.features.x;
const code = baseline.features.code;
const constant = baseline.features.constant;

describe('measuring a numeric stream', () => {
  it('takes PSI from all binned values and Wasserstein and KS from the sample against the sketch', () => {
    assert.ok(x?.kind === 'numeric');
    const sample = [150, 20, 199, 180, 160, 170];
    const bins = [1, 0, 0, 0, 0, 0, 0, 2, 3, 4];
    const stream: NumericSummary = { kind: 'numeric', n: 10, sum: 1500, bins, sample };
    const s = measureStream({ stream, baseline: x, config });
    assert.ok(s.kind === 'numeric');
    assert.equal(s.n, 10);
    assert.equal(s.sampleSize, 6);
    assert.equal(s.mean, 150);
    assert.equal(s.baselineMean, 99.5);
    assert.equal(s.psi, psi(x.proportions, bins));
    assert.equal(s.wasserstein, wasserstein1(sample, x.quantiles));
    assert.equal(s.wassersteinNormalised, s.wasserstein / x.std);
    // KS statistic against the 20-point sketch; its p-value treats the baseline as all 200 training rows.
    assert.equal(s.ks, ks2samp(sample, x.quantiles).statistic);
    assert.ok(s.ksPValue < ks2samp(sample, x.quantiles).pvalue);
  });

  it('reads any movement of a feature that was constant in training as a large, finite drift', () => {
    assert.ok(constant?.kind === 'numeric' && constant.std === 0);
    const stream: NumericSummary = {
      kind: 'numeric',
      n: 5,
      sum: 40,
      bins: [0, 5],
      sample: [8, 8, 8, 8, 8],
    };
    const s = measureStream({ stream, baseline: constant, config });
    assert.ok(s.kind === 'numeric');
    assert.ok(s.wassersteinNormalised > 1e6 && Number.isFinite(s.wassersteinNormalised));
    assert.ok(StreamStatisticsSchema.safeParse(s).success);
  });

  it('reports a stream with fewer than minStreamCount values as insufficient', () => {
    assert.ok(x?.kind === 'numeric');
    const stream: NumericSummary = {
      kind: 'numeric',
      n: 3,
      sum: 3,
      bins: Array(10).fill(0),
      sample: [1, 1, 1],
    };
    assert.deepEqual(measureStream({ stream, baseline: x, config }), {
      kind: 'insufficient',
      n: 3,
      required: 4,
    });
  });
});

describe('measuring a categorical stream', () => {
  it('compares category shares, with a never-seen code expected at epsilon so χ² stays finite', () => {
    assert.ok(code?.kind === 'categorical');
    assert.deepEqual(code.categories, ['0', '1', '2', '3']);
    const counts = [10, 10, 10, 5, 5];
    const stream: CategoricalSummary = { kind: 'categorical', n: 40, counts };
    const s = measureStream({ stream, baseline: code, config });
    assert.ok(s.kind === 'categorical');
    const expected = [0.25, 0.25, 0.25, 0.25, 0];
    assert.equal(s.jensenShannon, jensenShannon(expected, counts));
    assert.equal(s.psi, psi(expected, counts));
    const test = chiSquare(counts, [0.25, 0.25, 0.25, 0.25, 1e-4]);
    assert.equal(s.chiSquare, test.statistic);
    assert.equal(s.chiSquarePValue, test.pvalue);
    assert.ok(Number.isFinite(s.chiSquare) && s.chiSquare > 1000);
    assert.equal(s.chiSquareDf, 4);
    assert.equal(s.other, 5);
    assert.ok(StreamStatisticsSchema.safeParse(s).success);
  });
});
