// The promotion gate as a pure function: which measured numbers promote a candidate and which reject it, and why.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { graphCost } from '../../functions/promote/cost.ts';
import {
  type GateConfig,
  GateConfigSchema,
  judge,
  type LatencyMeasurement,
  type ModelLatency,
  type RiskMeasurements,
  type SegmentMeasurements,
  type SignatureMeasurement,
} from '../../functions/promote/gate.ts';
import { encodeModel, node, valueInfo } from '../../shared/training/onnx-graph.ts';
import { deepRiskOnnx, riskOnnx, segmentOnnx } from '../support/models.ts';

const config: GateConfig = GateConfigSchema.parse({});
const same: SignatureMeasurement = {
  equal: true,
  live: 'fs@1 (16 columns)',
  candidate: 'fs@1 (16 columns)',
  differences: [],
};

/** The trainer's shape of risk model (16-2-1), as graphCost reads it. */
const SMALL = { nodes: 6, operations: 72 };

/** One model's timing: median, a p99 three times it (as load makes it), and its graph's work per row. */
const timed = (medianMs: number, cost: ModelLatency['cost'] = SMALL): ModelLatency => ({
  medianMs,
  p99Ms: medianMs * 3,
  cost,
});

/** Candidate and champion v1 timed side by side; the ratio is that of the medians, as in one steady round. */
function latency(
  candidate: ModelLatency | { unavailable: string },
  champion: ModelLatency | { unavailable: string } | null,
): LatencyMeasurement {
  const ratio =
    'medianMs' in candidate && champion && 'medianMs' in champion
      ? candidate.medianMs / champion.medianMs
      : null;
  return { candidate, champion: champion && { version: 1, latency: champion }, ratio, rounds: 10 };
}

function risk(overrides: Partial<RiskMeasurements> = {}): RiskMeasurements {
  return {
    kind: 'risk',
    signature: same,
    holdout: { rows: 1000, positives: 150 },
    candidate: { auc: 0.9, brier: 0.08 },
    champion: { version: 1, metrics: { auc: 0.88, brier: 0.09 } },
    latency: latency(timed(0.02), timed(0.02)),
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
        ['latency-ceiling', true],
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

  it('rejects a candidate slower than the allowed ratio of the champion timed beside it, naming both', () => {
    const deep = { nodes: 2006, operations: 8072 };
    const v = judge(risk({ latency: latency(timed(0.3, deep), timed(0.02)) }), config);
    assert.equal(v.kind, 'reject');
    assert.deepEqual(failed(v), ['latency']);
    assert.deepEqual(v.reasons, [
      'latency: median single-row inference 0.3 ms vs champion v1 0.02 ms, interleaved over 10 rounds: ' +
        'ratio 15 (allowed 1.5); per row 2006 nodes, 8072 operations vs 6 nodes, 72 operations',
    ]);
    const check = v.checks.find((c) => c.check === 'latency');
    assert.equal(check?.value, 15);
    assert.equal(check?.threshold, 1.5);
    const edge = judge(risk({ latency: latency(timed(0.03, deep), timed(0.02)) }), config);
    assert.equal(edge.kind, 'promote', 'exactly at the allowed ratio passes');
  });

  it('never rejects for latency a candidate doing the same work per row as the champion, whatever the ratio', () => {
    // Times as a saturated machine gives them: the same graph measured 40 times slower in its turn.
    const v = judge(risk({ latency: latency(timed(40), timed(1)) }), config);
    assert.equal(v.kind, 'promote');
    const check = v.checks.find((c) => c.check === 'latency');
    assert.equal(check?.passed, true);
    assert.equal(check?.value, 40);
    assert.match(check?.detail ?? '', /ratio 40 \(allowed 1\.5\).*the difference is the machine's$/);
    const fewer = judge(
      risk({ latency: latency(timed(40, { nodes: 6, operations: 50 }), timed(1)) }),
      config,
    );
    assert.equal(fewer.kind, 'promote');
  });

  it('lets the timing decide when either graph has a cost it cannot read, or the candidate does more work', () => {
    const unknown = { unknown: 'operator Foo has no cost model here' };
    const v = judge(risk({ latency: latency(timed(0.05, unknown), timed(0.02)) }), config);
    assert.deepEqual(failed(v), ['latency']);
    assert.match(
      v.reasons[0] ?? '',
      /per row cost unknown \(operator Foo has no cost model here\) vs 6 nodes/,
    );
    const more = judge(
      risk({ latency: latency(timed(0.05, { nodes: 9, operations: 72 }), timed(0.02)) }),
      config,
    );
    assert.deepEqual(failed(more), ['latency']);
    const mild = judge(
      risk({ latency: latency(timed(0.025, { nodes: 9, operations: 75 }), timed(0.02)) }),
      config,
    );
    assert.equal(mild.kind, 'promote');
  });

  it('applies only the ceiling to a first model, on the median, and names it in the rejection', () => {
    const first = judge(risk({ champion: null, latency: latency(timed(45), null) }), config);
    assert.equal(first.kind, 'promote');
    assert.deepEqual(
      first.checks.map((c) => c.check).filter((c) => c.startsWith('latency')),
      ['latency-ceiling'],
    );
    const over = judge(risk({ champion: null, latency: latency(timed(60), null) }), config);
    assert.deepEqual(over.reasons, [
      'latency-ceiling: median single-row inference 60 ms, p99 180 ms (ceiling 50 ms on the median)',
    ]);
    // With a champion the ceiling still applies: the same work as the champion does not excuse 60 ms a row.
    const both = judge(risk({ latency: latency(timed(60), timed(60)) }), config);
    assert.deepEqual(failed(both), ['latency-ceiling']);
  });

  it('rejects a candidate that could not be run, and falls back to the ceiling when the champion could not', () => {
    const notTimed = { unavailable: 'not timed: the candidate could not be run' };
    const none = judge(risk({ latency: latency({ unavailable: 'risk v2: bad graph' }, notTimed) }), config);
    assert.deepEqual(failed(none), ['latency', 'latency-ceiling']);
    assert.equal(
      none.checks.find((c) => c.check === 'latency')?.detail,
      'the candidate could not be run: risk v2: bad graph',
    );
    assert.equal(
      none.checks.find((c) => c.check === 'latency-ceiling')?.detail,
      'the model could not be run: risk v2: bad graph',
    );
    const champion = judge(risk({ latency: latency(timed(0.02), { unavailable: 'risk v1: gone' }) }), config);
    assert.equal(champion.kind, 'promote');
    assert.equal(
      champion.checks.find((c) => c.check === 'latency')?.detail,
      'champion v1 could not be timed (risk v1: gone): only the ceiling applies',
    );
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
      latency: latency(
        timed(0.02, { nodes: 7, operations: 130 }),
        timed(0.02, { nodes: 7, operations: 130 }),
      ),
      ...overrides,
    });
    assert.equal(judge(segment({}), config).kind, 'promote');
    assert.deepEqual(failed(judge(segment({ silhouette: 0.1 }), config)), ['silhouette']);
    assert.deepEqual(failed(judge(segment({ silhouette: null }), config)), ['silhouette']);
    assert.match(judge(segment({ champion: null }), config).reasons[0] ?? '', /^first segment model/);
  });
});

