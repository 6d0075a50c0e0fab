// Risk candidates for promote's tests: small real ONNX models registered with a holdout whose truth is known.
import { seededRandom } from '../../shared/random/index.ts';
import { EventTypes } from '../../shared/events/index.ts';
import { customerFeatures } from '../../shared/features/index.ts';
import { type Holdout, ModelRegistry } from '../../shared/registry/index.ts';
import type { OnlineStore } from '../../shared/store/index.ts';
import { seededDraws } from './draws.ts';
import { deepRiskOnnx, lineage, linearRiskOnnx } from './models.ts';

const LIVE = customerFeatures.columns;

/** 1000 holdout rows on the live columns: P(fraud) = sigmoid(2·x₀ − 2), every other column is noise. */
export function holdoutOn(columns: readonly string[], seed = 1): Holdout {
  const random = seededRandom(seed);
  const { normal } = seededDraws(random);
  const rows: number[][] = [];
  const labels: number[] = [];
  for (let i = 0; i < 1000; i++) {
    const row = columns.map(() => normal());
    const p = 1 / (1 + Math.exp(-(2 * (row[0] ?? 0) - 2)));
    rows.push(row);
    labels.push(random() < p ? 1 : 0);
  }
  return { columns: [...columns], rows, labels };
}

/** Registers a risk candidate with its holdout (through `depth` identity layers when given); returns its version. */
export async function registerRisk(
  store: OnlineStore,
  model: { column: number; a: number; b: number; columns?: readonly string[]; depth?: number },
): Promise<number> {
  const columns = model.columns ?? LIVE;
  const { depth, ...linear } = model;
  const record = await new ModelRegistry({ store }).register({
    name: 'risk',
    artifact:
      depth === undefined
        ? linearRiskOnnx({ ...linear, columns })
        : deepRiskOnnx({ ...linear, columns, depth }),
    lineage: lineage({ columns }),
    holdout: holdoutOn(columns),
  });
  return record.version;
}

/** The model.trained the trainer announces for risk `version`, as attributes for postEvent. */
export function trainedRisk(version: number) {
  return {
    id: `trained-risk-${version}`,
    type: EventTypes.modelTrained,
    source: 'test/trainer',
    data: {
      model: { name: 'risk', version },
      featureSet: { name: customerFeatures.name, version: customerFeatures.version },
      range: { from: 0, to: 1 },
      holdout: { from: 1, to: 2 },
      metrics: {},
      backend: 'cpu',
      artifact: `registry://risk/${version}`,
    },
  };
}
