// The gate's latency checks: the candidate against the champion timed beside it, and an absolute ceiling.
import type { GateCheck } from '../../shared/events/index.ts';
import type { GraphCost } from './cost.ts';

/** One model's single-row inference: times from the interleaved run, and the work its graph does per row. */
export interface ModelLatency {
  medianMs: number;
  p99Ms: number;
  cost: GraphCost | { unknown: string };
}

/** Candidate and champion timed in the same run, alternating round by round, so load weighs on both alike. */
export interface LatencyMeasurement {
  candidate: ModelLatency | { unavailable: string };
  /** Null when there is no champion (a first model): then only the ceiling applies. */
  champion: { version: number; latency: ModelLatency | { unavailable: string } } | null;
  /** Median over the rounds of candidate median ÷ champion median in that round; null without both. */
  ratio: number | null;
  rounds: number;
}

/** The gate's latency settings (GateConfig's PROMOTE_LATENCY_RATIO and PROMOTE_LATENCY_BUDGET_MS). */
export interface LatencyConfig {
  latencyRatio: number;
  latencyBudgetMs: number;
}

/** A ratio exactly at the allowed one passes: rounding must not turn it into a rejection. */
const EPS = 1e-12;
const fmt = (x: number): string => String(Number(x.toPrecision(4)));

const costText = (c: ModelLatency['cost']): string =>
  'unknown' in c ? `cost unknown (${c.unknown})` : `${c.nodes} nodes, ${c.operations} operations`;

/** Whether the candidate's graph does no more work per row than the champion's, on every count. */
function noMoreWork(candidate: ModelLatency, champion: ModelLatency): boolean {
  const a = candidate.cost;
  const b = champion.cost;
  return !('unknown' in a) && !('unknown' in b) && a.nodes <= b.nodes && a.operations <= b.operations;
}

/**
 * The candidate against the champion timed beside it. Over the allowed ratio it is rejected, unless its graph does
 * no more work per row than the champion's: then the two ran the same work and the difference is the machine's.
 */
function relativeLatencyCheck(m: LatencyMeasurement, config: LatencyConfig): GateCheck | null {
  if (m.champion === null) return null;
  const base = { check: 'latency', threshold: config.latencyRatio };
  const cand = m.candidate;
  const champ = m.champion.latency;
  if ('unavailable' in cand)
    return {
      ...base,
      passed: false,
      value: null,
      detail: `the candidate could not be run: ${cand.unavailable}`,
    };
  if ('unavailable' in champ || m.ratio === null) {
    const why = 'unavailable' in champ ? champ.unavailable : 'no timing';
    return {
      ...base,
      passed: true,
      value: null,
      detail: `champion v${m.champion.version} could not be timed (${why}): only the ceiling applies`,
    };
  }
  const measured =
    `median single-row inference ${fmt(cand.medianMs)} ms vs champion v${m.champion.version} ` +
    `${fmt(champ.medianMs)} ms, interleaved over ${m.rounds} rounds: ratio ${fmt(m.ratio)} ` +
    `(allowed ${config.latencyRatio}); per row ${costText(cand.cost)} vs ${costText(champ.cost)}`;
  const within = m.ratio <= config.latencyRatio + EPS;
  const sameWork = !within && noMoreWork(cand, champ);
  return {
    ...base,
    passed: within || sameWork,
    value: m.ratio,
    detail: sameWork
      ? `${measured}; over the ratio, but the candidate does no more work per row than the champion: the difference is the machine's`
      : measured,
  };
}

/** The absolute ceiling on the candidate's median: far above normal, the only latency rule for a first model. */
function ceilingCheck(m: LatencyMeasurement, config: LatencyConfig): GateCheck {
  const cand = m.candidate;
  return {
    check: 'latency-ceiling',
    passed: !('unavailable' in cand) && cand.medianMs <= config.latencyBudgetMs,
    value: 'unavailable' in cand ? null : cand.medianMs,
    threshold: config.latencyBudgetMs,
    detail:
      'unavailable' in cand
        ? `the model could not be run: ${cand.unavailable}`
        : `median single-row inference ${fmt(cand.medianMs)} ms, p99 ${fmt(cand.p99Ms)} ms ` +
          `(ceiling ${config.latencyBudgetMs} ms on the median)`,
  };
}

/** The relative check (only when there is a champion), then the ceiling. */
export function latencyChecks(m: LatencyMeasurement, config: LatencyConfig): GateCheck[] {
  const relative = relativeLatencyCheck(m, config);
  return [...(relative ? [relative] : []), ceilingCheck(m, config)];
}
