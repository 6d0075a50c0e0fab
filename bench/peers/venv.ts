// The peers' Python environments: one virtual environment per group of peers, made from the pinned requirements
// file beside this module into .cache/peers/<group>, and made again only when that file changes.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export type PeerGroup = 'serving' | 'mlserver' | 'features' | 'drift';

const root = path.resolve(import.meta.dirname, '../..');
const here = import.meta.dirname;

/** The interpreter the environments are made from: PYTHON, else python3 on the PATH. */
function basePython(): string {
  return process.env.PYTHON ?? 'python3';
}

function run(cmd: string, args: readonly string[]): void {
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.error) throw new Error(`${cmd}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited with ${r.status}`);
}

/** Makes (or reuses) the environment of `group` and returns the path of its python. */
export function ensureVenv(group: PeerGroup): string {
  const requirements = path.join(here, `requirements-${group}.txt`);
  const digest = createHash('sha256').update(readFileSync(requirements)).digest('hex');
  const dir = path.join(root, '.cache', 'peers', group);
  const python = path.join(dir, 'bin', 'python');
  const stamp = path.join(dir, '.requirements-sha256');
  if (existsSync(python) && existsSync(stamp) && readFileSync(stamp, 'utf8') === digest) return python;
  process.stderr.write(`peers: making the ${group} environment in ${path.relative(root, dir)}\n`);
  run(basePython(), ['-m', 'venv', '--clear', dir]);
  run(python, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '-r', requirements]);
  writeFileSync(stamp, digest);
  return python;
}

/** A distribution name as PyPI compares names (PEP 503): lower case, runs of `-`, `_` and `.` as one `-`. */
function normalise(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, '-');
}

/** `pip freeze` of a group's environment, for the report: what was measured, exactly. */
export function frozenVersions(group: PeerGroup, names: readonly string[]): Record<string, string> {
  const python = ensureVenv(group);
  const r = spawnSync(python, ['-m', 'pip', 'freeze'], { encoding: 'utf8' });
  if (r.error || r.status !== 0)
    throw new Error(`pip freeze in ${group} exited with ${r.status}`, { cause: r.error });
  const wanted = new Set(names.map(normalise));
  const out: Record<string, string> = {};
  for (const line of r.stdout.split('\n')) {
    const [name, version] = line.trim().split('==');
    if (name && version && wanted.has(normalise(name))) out[normalise(name)] = version;
  }
  return out;
}
