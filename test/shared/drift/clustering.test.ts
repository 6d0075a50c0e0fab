// Clustered observations: a customer's repeated values, the design effect, and tests that keep α when customers repeat.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildBaseline, type DriftBaseline } from '../../../shared/drift/baseline.ts';
import {
  categoricalUnitCorrelation,
  designEffect,
  effectiveCount,
  meanClusterSize,
  midRanks,
  numericUnitCorrelation,
  sampledClusterSize,
} from '../../../shared/drift/clustering.ts';
import { DEFAULT_DRIFT_CONFIG as config } from '../../../shared/drift/config.ts';
import { measureStream } from '../../../shared/drift/measure.ts';
import { seededRandom } from '../../../shared/random/index.ts';
import { countObservation, emptyWindow, measureWindow } from '../../../shared/drift/window.ts';
import { seededDraws } from '../../support/draws.ts';
import { near, scipy } from './scipy.ts';

/** 50 customers taking turns: row i belongs to customer i mod 50. */
const turns = (n: number) => Array.from({ length: n }, (_, i) => `c${i % 50}`);

describe('how alike a unit’s values are', () => {
  it('is 1 for customers whose value never changes and about 0 for independent values', () => {
    const units = turns(1000);
    const constant = units.map((_, i) => (i % 50) * 3.5);
    assert.equal(numericUnitCorrelation(constant, units), 1);
    assert.equal(categoricalUnitCorrelation(constant.map(String), units), 1);
    const random = seededRandom(3);
    const noise = units.map(() => random());
    assert.ok(numericUnitCorrelation(noise, units) < 0.08, `${numericUnitCorrelation(noise, units)}`);
    const codes = noise.map((x) => String(Math.floor(x * 3)));
    assert.ok(categoricalUnitCorrelation(codes, units) < 0.08);
  });

  it('is 0 when no unit repeats, for a single category, and skips missing values', () => {
    const distinct = Array.from({ length: 20 }, (_, i) => `u${i}`);
    assert.equal(
      numericUnitCorrelation(
        distinct.map((_, i) => i),
        distinct,
      ),
      0,
    );
    assert.equal(
      categoricalUnitCorrelation(
        turns(100).map(() => '1'),
        turns(100),
      ),
      0,
    );
    const units = ['a', 'b', 'a', 'b', 'a', 'b'];
    assert.equal(numericUnitCorrelation([1, 5, Number.NaN, 5, 1, Number.NaN], units), 1);
    assert.deepEqual(midRanks([3, 1, 3, Number.NaN]), [2 / 3, 1 / 6, 2 / 3, null]);
  });

  it('counts training rows of customers with constant values as one row per customer', () => {
    // 100 customers × 20 rows: intraclass correlation 1, m̄ = 20, so 2000 rows are worth 100.
    const units = Array.from({ length: 2000 }, (_, i) => `c${i % 100}`);
    const values = units.map((_, i) => i % 100);
    assert.equal(effectiveCount({ values: midRanks(values), units }), 100);
    assert.equal(effectiveCount({ values: values.map((x) => String(x % 7)), units }), 100);
    const random = seededRandom(4);
    const independent = effectiveCount({ values: units.map(() => random()), units });
    assert.ok(independent > 1800 && independent <= 2000, `${independent}`);
    assert.equal(effectiveCount({ values: [1, 2, 3], units: ['a', 'b', 'c'] }), 3);
  });
});

