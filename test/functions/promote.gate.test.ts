// The promotion gate as a pure function: which measured numbers promote a candidate and which reject it, and why.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type GateConfig,
  GateConfigSchema,
  judge,
  type RiskMeasurements,
  type SegmentMeasurements,
  type SignatureMeasurement,
} from '../../functions/promote/gate.ts';

const config: GateConfig = GateConfigSchema.parse({});
const same: SignatureMeasurement = {
  equal: true,
  live: 'fs@1 (16 columns)',
  candidate: 'fs@1 (16 columns)',
  differences: [],
};

function risk(overrides: Partial<RiskMeasurements> = {}): RiskMeasurements {
  return {
    kind: 'risk',
    signature: same,
    holdout: { rows: 1000, positives: 150 },
    candidate: { auc: 0.9, brier: 0.08 },
    champion: { version: 1, metrics: { auc: 0.88, brier: 0.09 } },
    p99Ms: 0.05,
    ...overrides,
  };
}

const failed = (v: ReturnType<typeof judge>) => v.checks.filter((c) => !c.passed).map((c) => c.check);

describe('promotion gate', () => {
  it('promotes a candidate better on AUC and Brier, listing every check with its numbers', () => {
    const v = judge(risk(), config);
    assert.equal(v.kind, 'promote');
    assert.deepEqual(
      v.checks.map((c) => [c.check, c.passed]),
      [
        ['signature', true],
        ['holdout', true],
        ['auc', true],
        ['brier', true],
        ['latency', true],
      ],
    );
    const auc = v.checks.find((c) => c.check === 'auc');
    assert.equal(auc?.value, 0.9);
    assert.equal(auc?.threshold, 0.88 - config.aucMargin);
    assert.match(v.reasons[0] ?? '', /against champion v1/);
  });

  it('rejects a candidate worse on AUC by more than the margin, with the numbers in the reason', () => {
    const v = judge(risk({ candidate: { auc: 0.86, brier: 0.085 } }), config);
    assert.equal(v.kind, 'reject');
    assert.deepEqual(failed(v), ['auc']);
    assert.deepEqual(v.reasons, ['auc: ROC AUC 0.86 vs champion v1 0.88 (margin 0.005)']);
  });

  it('rejects a candidate whose Brier is worse than the champion by more than the margin', () => {
    const v = judge(risk({ candidate: { auc: 0.9, brier: 0.1 } }), config);
    assert.deepEqual(failed(v), ['brier']);
    assert.equal(v.checks.find((c) => c.check === 'brier')?.threshold, 0.09 + config.brierMargin);
  });

  it('promotes a tie within the margins (newer data wins ties), and one exactly at the margin', () => {
    const within = judge(risk({ candidate: { auc: 0.878, brier: 0.093 } }), config);
    assert.equal(within.kind, 'promote');
    const edge = judge(
      risk({ candidate: { auc: 0.88 - config.aucMargin, brier: 0.09 + config.brierMargin } }),
      config,
    );
    assert.equal(edge.kind, 'promote');
    const beyond = judge(risk({ candidate: { auc: 0.88 - config.aucMargin - 1e-6, brier: 0.09 } }), config);
    assert.equal(beyond.kind, 'reject');
  });

  it('rejects a candidate whose inputs are not the live feature set, whatever its metrics', () => {
    const signature = {
      equal: false,
      live: 'customer_transactions@abc (16 columns)',
      candidate: 'customer_transactions@abc (15 columns)',
      differences: ['15 columns, live 16; first difference at position 15 (none vs is_online)'],
    };
    const v = judge(risk({ signature }), config);
    assert.equal(v.kind, 'reject');
    assert.deepEqual(failed(v), ['signature']);
    assert.match(
      v.reasons[0] ?? '',
      /^signature: inputs customer_transactions@abc \(15 columns\) are not the live/,
    );
  });

  it('rejects when the p99 latency is over budget, or the model could not run', () => {
    assert.deepEqual(failed(judge(risk({ p99Ms: 2.5 }), config)), ['latency']);
    const none = judge(risk({ p99Ms: null }), config);
    assert.deepEqual(failed(none), ['latency']);
    assert.equal(none.checks.find((c) => c.check === 'latency')?.detail, 'the model could not be run');
  });

  it('rejects on a holdout that is too small or has one class, and when metrics are unavailable', () => {
    assert.deepEqual(failed(judge(risk({ holdout: { rows: 50, positives: 10 } }), config)), ['holdout']);
    assert.deepEqual(failed(judge(risk({ holdout: { rows: 500, positives: 0 } }), config)), ['holdout']);
    const v = judge(
      risk({ champion: { version: 3, metrics: { unavailable: 'the holdout has no column is_online' } } }),
      config,
    );
    assert.deepEqual(failed(v), ['auc', 'brier']);
    assert.match(v.reasons[0] ?? '', /champion v3: the holdout has no column is_online/);
  });

  it('promotes a first model that meets the AUC floor and beats the base-rate Brier', () => {
    const first = judge(risk({ champion: null }), config);
    assert.equal(first.kind, 'promote');
    assert.match(first.reasons[0] ?? '', /^first risk model/);
    const brier = first.checks.find((c) => c.check === 'brier');
    assert.equal(brier?.threshold, 0.15 * 0.85);
  });

  it('rejects a first model under the AUC floor or no better calibrated than the base rate', () => {
    const weak = judge(risk({ champion: null, candidate: { auc: 0.65, brier: 0.1 } }), config);
    assert.deepEqual(failed(weak), ['auc']);
    assert.match(weak.reasons[0] ?? '', /ROC AUC 0\.65 \(floor 0\.7\)/);
    const uncalibrated = judge(risk({ champion: null, candidate: { auc: 0.8, brier: 0.2 } }), config);
    assert.deepEqual(failed(uncalibrated), ['brier']);
  });

  it('judges a segment model on signature, silhouette floor and latency', () => {
    const segment = (overrides: Partial<SegmentMeasurements>): SegmentMeasurements => ({
      kind: 'segment',
      signature: same,
      silhouette: 0.4,
      champion: { version: 2 },
      p99Ms: 0.1,
      ...overrides,
    });
    assert.equal(judge(segment({}), config).kind, 'promote');
    assert.deepEqual(failed(judge(segment({ silhouette: 0.1 }), config)), ['silhouette']);
    assert.deepEqual(failed(judge(segment({ silhouette: null }), config)), ['silhouette']);
    assert.match(judge(segment({ champion: null }), config).reasons[0] ?? '', /^first segment model/);
  });
});
