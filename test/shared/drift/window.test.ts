// The drift window as counts per value: counting observations, the exact bins and categories, the drawn sample, the report.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildBaseline, type DriftBaseline } from '../../../shared/drift/baseline.ts';
import { driftConfig } from '../../../shared/drift/config.ts';
import { drawSample } from '../../../shared/drift/sample.ts';
import { psi, wasserstein1 } from '../../../shared/drift/stats.ts';
import {
  countObservation,
  emptyWindow,
  measureWindow,
  type Observation,
  summarizeStream,
  type WindowCounts,
  windowCount,
  windowValue,
} from '../../../shared/drift/window.ts';
import { seededRandom } from '../../../shared/random/index.ts';

const small: DriftBaseline = buildBaseline({
  columns: ['x', 'flag'],
  rows: Array.from({ length: 100 }, (_, i) => [i, i % 10 === 0 ? 1 : 0]),
  kinds: { flag: 'categorical' },
  prediction: { name: 'risk', kind: 'numeric', values: Array.from({ length: 100 }, (_, i) => i / 100) },
});
const config = driftConfig({
  windowSize: 50,
  windowMs: 1000,
  minWindowSize: 20,
  sampleSize: 10,
  minStreamCount: 5,
});
const features = (values: Record<string, number>, at: number, unit?: string): Observation => ({
  source: 'features',
  values,
  at,
  unit,
});

function counted(observations: Observation[], baseline = small): WindowCounts {
  const counts = emptyWindow({ start: 0 });
  for (const observation of observations) countObservation(counts, baseline, observation);
  return counts;
}

const xOf = (baseline: DriftBaseline) => {
  const x = baseline.features.x;
  assert.ok(x);
  return x;
};

describe('counting a drift window', () => {
  it('counts features and predictions separately, a transaction being one of each', () => {
    const counts = counted([
      features({ x: 5, flag: 1 }, 1),
      { source: 'prediction', values: { risk: 0.4, other: 3 }, at: 1 },
      features({ x: 7, flag: 0 }, 2),
    ]);
    assert.equal(counts.featureEvents, 2);
    assert.equal(counts.predictionEvents, 1);
    assert.equal(windowCount(counts), 2);
    assert.deepEqual([...counts.prediction], [[0.4, 1]]);
  });

  it('counts each value once per observation, skipping unknown names and non-finite values', () => {
    const counts = counted([
      features({ x: 5, flag: 1 }, 10_000),
      features({ x: 5, flag: 0 }, 10_001),
      features({ x: 1 / 3, unknown: 3 }, 10_002),
      features({ x: Number.NaN, flag: Number.POSITIVE_INFINITY }, 10_003),
    ]);
    assert.equal(counts.start, 10_000, 'the window starts at its first observation');
    assert.equal(counts.featureEvents, 4, 'every event counts, whatever its values');
    assert.deepEqual(
      [...(counts.features.get('x') ?? [])],
      [
        [5, 2],
        [0.3333333, 1],
      ],
    );
    assert.deepEqual(
      [...(counts.features.get('flag') ?? [])],
      [
        [1, 1],
        [0, 1],
      ],
    );
    assert.equal(counts.features.has('unknown'), false);
  });

  it('keeps numbers to 7 significant digits and categorical codes as they are', () => {
    const x = xOf(small);
    assert.equal(windowValue(x, 123_456_789), 123_456_800);
    assert.equal(windowValue(x, 0.123456789), 0.1234568);
    assert.equal(windowValue(x, 42), 42);
    assert.equal(windowValue(small.features.flag ?? assert.fail(), 0.123456789), 0.123456789);
  });

  it("counts each unit's events per source", () => {
    const counts = counted([
      features({ x: 1 }, 1, 'c1'),
      features({ x: 2 }, 2, 'c1'),
      { source: 'prediction', values: { risk: 0.5 }, at: 2, unit: 'c1' },
      features({ x: 3 }, 3, 'c2'),
    ]);
    assert.deepEqual(
      [...counts.units.features],
      [
        ['c1', 2],
        ['c2', 1],
      ],
    );
    assert.deepEqual([...counts.units.prediction], [['c1', 1]]);
  });
});

describe("summarizing a window's stream", () => {
  it('bins numeric values, counts categories, and pools unseen codes in the last slot, from the counts', () => {
    const counts = counted([
      features({ x: 5, flag: 1 }, 1),
      features({ x: 95, flag: 0 }, 2),
      features({ x: 500, flag: 7 }, 3),
      features({ x: 95, flag: 7 }, 4),
    ]);
    const random = seededRandom(1);
    const x = summarizeStream({
      values: counts.features.get('x') ?? assert.fail(),
      baseline: xOf(small),
      sampleSize: 10,
      random,
    });
    assert.deepEqual(x, {
      kind: 'numeric',
      n: 4,
      sum: 695,
      bins: [1, 0, 0, 0, 0, 0, 0, 0, 0, 3],
      sample: [5, 95, 95, 500],
    });
    assert.deepEqual(small.features.flag?.kind === 'categorical' && small.features.flag.categories, [
      '0',
      '1',
    ]);
    const flag = summarizeStream({
      values: counts.features.get('flag') ?? assert.fail(),
      baseline: small.features.flag ?? assert.fail(),
      sampleSize: 10,
      random,
    });
    assert.deepEqual(flag, { kind: 'categorical', n: 4, counts: [1, 1, 2] });
  });
});