describe('the design effect', () => {
  it("is Kish's 1 + (m̄ − 1)·ρ with m̄ the size-biased observations per unit", () => {
    // Customer a three times, b once: m̄ = (9 + 1) / 4; two more observations without a customer count as units.
    assert.equal(meanClusterSize([3, 1], 4), 2.5);
    assert.equal(meanClusterSize([3, 1], 6), 2);
    assert.equal(meanClusterSize([], 0), 1);
    assert.equal(designEffect(2.5, 0.4), 1.6);
    assert.equal(designEffect(0.5, 0.4), 1);
    assert.equal(designEffect(3, 2), 3);
    // A 200-value sample of 500 observations keeps each other observation of a unit with probability 199/499.
    assert.equal(sampledClusterSize(4, 500, 200), 1 + (3 * 199) / 499);
    assert.equal(sampledClusterSize(4, 200, 200), 4);
  });

  it('divides χ² by D + n / the baseline’s effective rows (Rao–Scott), as scipy’s chi2.sf of the scaled statistic', () => {
    const baseline = buildBaseline({
      columns: ['code'],
      rows: Array.from({ length: 2000 }, (_, i) => [i % 3]),
      kinds: { code: 'categorical' },
      units: Array.from({ length: 2000 }, (_, i) => `c${Math.floor(i / 3) % 400}`),
    }).features.code;
    assert.ok(baseline?.kind === 'categorical' && baseline.effectiveCount !== undefined);
    const withRho = { ...baseline, unitCorrelation: 0.8 };
    const stream = { kind: 'categorical' as const, n: 300, counts: [120, 100, 80, 0] };
    const plain = measureStream({ stream, baseline: { ...withRho, unitCorrelation: 0 }, config });
    const s = measureStream({ stream, baseline: withRho, config, clusterSize: 2.5 });
    assert.ok(s.kind === 'categorical' && plain.kind === 'categorical');
    assert.equal(s.designEffect, 1 + 1.5 * 0.8);
    assert.equal(s.chiSquare, plain.chiSquare, 'the statistic and the effect sizes do not change');
    assert.equal(s.jensenShannon, plain.jensenShannon);
    const scale = s.designEffect + 300 / baseline.effectiveCount;
    const reference = scipy<number>('out = scipy.stats.chi2.sf(data[0], data[1])', [s.chiSquare / scale, 3]);
    assert.ok(
      near(s.chiSquarePValue, reference, { abs: 1e-12, rel: 1e-9 }),
      `${s.chiSquarePValue} vs ${reference}`,
    );
    assert.ok(s.chiSquarePValue > plain.chiSquarePValue);
  });
});

/**
 * A null stream of clustered observations: every customer keeps one value (a persistent N(0, 1) draw and a
 * persistent category); training has 300 customers × 20 rows; each window 100 new customers × 2 transactions.
 */
function clusteredNull(input: { units: boolean }): { ks: number; chiSquare: number; windows: number } {
  const random = seededRandom(11);
  const { normal } = seededDraws(random);
  const customer = () => {
    const x = normal();
    return { x, code: x < -0.5 ? 0 : x < 0.6 ? 1 : 2 };
  };
  const trainingCustomers = Array.from({ length: 300 }, customer);
  const rows: number[][] = [];
  const units: string[] = [];
  for (let r = 0; r < 20; r++) {
    trainingCustomers.forEach((c, i) => {
      rows.push([c.x, c.code]);
      units.push(`t${i}`);
    });
  }
  const baseline: DriftBaseline = buildBaseline({
    columns: ['x', 'code'],
    rows,
    kinds: { code: 'categorical' },
    ...(input.units ? { units } : {}),
  });
  let rejectedKs = 0;
  let rejectedChi = 0;
  const windows = 200;
  for (let w = 0; w < windows; w++) {
    const counts = emptyWindow({ start: 0 });
    for (let c = 0; c < 100; c++) {
      const { x, code } = customer();
      for (let t = 0; t < 2; t++) {
        const observation = { source: 'features' as const, values: { x, code }, at: 0, unit: `w${w}c${c}` };
        countObservation(counts, baseline, observation);
      }
    }
    const report = measureWindow({ counts, baseline, config, now: 1, seed: w + 1 });
    const x = report.features.x;
    const code = report.features.code;
    assert.ok(x?.kind === 'numeric' && code?.kind === 'categorical');
    if (x.ksPValue < config.alpha) rejectedKs++;
    if (code.chiSquarePValue < config.alpha) rejectedChi++;
  }
  return { ks: rejectedKs / windows, chiSquare: rejectedChi / windows, windows };
}

describe('tests on clustered observations', () => {
  it('reject a true null about α of the time once customers are counted, far more often when they are not', (t) => {
    const counted = clusteredNull({ units: true });
    const ignored = clusteredNull({ units: false });
    t.diagnostic(
      `α = ${config.alpha}: counted KS ${counted.ks}, χ² ${counted.chiSquare}; ignored KS ${ignored.ks}, χ² ${ignored.chiSquare}`,
    );
    assert.ok(
      counted.ks <= 3 * config.alpha && counted.chiSquare <= 3 * config.alpha,
      JSON.stringify(counted),
    );
    assert.ok(
      ignored.ks >= 5 * config.alpha && ignored.chiSquare >= 5 * config.alpha,
      JSON.stringify(ignored),
    );
  });
});
