// Runs reference computations in scipy (Debian's /usr/bin/python3) on data passed through a temporary JSON file.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const PYTHON = '/usr/bin/python3';

/**
 * Runs `script` with the JSON of `input` readable as the variable `data`; the script must set `out`, which comes
 * back parsed. Fails with install instructions when Debian's python3-scipy is missing (never skips).
 */
export function scipy<T>(script: string, input: unknown): T {
  const dir = mkdtempSync(join(tmpdir(), 'flywheel-scipy-'));
  try {
    const file = join(dir, 'data.json');
    writeFileSync(file, JSON.stringify(input));
    const program = [
      'import json, sys, math',
      'import numpy as np',
      'import scipy.stats, scipy.special, scipy.spatial.distance',
      'data = json.load(open(sys.argv[1]))',
      script,
      'def clean(x):',
      '    if isinstance(x, np.ndarray): return clean(x.tolist())',
      '    if isinstance(x, (list, tuple)): return [clean(v) for v in x]',
      '    if isinstance(x, dict): return {k: clean(v) for k, v in x.items()}',
      '    x = float(x)',
      "    return x if math.isfinite(x) else ('inf' if x > 0 else ('-inf' if x < 0 else 'nan'))",
      'print(json.dumps(clean(out)))',
    ].join('\n');
    let stdout: string;
    try {
      stdout = execFileSync(PYTHON, ['-c', program, file], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    } catch (err) {
      const stderr = err instanceof Error && 'stderr' in err ? String(err.stderr) : String(err);
      throw new Error(
        `reference computation in ${PYTHON} failed (it needs Debian's scipy: apt-get install -y python3-scipy): ${stderr}`,
        { cause: err },
      );
    }
    return JSON.parse(stdout) as T;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** True when |actual − expected| ≤ abs + rel·|expected|. */
export function near(actual: number, expected: number, tolerance: { abs: number; rel?: number }): boolean {
  if (actual === expected) return true;
  return Math.abs(actual - expected) <= tolerance.abs + (tolerance.rel ?? 0) * Math.abs(expected);
}
