// The drift baseline: quantile bins, sketch, categories, validation and size.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidInputError } from '../../../shared/errors/index.ts';
import { binIndex, buildBaseline, DriftBaselineSchema } from '../../../shared/drift/baseline.ts';
import { seededRandom } from '../../../shared/random/index.ts';
import { generatedBaseline } from './generator.ts';
import { near, scipy } from './scipy.ts';

const column = (values: number[]) => values.map((x) => [x]);

describe('buildBaseline', () => {
  it('cuts a continuous feature into ten equal-share bins and keeps a 100-point quantile sketch', () => {
    const values = Array.from({ length: 1000 }, (_, i) => i + 1);
    const b = buildBaseline({ columns: ['x'], rows: column(values) }).features.x;
    assert.ok(b?.kind === 'numeric');
    assert.deepEqual(b.edges, [100, 200, 300, 400, 500, 600, 700, 800, 900]);
    assert.deepEqual(b.proportions, Array(10).fill(0.1));
    assert.equal(b.quantiles.length, 100);
    assert.equal(b.quantiles[0], 5);
    assert.equal(b.quantiles[99], 995);
    assert.equal(b.mean, 500.5);
    assert.ok(near(b.std, Math.sqrt((1000 ** 2 - 1) / 12), { abs: 1e-9 }));
    assert.equal(b.count, 1000);
  });

  it("takes edges and sketch at numpy's inverted-CDF quantiles", () => {
    const random = seededRandom(5);
    const values = Array.from({ length: 1037 }, () => Math.exp(3 + random() * 2));
    const b = buildBaseline({ columns: ['x'], rows: column(values) }).features.x;
    assert.ok(b?.kind === 'numeric');
    const ref = scipy<{ edges: number[]; sketch: number[] }>(
      `v = np.array(data)
out = {'edges': np.quantile(v, np.arange(1, 10) / 10, method='inverted_cdf'),
       'sketch': np.quantile(v, (np.arange(100) + 0.5) / 100, method='inverted_cdf')}`,
      values,
    );
    assert.deepEqual(b.edges, ref.edges);
    assert.deepEqual(b.quantiles, ref.sketch);
  });

  it('de-duplicates edges of a discrete feature so each value keeps its own bin', () => {
    // 0 × 500, 1 × 300, 2 × 150, 5 × 50: deciles 0,0,0,0,0,1,1,1,2 → edges 0, 1, 2.
    const values = [
      ...Array(500).fill(0),
      ...Array(300).fill(1),
      ...Array(150).fill(2),
      ...Array(50).fill(5),
    ];
    const b = buildBaseline({ columns: ['count'], rows: column(values) }).features.count;
    assert.ok(b?.kind === 'numeric');
    assert.deepEqual(b.edges, [0, 1, 2]);
    assert.deepEqual(b.proportions, [0.5, 0.3, 0.15, 0.05]);
    assert.equal(binIndex(b.edges, 0), 0);
    assert.equal(binIndex(b.edges, 1), 1);
    assert.equal(binIndex(b.edges, 1.5), 2);
    assert.equal(binIndex(b.edges, 7), 3);
  });

  it('keeps category shares by value and pools the rarest beyond maxCategories into other', () => {
    const values = [...Array(60).fill(3), ...Array(30).fill(1), ...Array(6).fill(7), ...Array(4).fill(9)];
    const b = buildBaseline({
      columns: ['code'],
      rows: column(values),
      kinds: { code: 'categorical' },
      options: { maxCategories: 2 },
    }).features.code;
    assert.deepEqual(b, {
      kind: 'categorical',
      count: 100,
      categories: ['3', '1'],
      proportions: [0.6, 0.3],
      other: 0.1,
    });
  });

  it('summarises the prediction alongside the features and skips non-finite values', () => {
    const b = buildBaseline({
      columns: ['x'],
      rows: [[1], [Number.NaN], [3]],
      prediction: { name: 'risk', kind: 'numeric', values: [0.1, 0.2, 0.3] },
    });
    assert.equal(b.rows, 3);
    assert.equal(b.features.x?.count, 2);
    assert.equal(b.prediction?.name, 'risk');
    assert.equal(b.prediction?.baseline.count, 3);
  });

  it("records, given each row's customer, how alike a customer's values are and how many rows they are worth", () => {
    // 40 customers × 10 rows in time order; x is the customer's own level plus a little noise, flag is random.
    const random = seededRandom(8);
    const rows = Array.from({ length: 400 }, (_, i) => [(i % 40) * 10 + random(), random() < 0.5 ? 1 : 0]);
    const b = buildBaseline({
      columns: ['x', 'flag'],
      rows,
      kinds: { flag: 'categorical' },
      prediction: { name: 'segment', kind: 'categorical', values: rows.map((_, i) => i % 4) },
      units: rows.map((_, i) => `c${i % 40}`),
    });
    const x = b.features.x;
    const flag = b.features.flag;
    assert.ok(x?.kind === 'numeric' && flag?.kind === 'categorical');
    assert.ok((x.unitCorrelation ?? 0) > 0.95, `x: ρ ${x.unitCorrelation}`);
    assert.ok((x.effectiveCount ?? 0) > 40 && (x.effectiveCount ?? 0) < 45, `x: ${x.effectiveCount} rows`);
    assert.ok((flag.unitCorrelation ?? 1) < 0.1, `flag: ρ ${flag.unitCorrelation}`);
    assert.ok((flag.effectiveCount ?? 0) > 300, `flag: ${flag.effectiveCount} rows`);
    // Customer c sits in segment c mod 4 on every row: one row per customer's worth.
    assert.equal(b.prediction?.baseline.unitCorrelation, 1);
    assert.equal(b.prediction?.baseline.effectiveCount, 40);
    assert.deepEqual(DriftBaselineSchema.parse(JSON.parse(JSON.stringify(b))), b);
    const without = buildBaseline({ columns: ['x'], rows: [[1], [2]] }).features.x;
    assert.ok(without && !('unitCorrelation' in without) && !('effectiveCount' in without));
  });

  it('rejects malformed training data, naming the offending field', () => {
    assert.throws(
      () => buildBaseline({ columns: ['a', 'b'], rows: [[1, 2], [3]] }),
      (err) => err instanceof InvalidInputError && err.field === 'rows[1]',
    );
    assert.throws(
      () => buildBaseline({ columns: ['a'], rows: [[1]], kinds: { b: 'numeric' } }),
      (err) => err instanceof InvalidInputError && err.field === 'kinds.b',
    );
    assert.throws(
      () => buildBaseline({ columns: ['a'], rows: [[Number.NaN]] }),
      (err) => err instanceof InvalidInputError && err.field === 'columns.a',
    );
    assert.throws(
      () => buildBaseline({ columns: ['a'], rows: [] }),
      (err) => err instanceof InvalidInputError && err.field === 'rows',
    );
    assert.throws(
      () => buildBaseline({ columns: ['a'], rows: [[1], [2]], units: ['c1'] }),
      (err) => err instanceof InvalidInputError && err.field === 'units',
    );
  });

  it('stays small and survives a JSON round trip through its schema', () => {
    const baseline = generatedBaseline({ seed: 1, rows: 20_000 });
    const json = JSON.stringify(baseline);
    assert.ok(json.length < 16 * 1024, `baseline is ${json.length} bytes`);
    assert.deepEqual(DriftBaselineSchema.parse(JSON.parse(json)), baseline);
  });
});
