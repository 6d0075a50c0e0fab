// Scoring feature vectors with the served models: risk and segment champions, and the risk challenger in shadow.
import { DependencyError, InvalidInputError } from '../../shared/errors/index.ts';
import type { ModelRef, RiskBand } from '../../shared/events/index.ts';
import { assignSegment, scoreRisk } from '../../shared/inference/scoring.ts';
import type { LoadedModel, ModelSet } from './models.ts';

/** Risk band edges: below 0.3 low, from 0.7 high. Trigger filters on `riskband` route on these. */
export const RISK_BAND_EDGES = { medium: 0.3, high: 0.7 } as const;

export function riskBand(risk: number): RiskBand {
  return risk >= RISK_BAND_EDGES.high ? 'high' : risk >= RISK_BAND_EDGES.medium ? 'medium' : 'low';
}

export interface Scored {
  risk: number;
  riskBand: RiskBand;
  segment: number;
  model: ModelRef;
  segmentModel: ModelRef;
  challenger?: { model: ModelRef; risk: number; riskBand: RiskBand };
}

/** The champions a request is scored with, taken once so a swap mid-request cannot mix versions. */
export interface Champions {
  risk: LoadedModel;
  segment: LoadedModel;
  challenger: LoadedModel | null;
}

/** Both champions (waiting briefly for a first load); DependencyError (503) when there is none to serve. */
export async function champions(models: ModelSet): Promise<Champions> {
  const [risk, segment] = await Promise.all([
    models.get('risk', 'champion'),
    models.get('segment', 'champion'),
  ]);
  if (!risk || !segment) {
    const missing = [risk ? null : 'risk', segment ? null : 'segment'].filter(Boolean).join(' and ');
    throw new DependencyError(
      'registry',
      `no ${missing} champion is loaded yet: train or register a model and promote it`,
    );
  }
  return { risk, segment, challenger: models.peek('risk', 'challenger') };
}

/** Scores rows (each in the risk champion's column order) with one batched run per model. */
export async function scoreRows(c: Champions, rows: readonly (readonly number[])[]): Promise<Scored[]> {
  const width = c.risk.columns.length;
  const flat = new Float32Array(rows.length * width);
  for (const [i, r] of rows.entries()) flat.set(r, i * width);
  const sameColumns = sameOrder(c.segment.columns, c.risk.columns);
  const segmentInput = sameColumns ? flat : reorder(rows, c.risk.columns, c.segment.columns);
  const [risks, segments, shadow] = await Promise.all([
    scoreRisk(c.risk.model, flat, rows.length),
    assignSegment(c.segment.model, segmentInput, rows.length),
    c.challenger && sameOrder(c.challenger.columns, c.risk.columns)
      ? scoreRisk(c.challenger.model, flat, rows.length)
      : Promise.resolve(null),
  ]);
  return rows.map((_, i) => {
    const risk = clamp01(risks[i] ?? 0);
    const s: Scored = {
      risk,
      riskBand: riskBand(risk),
      segment: segments[i] ?? 0,
      model: { name: 'risk', version: c.risk.version },
      segmentModel: { name: 'segment', version: c.segment.version },
    };
    if (shadow && c.challenger) {
      const r = clamp01(shadow[i] ?? 0);
      s.challenger = {
        model: { name: 'risk', version: c.challenger.version },
        risk: r,
        riskBand: riskBand(r),
      };
    }
    return s;
  });
}

function sameOrder(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((c, i) => c === b[i]);
}

function reorder(
  rows: readonly (readonly number[])[],
  from: readonly string[],
  to: readonly string[],
): Float32Array {
  const index = to.map((c) => {
    const j = from.indexOf(c);
    if (j < 0)
      throw new InvalidInputError(
        `values.${c}`,
        `the segment model needs ${c}, which the risk model's features lack`,
      );
    return j;
  });
  const out = new Float32Array(rows.length * to.length);
  rows.forEach((r, i) => {
    index.forEach((j, k) => {
      out[i * to.length + k] = r[j] ?? 0;
    });
  });
  return out;
}

function clamp01(x: number): number {
  return Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0;
}
