// Feature matrices, the scaler, and the seeded helpers every trainer leans on.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fitScaler, scaleRows, toFloat32, validateMatrix } from '../../../shared/training/matrix.ts';
import { createRng, permutation, splitIndices } from '../../../shared/training/random.ts';

describe('feature matrices', () => {
  it('rejects ragged rows, non-finite values and duplicate columns, naming the place', () => {
    assert.throws(() => validateMatrix({ columns: ['a', 'b'], rows: [[1, 2], [3]] }), { field: 'rows[1]' });
    assert.throws(() => validateMatrix({ columns: ['a', 'b'], rows: [[1, Number.NaN]] }), {
      field: 'rows[0][1]',
      message: 'b is not a finite number',
    });
    assert.throws(() => validateMatrix({ columns: ['a', 'a'], rows: [] }), { field: 'columns' });
    assert.equal(validateMatrix({ columns: ['a', 'b'], rows: [[1, 2]] }), 2);
  });

  it('standardises with the population std and leaves a constant column centred instead of dividing by zero', () => {
    const rows = [
      [1, 5],
      [3, 5],
    ];
    const scaler = fitScaler(rows, 2);
    assert.deepEqual(scaler, { mean: [2, 5], std: [1, 1] });
    assert.deepEqual(Array.from(scaleRows(rows, scaler)), [-1, 0, 1, 0]);
    assert.deepEqual(Array.from(toFloat32(rows, 2)), [1, 5, 3, 5]);
  });
});

describe('seeded randomness', () => {
  it('repeats the same sequence for a seed and a different one for another seed', () => {
    const a = createRng(1);
    const b = createRng(1);
    const c = createRng(2);
    const xs = Array.from({ length: 5 }, () => a.next());
    assert.deepEqual(
      xs,
      Array.from({ length: 5 }, () => b.next()),
    );
    assert.notDeepEqual(
      xs,
      Array.from({ length: 5 }, () => c.next()),
    );
    assert.ok(xs.every((x) => x >= 0 && x < 1));
  });

  it('permutes every index exactly once', () => {
    const p = permutation(1000, createRng(3));
    assert.deepEqual(
      Array.from(p).sort((x, y) => x - y),
      Array.from({ length: 1000 }, (_, i) => i),
    );
    assert.notDeepEqual(
      Array.from(p),
      Array.from({ length: 1000 }, (_, i) => i),
    );
  });

  it('splits rare positives into both parts in proportion, without overlap', () => {
    const labels = Array.from({ length: 1000 }, (_, i) => (i % 50 === 0 ? 1 : 0));
    const { train, holdout } = splitIndices({ n: 1000, fraction: 0.3, seed: 4, labels });
    assert.equal(train.length + holdout.length, 1000);
    assert.equal(new Set([...train, ...holdout]).size, 1000);
    assert.equal(Array.from(holdout).filter((i) => labels[i] === 1).length, 6);
    assert.equal(Array.from(train).filter((i) => labels[i] === 1).length, 14);
  });
});