describe('drawing the sample from counts', () => {
  const everyValue = (n: number) => Array.from({ length: n }, (_, i) => [i, 1] as const);

  it('draws a uniform sample of distinct observations, the same on every run with the same seed', () => {
    const entries = everyValue(10_000);
    const draw = (seed: number) => drawSample({ entries, n: 10_000, size: 200, random: seededRandom(seed) });
    const a = draw(42);
    assert.equal(a.length, 200);
    assert.equal(new Set(a).size, 200);
    assert.deepEqual(
      a,
      [...a].sort((p, q) => p - q),
      'in the order of the entries',
    );
    // A uniform sample of 0…9999 has mean 4999.5 and standard error ≈ 204; keeping the first or the last values
    // would put it near 100 or 9900.
    const mean = a.reduce((s, v) => s + v, 0) / a.length;
    assert.ok(Math.abs(mean - 4999.5) < 800, `sample mean ${mean}`);
    assert.deepEqual(draw(42), a);
    assert.notDeepEqual(draw(43), a);
  });

  it('draws repeated values in proportion to their counts', () => {
    const entries = [
      [1, 9_000],
      [2, 1_000],
    ] as const;
    const sample = drawSample({ entries, n: 10_000, size: 2_000, random: seededRandom(5) });
    assert.equal(sample.length, 2_000);
    const twos = sample.filter((x) => x === 2).length;
    // Hypergeometric: mean 200, standard deviation ≈ 12.
    assert.ok(Math.abs(twos - 200) < 60, `${twos} twos`);
  });

  it('keeps every observation when the window holds no more than the sample size', () => {
    const entries = [
      [3, 2],
      [8, 1],
    ] as const;
    let draws = 0;
    const random = () => {
      draws++;
      return 0.5;
    };
    assert.deepEqual(drawSample({ entries, n: 3, size: 10, random }), [3, 3, 8]);
    assert.equal(draws, 0, 'no draw needed');
  });
});

describe('measuring a closed window', () => {
  it('reports the window, each feature the baseline knows, and the prediction as insufficient when absent', () => {
    const obs = Array.from({ length: 30 }, (_, i) => features({ x: i, flag: i % 2 }, 100 + i));
    const counts = counted(obs);
    const report = measureWindow({ counts, baseline: small, config, now: 2000, seed: 9 });
    assert.deepEqual(report.window, { start: 100, end: 2000, count: 30 });
    assert.equal(report.sequence, 0);
    assert.equal(report.features.x?.kind, 'numeric');
    assert.equal(report.features.x?.n, 30);
    assert.deepEqual(report.prediction, {
      name: 'risk',
      statistics: { kind: 'insufficient', n: 0, required: 5 },
    });
  });

  it('measures PSI on every value and the same statistics as on all values while the window fits the sample', () => {
    const values = Array.from({ length: 8 }, (_, i) => i * 11 + 3);
    const counts = counted(values.map((x, i) => features({ x }, i)));
    const report = measureWindow({
      counts,
      baseline: small,
      config: driftConfig({ ...config, sampleSize: 8 }),
      now: 10,
      seed: 1,
    });
    const x = report.features.x;
    const b = xOf(small);
    assert.ok(x?.kind === 'numeric' && b.kind === 'numeric');
    assert.equal(x.sampleSize, 8);
    assert.equal(x.mean, values.reduce((s, v) => s + v, 0) / 8);
    // The baseline's decile edges are 9, 19, …, 89: the right-closed bin of v is ⌊v / 10⌋ for these values.
    const bins = new Array<number>(b.proportions.length).fill(0);
    for (const v of values) bins[Math.floor(v / 10)] = (bins[Math.floor(v / 10)] ?? 0) + 1;
    assert.equal(x.psi, psi(b.proportions, bins));
    assert.equal(x.wasserstein, wasserstein1(values, b.quantiles));
  });

  it('gives the same report for the same counts and seed, whatever order the observations came in', () => {
    const obs = Array.from({ length: 60 }, (_, i) =>
      features({ x: (i * 37) % 100, flag: i % 3 }, i, `c${i % 7}`),
    );
    const forward = measureWindow({ counts: counted(obs), baseline: small, config, now: 100, seed: 3 });
    const backward = measureWindow({
      counts: counted([...obs].reverse()),
      baseline: small,
      config,
      now: 100,
      seed: 3,
    });
    assert.deepEqual(backward.features, forward.features);
    const other = measureWindow({ counts: counted(obs), baseline: small, config, now: 100, seed: 4 });
    const x = forward.features.x;
    const y = other.features.x;
    assert.ok(x?.kind === 'numeric' && y?.kind === 'numeric');
    assert.equal(y.psi, x.psi, 'PSI does not depend on the sample');
    assert.notEqual(y.wasserstein, x.wasserstein, 'another seed draws another sample');
  });

  it('does not change the counts it measures', () => {
    const counts = counted([features({ x: 1, flag: 1 }, 1), features({ x: 2, flag: 0 }, 2)]);
    const copy = structuredClone(counts);
    measureWindow({ counts, baseline: small, config, now: 5, seed: 1 });
    assert.deepEqual(counts, copy);
  });
});
