// Drift statistics checked against scipy on fixed data, and PSI against a hand computation.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { kolmogorovSmirnovSf } from '../../../shared/drift/kolmogorov.ts';
import { seededRandom } from '../../../shared/random/index.ts';
import { chiSquareSf, gammaQ, logGamma } from '../../../shared/drift/special.ts';
import { chiSquare, jensenShannon, ks2samp, psi, wasserstein1 } from '../../../shared/drift/stats.ts';
import { seededDraws } from '../../support/draws.ts';
import { near, scipy } from './scipy.ts';

const STAT = { abs: 1e-9, rel: 1e-9 };
const PVALUE = { abs: 1e-12, rel: 1e-6 };

/** Fixed data: seeded normal, lognormal and Poisson draws, so scipy and this code see the same numbers. */
function fixedSamples(seed: number) {
  const { normal, poisson } = seededDraws(seededRandom(seed));
  return {
    normal: (n: number, mean = 0, sd = 1) => Array.from({ length: n }, () => normal(mean, sd)),
    lognormal: (n: number, shift = 0) =>
      Array.from({ length: n }, () => Math.round(Math.exp(normal(3.5, 0.8)) * 100) / 100 + shift),
    poisson: (n: number, lambda: number) => Array.from({ length: n }, () => poisson(lambda)),
  };
}

const d = fixedSamples(20240601);
const ksCases: [number[], number[]][] = [
  [
    [0.61, 0.29, 0.06, 0.59, -1.73, -0.74, 0.51, -0.56],
    [0.39, 1.64, 0.05, -0.06, 0.64, -0.82, 0.37, 1.77, 1.09, -1.28, 2.36, 1.31],
  ],
  [d.normal(60), d.normal(80, 0.3)],
  [d.normal(140), d.normal(140)],
  [d.normal(200), d.normal(150, 0.5)],
  [d.lognormal(500), d.lognormal(700, 21.6)],
  [d.poisson(1000, 2.5), d.poisson(3000, 2.7)],
  [d.normal(5000), d.normal(200, 0.1, 1.2)],
  [d.normal(300), d.normal(300, 1.5)],
];
// (n, x) pairs that reach every branch of the kstwo survival function: the Ruben–Gambino ends, the exact
// Smirnov tail, Durbin's matrix, Pomeranz's recursion, Pelz–Good, and the n > 140 cut-offs.
const kstwoCases: [number, number][] = [];
for (const n of [1, 3, 10, 37, 140, 141, 200, 750, 5000, 150_000]) {
  for (const x of [0.0009, 0.004, 0.012, 0.02, 0.035, 0.06, 0.09, 0.15, 0.25, 0.4, 0.5, 0.7, 0.95])
    kstwoCases.push([n, x]);
}
const wCases: [number[], number[]][] = [
  [
    [0, 1, 3],
    [5, 6, 8],
  ],
  [
    [3.4, 3.9, 7.5, 7.8],
    [4.5, 1.4],
  ],
  ...ksCases.slice(1, 6),
];
const chiCases: [number[], number[]][] = [
  [
    [16, 18, 16, 14, 12, 12],
    [1 / 6, 1 / 6, 1 / 6, 1 / 6, 1 / 6, 1 / 6],
  ],
  [
    [940, 60],
    [0.95, 0.05],
  ],
  [
    [420, 480, 70, 30],
    [0.55, 0.35, 0.07, 0.03],
  ],
  [
    [5, 0, 3, 400],
    [0.01, 0.02, 0.03, 0.94],
  ],
  [
    [1200, 3000, 1800],
    [0.2, 0.5, 0.3],
  ],
];
const jsCases: [number[], number[]][] = [
  [
    [1, 0, 0],
    [0, 1, 0],
  ],
  [
    [1, 0, 0],
    [1, 0, 0],
  ],
  [
    [0.95, 0.05],
    [0.88, 0.12],
  ],
  [
    [0.55, 0.35, 0.07, 0.03],
    [420, 480, 70, 30],
  ],
  [
    [0.2, 0.5, 0.3, 0],
    [12, 55, 25, 8],
  ],
];
const gammaCases: [number, number][] = [
  [0.5, 0.1],
  [0.5, 3],
  [1, 1],
  [2.5, 1.7],
  [2.5, 9],
  [10, 3],
  [10, 30],
  [49.5, 40],
  [49.5, 80],
  [200, 260],
];

