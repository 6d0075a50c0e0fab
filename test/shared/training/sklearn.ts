// Runs a scikit-learn snippet under Debian's /usr/bin/python3 on JSON input and returns its JSON output.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const PYTHON = '/usr/bin/python3';

/**
 * Writes `input` to a temp JSON file, runs `script` with `data` bound to it, and parses what the script prints
 * (one JSON document). A missing interpreter or package fails with the install command, never a silent skip.
 */
export async function sklearn(script: string, input: unknown): Promise<unknown> {
  const dir = await mkdtemp(path.join(tmpdir(), 'flywheel-sklearn-'));
  try {
    const file = path.join(dir, 'input.json');
    await writeFile(file, JSON.stringify(input));
    const program = `import json, sys\ndata = json.load(open(sys.argv[1]))\n${script}`;
    try {
      const { stdout } = await run(PYTHON, ['-c', program, file], { timeout: 60_000, maxBuffer: 64 << 20 });
      return JSON.parse(stdout);
    } catch (err) {
      const text = err instanceof Error ? err.message : String(err);
      if (/ENOENT|No module named/.test(text)) {
        throw new Error(
          `scikit-learn reference needs: apt-get install -y python3-sklearn python3-scipy (${text})`,
          {
            cause: err,
          },
        );
      }
      throw err;
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Rows and 0/1 labels, as the reference models take them. */
export interface LabelledMatrix {
  x: readonly (readonly number[])[];
  y: readonly number[];
}

/**
 * Holdout ROC AUC of two scikit-learn references fitted on the same training rows: HistGradientBoostingClassifier
 * (defaults, random_state 0: the strong tabular baseline) and LogisticRegression on standardised features (linear).
 */
export async function referenceRiskAucs(input: {
  train: LabelledMatrix;
  holdout: LabelledMatrix;
}): Promise<{ histGradientBoosting: number; logisticRegression: number }> {
  return (await sklearn(
    `from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from sklearn.pipeline import make_pipeline
from sklearn.metrics import roc_auc_score
x, y, hx, hy = data['x'], data['y'], data['hx'], data['hy']
hgb = HistGradientBoostingClassifier(random_state=0).fit(x, y)
lr = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(x, y)
print(json.dumps({
  'histGradientBoosting': roc_auc_score(hy, hgb.predict_proba(hx)[:, 1]),
  'logisticRegression': roc_auc_score(hy, lr.predict_proba(hx)[:, 1]),
}))`,
    { x: input.train.x, y: input.train.y, hx: input.holdout.x, hy: input.holdout.y },
  )) as { histGradientBoosting: number; logisticRegression: number };
}
