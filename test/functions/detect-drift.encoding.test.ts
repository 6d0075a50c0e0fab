// The shared window's hash layout: read back, the stored counts are the window the drift core counts in memory.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  countObservation,
  DEFAULT_DRIFT_CONFIG as config,
  type DriftBaseline,
  emptyWindow,
  measureWindow,
  type Observation,
} from '../../shared/drift/index.ts';
import { Fields, incrementsOf, seedOf, windowCountsOf } from '../../functions/detect-drift/encoding.ts';
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

/** Applies increments the way the store's addDriftCounts does. */
function apply(hash: Record<string, number>, increments: Record<string, number>): void {
  for (const [field, by] of Object.entries(increments)) hash[field] = (hash[field] ?? 0) + by;
}

describe('detect-drift window encoding', () => {
  it('reads a hash of 400 transactions from 37 customers back as the window counted in memory, and measures it the same', () => {
    const next = transactionSource({ seed: 5, amountShiftSd: 0.3 });
    const direct = emptyWindow({ start: 1_000 });
    const hash: Record<string, number> = { [Fields.opened]: 1 };
    for (let i = 0; i < 400; i++) {
      const t = next();
      const unit = `cust-${i % 37}`;
      const events: Observation[] = [
        { source: 'features', values: t.features, at: 1_000, unit },
        { source: 'prediction', values: { risk: t.risk }, at: 1_000, unit },
      ];
      for (const observation of events) {
        countObservation(direct, baseline, observation);
        const inc = incrementsOf({ baseline, source: observation.source, values: observation.values, unit });
        assert.ok(inc);
        apply(hash, inc);
      }
    }
    const stored = windowCountsOf({ fields: hash, start: 1_000, sequence: 0 });
    assert.equal(stored.featureEvents, 400);
    assert.equal(stored.predictionEvents, 400);
    assert.equal(stored.units.features.size, 37);
    assert.deepEqual(stored, direct);
    const a = measureWindow({ counts: direct, baseline, config, now: 2_000, seed: 9 });
    const b = measureWindow({ counts: stored, baseline, config, now: 2_000, seed: 9 });
    assert.deepEqual(b, a);
    for (const name of COLUMNS) {
      const y = b.features[name];
      assert.ok(y, name);
      if (y.kind === 'numeric') {
        assert.equal(y.sampleSize, config.sampleSize);
        // 400 observations of 37 customers (m̄ ≈ 10.8; ≈ 5.4 within the 200-value sample), ρ = 0.5.
        assert.ok(y.designEffect > 3 && y.designEffect < 4, `${name}: design effect ${y.designEffect}`);
      }
    }
    assert.equal(b.prediction?.statistics.kind, 'numeric');
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
    const counts = windowCountsOf({
      fields: {
        '#f': 3,
        '#p': Number.NaN,
        'f:amount:2': 2,
        'f:amount:1': 1,
        'f:amount:bad': 4,
        'f:amount:5': -1,
        'p:0.5': 1.5,
        'p:0.25': 2,
        'u:f:cust:1': 2,
        'u:f:cust:2': 0,
        'u:p:cust:1': Number.NaN,
        other: 7,
      },
      start: 5,
      sequence: 2,
    });
    assert.deepEqual(
      [...counts.features].map(([name, values]) => [name, [...values]]),
      [
        [
          'amount',
          [
            [2, 2],
            [1, 1],
          ],
        ],
      ],
    );
    assert.deepEqual([...counts.prediction], [[0.25, 2]]);
    assert.equal(counts.featureEvents, 3);
    assert.equal(counts.predictionEvents, 0);
    assert.deepEqual([...counts.units.features], [['cust:1', 2]]);
    assert.equal(counts.units.prediction.size, 0);
    assert.deepEqual([counts.start, counts.sequence], [5, 2]);
  });

  it('derives the same sample seed from a window on every replica, and different seeds for other windows', () => {
    // FNV-1a 32-bit reference vectors: a fixed function of the text alone, whichever replica or release computes it.
    assert.equal(seedOf(''), 0x811c9dc5);
    assert.equal(seedOf('a'), 0xe40c292c);
    assert.equal(seedOf('foobar'), 0xbf9cf968);
    assert.notEqual(seedOf('risk:v1:w7'), seedOf('risk:v1:w8'));
  });
});