interface Reference {
  ks: [number, number][];
  kstwo: number[];
  w: number[];
  chi: [number, number][];
  js: number[];
  gammaincc: number[];
  gammaln: number[];
}

const SCRIPT = `
out = {}
out['ks'] = [[r.statistic, r.pvalue] for r in (scipy.stats.ks_2samp(a, b, method='asymp') for a, b in data['ks'])]
out['kstwo'] = [scipy.stats.kstwo.sf(x, n) for n, x in data['kstwo']]
out['w'] = [scipy.stats.wasserstein_distance(u, v) for u, v in data['w']]
out['chi'] = [[r.statistic, r.pvalue] for r in (scipy.stats.chisquare(o, np.sum(o) * np.array(p) / np.sum(p)) for o, p in data['chi'])]
out['js'] = [scipy.spatial.distance.jensenshannon(p, q, base=2) for p, q in data['js']]
out['gammaincc'] = [scipy.special.gammaincc(a, x) for a, x in data['gamma']]
out['gammaln'] = [scipy.special.gammaln(a) for a, x in data['gamma']]
`;

describe('drift statistics', () => {
  let ref: Reference;
  before(() => {
    ref = scipy<Reference>(SCRIPT, {
      ks: ksCases,
      kstwo: kstwoCases,
      w: wCases,
      chi: chiCases,
      js: jsCases,
      gamma: gammaCases,
    });
  });

  it("ks2samp matches scipy's ks_2samp(method='asymp'): statistic to 1e-9, p-value to 1e-6 relative", () => {
    ksCases.forEach(([a, b], i) => {
      const [statistic, pvalue] = ref.ks[i] ?? [Number.NaN, Number.NaN];
      const ours = ks2samp(a, b);
      assert.ok(
        near(ours.statistic, statistic, STAT),
        `case ${i}: D ${ours.statistic} vs scipy ${statistic}`,
      );
      assert.ok(near(ours.pvalue, pvalue, PVALUE), `case ${i}: p ${ours.pvalue} vs scipy ${pvalue}`);
    });
    // The cases span agreement and clear difference, so the comparison is not only of p-values near 1.
    const ps = ref.ks.map(([, p]) => p);
    assert.ok(Math.min(...ps) < 1e-6 && Math.max(...ps) > 0.2);
  });

  it('the kstwo survival function matches scipy.stats.kstwo.sf on every branch', () => {
    kstwoCases.forEach(([n, x], i) => {
      const expected = ref.kstwo[i] ?? Number.NaN;
      const ours = kolmogorovSmirnovSf(n, x);
      assert.ok(near(ours, expected, PVALUE), `kstwo.sf(${x}, ${n}) = ${ours}, scipy ${expected}`);
    });
  });

  it('wasserstein1 matches scipy.stats.wasserstein_distance to 1e-9', () => {
    wCases.forEach(([u, v], i) => {
      const expected = ref.w[i] ?? Number.NaN;
      assert.ok(
        near(wasserstein1(u, v), expected, STAT),
        `case ${i}: ${wasserstein1(u, v)} vs scipy ${expected}`,
      );
    });
    assert.equal(wasserstein1([0, 1, 3], [5, 6, 8]), 5);
  });

  it('chiSquare matches scipy.stats.chisquare against expected counts', () => {
    chiCases.forEach(([observed, proportions], i) => {
      const [statistic, pvalue] = ref.chi[i] ?? [Number.NaN, Number.NaN];
      const ours = chiSquare(observed, proportions);
      assert.ok(
        near(ours.statistic, statistic, STAT),
        `case ${i}: χ² ${ours.statistic} vs scipy ${statistic}`,
      );
      assert.ok(near(ours.pvalue, pvalue, PVALUE), `case ${i}: p ${ours.pvalue} vs scipy ${pvalue}`);
      assert.equal(ours.df, observed.length - 1);
    });
  });

  it('chiSquare treats an observed cell that was expected at zero as impossible', () => {
    const result = chiSquare([10, 1], [1, 0]);
    assert.equal(result.statistic, Number.POSITIVE_INFINITY);
    assert.equal(result.pvalue, 0);
  });

  it('jensenShannon matches scipy.spatial.distance.jensenshannon(base=2), normalising its inputs', () => {
    jsCases.forEach(([p, q], i) => {
      const expected = ref.js[i] ?? Number.NaN;
      assert.ok(
        near(jensenShannon(p, q), expected, STAT),
        `case ${i}: ${jensenShannon(p, q)} vs scipy ${expected}`,
      );
    });
    assert.equal(jensenShannon([1, 0, 0], [0, 1, 0]), 1);
  });

  it('the regularised incomplete gamma and log-gamma match scipy.special', () => {
    gammaCases.forEach(([a, x], i) => {
      const q = ref.gammaincc[i] ?? Number.NaN;
      assert.ok(near(gammaQ(a, x), q, PVALUE), `Q(${a}, ${x}) = ${gammaQ(a, x)}, scipy ${q}`);
      const lg = ref.gammaln[i] ?? Number.NaN;
      assert.ok(near(logGamma(a), lg, STAT), `lnΓ(${a}) = ${logGamma(a)}, scipy ${lg}`);
    });
    assert.ok(near(chiSquareSf(3.841458820694124, 1), 0.05, { abs: 1e-12 }));
  });
});

