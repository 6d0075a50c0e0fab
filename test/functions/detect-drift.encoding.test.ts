// The shared window's hash layout: folding the stored multiset gives the same window statistics as event-by-event.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  closeWindow,
  DEFAULT_DRIFT_CONFIG as config,
  type DriftBaseline,
  evolve,
  type Observation,
  openWindow,
} from '../../shared/drift/index.ts';
import {
  Fields,
  foldWindow,
  incrementsOf,
  parseWindowHash,
  seedOf,
} from '../../functions/detect-drift/encoding.ts';
import { COLUMNS, generatedBaseline, transactionSource } from '../shared/drift/generator.ts';

const generated = generatedBaseline({ seed: 11, rows: 5_000 });
/** The generated baseline, as if its customers' consecutive values had been this alike in training. */
const alike = (b: DriftBaseline, rho: number): DriftBaseline => ({
  ...b,
  features: Object.fromEntries(
    Object.entries(b.features).map(([name, f]) => [name, { ...f, unitCorrelation: rho }]),
  ),
  ...(b.prediction
    ? { prediction: { ...b.prediction, baseline: { ...b.prediction.baseline, unitCorrelation: rho } } }
    : {}),
});
const baseline = alike(generated, 0.5);

/** Applies increments the way HINCRBY does, into a string hash like the store returns. */
function apply(hash: Record<string, string>, increments: Record<string, number>): void {
  for (const [field, by] of Object.entries(increments)) hash[field] = String(Number(hash[field] ?? '0') + by);
}

describe('detect-drift window encoding', () => {
  it('folds a hash of 400 transactions from 37 customers into the statistics the event-by-event window gives', () => {
    const next = transactionSource({ seed: 5, amountShiftSd: 0.3 });
    let direct = openWindow({ baseline, at: 1_000, seed: 9 });
    const hash: Record<string, string> = { [Fields.opened]: '1' };
    for (let i = 0; i < 400; i++) {
      const t = next();
      const unit = `cust-${i % 37}`;
      const events: Observation[] = [
        { source: 'features', values: t.features, at: 1_000, unit },
        { source: 'prediction', values: { risk: t.risk }, at: 1_000, unit },
      ];
      for (const observation of events) {
        direct = evolve({ state: direct, baseline, observation, config });
        const inc = incrementsOf({ baseline, source: observation.source, values: observation.values, unit });
        assert.ok(inc);
        apply(hash, inc);
      }
    }
    const folded = foldWindow({ baseline, fields: hash, start: 1_000, sequence: 0, seed: 9, config });
    assert.equal(folded.featureEvents, 400);
    assert.equal(folded.predictionEvents, 400);
    assert.deepEqual(folded.units, direct.units);
    assert.equal(Object.keys(folded.units.features).length, 37);
    const a = closeWindow({ state: direct, baseline, config, now: 2_000 }).report;
    const b = closeWindow({ state: folded, baseline, config, now: 2_000 }).report;
    assert.deepEqual(b.window, a.window);
    for (const name of COLUMNS) {
      const x = a.features[name];
      const y = b.features[name];
      assert.ok(x && y && x.kind === y.kind, name);
      if (x.kind === 'numeric' && y.kind === 'numeric') {
        assert.equal(y.n, x.n, name);
        assert.equal(y.psi, x.psi, `${name}: PSI uses the same bin counts`);
        assert.ok(
          Math.abs(y.mean - x.mean) <= 1e-6 * Math.abs(x.mean),
          `${name}: mean ${y.mean} vs ${x.mean}`,
        );
        assert.equal(y.sampleSize, config.sampleSize);
        // 400 observations of 37 customers (m̄ ≈ 10.8; ≈ 5.4 within the 200-value sample), ρ = 0.5.
        assert.equal(y.designEffect, x.designEffect, name);
        assert.ok(y.designEffect > 3 && y.designEffect < 4, `${name}: design effect ${y.designEffect}`);
      } else if (x.kind === 'categorical' && y.kind === 'categorical') {
        assert.deepEqual(y, x, name);
      }
    }
    const p = a.prediction?.statistics;
    const q = b.prediction?.statistics;
    assert.ok(p?.kind === 'numeric' && q?.kind === 'numeric');
    assert.equal(q.psi, p.psi);
    assert.equal(q.designEffect, p.designEffect);
  });

  it('counts both events and reads the #open marker in every increment, and skips unwatched values', () => {
    const inc = incrementsOf({
      baseline,
      source: 'features',
      values: { amount: 12.5, unknown: 3, newDevice: 1 },
    });
    assert.deepEqual(inc, {
      'f:amount:12.5': 1,
      'f:newDevice:1': 1,
      [Fields.featureEvents]: 1,
      [Fields.predictionEvents]: 0,
      [Fields.opened]: 0,
    });
    assert.equal(incrementsOf({ baseline, source: 'features', values: { unknown: 3 } }), null);
    assert.deepEqual(incrementsOf({ baseline, source: 'prediction', values: { risk: 0.123456789 } }), {
      'p:0.1234568': 1,
      [Fields.featureEvents]: 0,
      [Fields.predictionEvents]: 1,
      [Fields.opened]: 0,
    });
  });

  it("counts the event's customer per source, for the design effect of the window's tests", () => {
    assert.deepEqual(incrementsOf({ baseline, source: 'features', values: { amount: 3 }, unit: 'cust:1' }), {
      'f:amount:3': 1,
      'u:f:cust:1': 1,
      [Fields.featureEvents]: 1,
      [Fields.predictionEvents]: 0,
      [Fields.opened]: 0,
    });
    assert.deepEqual(
      incrementsOf({ baseline, source: 'prediction', values: { risk: 0.5 }, unit: 'cust:1' }),
      {
        'p:0.5': 1,
        'u:p:cust:1': 1,
        [Fields.featureEvents]: 0,
        [Fields.predictionEvents]: 1,
        [Fields.opened]: 0,
      },
    );
    assert.equal(incrementsOf({ baseline, source: 'features', values: { other: 1 }, unit: 'c' }), null);
  });

  it('ignores fields that are not counts of numbers when reading a hash back', () => {
    const parsed = parseWindowHash({
      '#f': '3',
      '#p': 'x',
      'f:amount:2': '2',
      'f:amount:1': '1',
      'f:amount:bad': '4',
      'f:amount:5': '-1',
      'p:0.5': '1.5',
      'p:0.25': '2',
      'u:f:cust:1': '2',
      'u:f:cust:2': '0',
      'u:p:cust:1': 'x',
      other: '7',
    });
    assert.deepEqual([...parsed.features.entries()], [['amount', [1, 2, 2]]]);
    assert.deepEqual(parsed.prediction, [0.25, 0.25]);
    assert.equal(parsed.featureEvents, 3);
    assert.equal(parsed.predictionEvents, 0);
    assert.deepEqual(parsed.units, { features: { 'cust:1': 2 }, prediction: {} });
  });

  it('derives the same reservoir seed for a window key on every replica, and different seeds for other windows', () => {
    // FNV-1a 32-bit reference vectors: a fixed function of the key alone, whichever replica or release computes it.
    assert.equal(seedOf(''), 0x811c9dc5);
    assert.equal(seedOf('a'), 0xe40c292c);
    assert.equal(seedOf('foobar'), 0xbf9cf968);
    assert.equal(seedOf('drift:{risk}:v1:w7'), 2_224_739_702);
    assert.notEqual(seedOf('drift:{risk}:v1:w7'), seedOf('drift:{risk}:v1:w8'));
  });
});
