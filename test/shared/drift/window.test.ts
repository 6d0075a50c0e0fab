// The drift window: closing by count and by age, reservoir sampling, serialisation and hand-over between replicas.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildBaseline, type DriftBaseline } from '../../../shared/drift/baseline.ts';
import { DEFAULT_DRIFT_CONFIG, driftConfig } from '../../../shared/drift/config.ts';
import {
  closeWindow,
  evolve,
  isWindowDue,
  type Observation,
  openWindow,
  WindowStateSchema,
  type WindowState,
  windowCount,
} from '../../../shared/drift/window.ts';
import { ConflictError } from '../../../shared/errors/index.ts';
import { generatedBaseline, transactionSource } from './generator.ts';

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
const features = (values: Record<string, number>, at: number): Observation => ({
  source: 'features',
  values,
  at,
});

function feed(state: WindowState, observations: Observation[], baseline = small): WindowState {
  return observations.reduce((s, observation) => evolve({ state: s, baseline, observation, config }), state);
}

describe('drift window', () => {
  it('closes by count when windowSize observations have arrived', () => {
    const start = openWindow({ baseline: small, at: 0, seed: 1 });
    const obs = Array.from({ length: 50 }, (_, i) => features({ x: i, flag: 0 }, i));
    const at49 = feed(start, obs.slice(0, 49));
    assert.equal(isWindowDue({ state: at49, now: 49, config }), false);
    const at50 = feed(at49, obs.slice(49));
    assert.equal(windowCount(at50), 50);
    assert.equal(isWindowDue({ state: at50, now: 50, config }), true);
  });

  it('closes by age only once the window holds minWindowSize observations', () => {
    const start = openWindow({ baseline: small, at: 0, seed: 1 });
    const nineteen = feed(
      start,
      Array.from({ length: 19 }, (_, i) => features({ x: i }, 10_000 + i)),
    );
    assert.equal(
      nineteen.start,
      10_000,
      'the window starts at its first observation, not when it was opened',
    );
    assert.equal(isWindowDue({ state: nineteen, now: 60_000, config }), false, 'too few, however old');
    const twenty = feed(nineteen, [features({ x: 1 }, 10_500)]);
    assert.equal(
      isWindowDue({ state: twenty, now: 10_999, config }),
      false,
      'enough, but younger than windowMs',
    );
    assert.equal(isWindowDue({ state: twenty, now: 11_000, config }), true);
  });

  it('counts features and predictions separately, a transaction being one of each', () => {
    let state = openWindow({ baseline: small, at: 0, seed: 1 });
    state = feed(state, [
      features({ x: 5, flag: 1 }, 1),
      { source: 'prediction', values: { risk: 0.4, other: 3 }, at: 1 },
      features({ x: 7, flag: 0 }, 2),
    ]);
    assert.equal(state.featureEvents, 2);
    assert.equal(state.predictionEvents, 1);
    assert.equal(windowCount(state), 2);
    assert.equal(state.prediction?.n, 1);
  });

  it('bins numeric values, counts categories, and pools unseen codes in the last slot', () => {
    const state = feed(openWindow({ baseline: small, at: 0, seed: 1 }), [
      features({ x: 5, flag: 1 }, 1),
      features({ x: 95, flag: 0 }, 2),
      features({ x: 500, flag: 7 }, 3),
      features({ x: Number.NaN, unknown: 3 }, 4),
    ]);
    const x = state.features.x;
    const flag = state.features.flag;
    assert.ok(x?.kind === 'numeric' && flag?.kind === 'categorical');
    assert.equal(x.n, 3);
    assert.equal(x.sum, 600);
    assert.deepEqual(x.bins, [1, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
    assert.deepEqual(x.sample, [5, 95, 500]);
    assert.deepEqual(small.features.flag?.kind === 'categorical' && small.features.flag.categories, [
      '0',
      '1',
    ]);
    assert.deepEqual(flag.counts, [1, 1, 1]);
  });

  it('keeps a uniform reservoir sample of bounded size, the same on every run with the same seed', () => {
    const obs = Array.from({ length: 10_000 }, (_, i) => features({ x: i }, i));
    const big = driftConfig({ ...config, sampleSize: 200, windowSize: 20_000 });
    const run = (seed: number) =>
      obs.reduce(
        (s, observation) => evolve({ state: s, baseline: small, observation, config: big }),
        openWindow({ baseline: small, at: 0, seed }),
      );
    const a = run(42);
    const x = a.features.x;
    assert.ok(x?.kind === 'numeric');
    assert.equal(x.sample.length, 200);
    assert.equal(x.n, 10_000);
    assert.equal(new Set(x.sample).size, 200);
    // A uniform sample of 0…9999 has mean 4999.5 and standard error ≈ 204; keeping the first or the last values
    // would put it near 100 or 9900.
    const mean = x.sample.reduce((s, v) => s + v, 0) / x.sample.length;
    assert.ok(Math.abs(mean - 4999.5) < 800, `sample mean ${mean}`);
    assert.deepEqual(run(42), a);
    assert.notDeepEqual(run(43).features.x, x);
  });

  it('never changes the state it is given', () => {
    const state = feed(openWindow({ baseline: small, at: 0, seed: 3 }), [features({ x: 1, flag: 1 }, 1)]);
    const copy = structuredClone(state);
    evolve({ state, baseline: small, observation: features({ x: 2, flag: 0 }, 2), config });
    closeWindow({ state, baseline: small, config, now: 5 });
    assert.deepEqual(state, copy);
  });

  it('closes into a report and an empty next window that continues the sequence and the generator', () => {
    const obs = Array.from({ length: 30 }, (_, i) => features({ x: i, flag: i % 2 }, 100 + i));
    const state = feed(openWindow({ baseline: small, at: 0, seed: 9 }), obs);
    const { report, next } = closeWindow({ state, baseline: small, config, now: 2000 });
    assert.deepEqual(report.window, { start: 100, end: 2000, count: 30 });
    assert.equal(report.sequence, 0);
    assert.equal(report.features.x?.kind, 'numeric');
    assert.equal(report.features.x?.n, 30);
    assert.deepEqual(report.prediction, {
      name: 'risk',
      statistics: { kind: 'insufficient', n: 0, required: 5 },
    });
    assert.equal(next.sequence, 1);
    assert.equal(windowCount(next), 0);
    assert.equal(next.rng, state.rng);
    assert.equal(next.start, 2000);
  });

  it('refuses a state that belongs to another baseline', () => {
    const other = buildBaseline({
      columns: ['x', 'flag'],
      rows: [
        [1, 1],
        [2, 2],
        [3, 3],
      ],
      kinds: { flag: 'categorical' },
    });
    const state = openWindow({ baseline: small, at: 0, seed: 1 });
    assert.throws(
      () => evolve({ state, baseline: other, observation: features({ x: 1 }, 1), config }),
      (err) => err instanceof ConflictError,
    );
  });
});

describe('drift window state in the online store', () => {
  const baseline = generatedBaseline({ seed: 1, rows: 5000 });
  const next = transactionSource({ seed: 2 });
  const observations: Observation[] = [];
  for (let i = 0; i < 499; i++) {
    const t = next();
    observations.push(
      { source: 'features', values: t.features, at: i },
      { source: 'prediction', values: { risk: t.risk }, at: i },
    );
  }
  const run = (state: WindowState, list: Observation[]) =>
    list.reduce(
      (s, observation) => evolve({ state: s, baseline, observation, config: DEFAULT_DRIFT_CONFIG }),
      state,
    );

  it('stays under 64 KiB of JSON for a full default window of nine features and the score', () => {
    const full = run(openWindow({ baseline, at: 0, seed: 11 }), observations);
    assert.equal(windowCount(full), 499);
    const bytes = Buffer.byteLength(JSON.stringify(full));
    assert.ok(bytes < 64 * 1024, `state is ${bytes} bytes`);
    assert.ok(bytes > 1000, 'the state holds the samples');
  });

  it('round-trips through JSON and its schema, and a replica continuing from the copy reaches the same state', () => {
    const half = run(openWindow({ baseline, at: 0, seed: 11 }), observations.slice(0, 500));
    const stored = WindowStateSchema.parse(JSON.parse(JSON.stringify(half)));
    assert.deepEqual(stored, half);
    const rest = observations.slice(500);
    assert.deepEqual(run(stored, rest), run(half, rest));
  });
});