describe('population stability index', () => {
  it('matches the hand computation for four quartile bins', () => {
    // Baseline quartiles e = (0.25, 0.25, 0.25, 0.25); the window has counts (10, 20, 30, 40) of 100,
    // so a = (0.1, 0.2, 0.3, 0.4) and PSI = Σ (a − e)·ln(a / e):
    //   (0.1 − 0.25)·ln(0.1 / 0.25) = −0.15 · −0.9162907 = 0.1374436
    //   (0.2 − 0.25)·ln(0.2 / 0.25) = −0.05 · −0.2231436 = 0.0111572
    //   (0.3 − 0.25)·ln(0.3 / 0.25) =  0.05 ·  0.1823216 = 0.0091161
    //   (0.4 − 0.25)·ln(0.4 / 0.25) =  0.15 ·  0.4700036 = 0.0705005
    //   sum                                               = 0.2282174
    assert.ok(near(psi([0.25, 0.25, 0.25, 0.25], [10, 20, 30, 40]), 0.2282174, { abs: 1e-7 }));
  });

  it('floors an empty bin at epsilon = 1e-4 instead of going infinite', () => {
    // e = (0.5, 0.5), counts (100, 0): a = (1, 0 → 1e-4).
    //   (1 − 0.5)·ln(1 / 0.5)          = 0.5 · 0.6931472     = 0.3465736
    //   (1e-4 − 0.5)·ln(1e-4 / 0.5)    = −0.4999 · −8.5171932 = 4.2577449
    //   sum                                                    = 4.6043185
    assert.ok(near(psi([0.5, 0.5], [100, 0]), 4.6043185, { abs: 1e-7 }));
    assert.ok(psi([0.5, 0.5], [100, 0], 1e-3) < psi([0.5, 0.5], [100, 0]));
  });

  it('is zero when the window matches the baseline exactly', () => {
    assert.equal(psi([0.1, 0.2, 0.7], [10, 20, 70]), 0);
  });
});