describe('graph cost per row', () => {
  it('counts the nodes and operations of one row through the exported risk and segment graphs', () => {
    // risk 16-2-1: Sub 16, Div 16, Gemm 16·2 + 2, Relu 2, Gemm 2·1 + 1, Sigmoid 1.
    assert.deepEqual(graphCost(riskOnnx({ bias: 0 })), { nodes: 6, operations: 72 });
    // segment, 2 centroids of 16: Sub 16, Div 16, Sub 32, Mul 32, ReduceSum 32, ArgMin 2 (Unsqueeze is free).
    assert.deepEqual(graphCost(segmentOnnx()), { nodes: 7, operations: 130 });
    // Each identity layer of width 2: Gemm 2·2 + 2, Relu 2.
    assert.deepEqual(graphCost(deepRiskOnnx({ column: 0, a: 1, b: 0, depth: 10 })), {
      nodes: 26,
      operations: 152,
    });
  });

  it('says the cost is unknown, and why, for an operator it has no model of or bytes that are not ONNX', () => {
    const bytes = encodeModel({
      graph: {
        name: 'odd',
        node: [node({ op: 'Hardmax', inputs: ['x'], outputs: ['y'] })],
        input: [valueInfo({ name: 'x', type: 'float32', shape: ['N', 4] })],
        output: [valueInfo({ name: 'y', type: 'float32', shape: ['N', 4] })],
      },
      metadata: {},
      docString: '',
    });
    assert.deepEqual(graphCost(bytes), { unknown: 'operator Hardmax has no cost model here' });
    const junk = graphCost(new Uint8Array([1, 2, 3]));
    assert.ok('unknown' in junk && junk.unknown.startsWith('not an ONNX model'), JSON.stringify(junk));
  });
});
