// The Helm command for the chart tests: built from the Go module proxy (the module in test/support/helm), cached
// in .cache/helm/<version>, run with its own configuration, cache and data folders so no user setting leaks in.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MODULE = join(ROOT, 'test', 'support', 'helm');

/** The Helm release the command is built from: `helm.sh/helm/v4` in test/support/helm/go.mod. */
export const HELM_VERSION = (() => {
  const found = /^\s*(?:require\s+)?helm\.sh\/helm\/v4 (v\S+)/m.exec(
    readFileSync(join(MODULE, 'go.mod'), 'utf8'),
  );
  if (!found?.[1]) throw new Error('test/support/helm/go.mod names no helm.sh/helm/v4 version');
  return found[1];
})();

/** Where the built command is kept between runs (gitignored). */
export const helmBin = (version = HELM_VERSION): string => join(ROOT, '.cache', 'helm', version);

/**
 * Builds `helm` with `go build` into {@link helmBin} unless it is there already; returns its path. A build goes to
 * a temporary name and is renamed into place, so test files that build at once do not see half a binary. Throws
 * with what to install when Go is missing.
 */
export function buildHelm(): string {
  const dir = helmBin();
  const target = join(dir, 'helm');
  if (existsSync(target)) return target;
  mkdirSync(dir, { recursive: true });
  if (spawnSync('go', ['version'], { stdio: 'ignore' }).error) {
    throw new Error(
      'building helm needs Go ≥ 1.26 (install it from go.dev or your distribution) and the Go module proxy',
    );
  }
  const partial = `${target}.${process.pid}.${randomBytes(4).toString('hex')}`;
  const pkg = 'helm.sh/helm/v4';
  const ldflags = [
    `-X ${pkg}/internal/version.version=${HELM_VERSION}`,
    `-X ${pkg}/internal/version.gitTreeState=clean`,
  ];
  const built = spawnSync(
    'go',
    [
      'build',
      '-trimpath',
      '-buildvcs=false',
      '-ldflags',
      ldflags.join(' '),
      '-o',
      partial,
      `${pkg}/cmd/helm`,
    ],
    { cwd: MODULE, encoding: 'utf8', env: { ...process.env, CGO_ENABLED: '0' } },
  );
  if (built.status !== 0) {
    rmSync(partial, { force: true });
    throw new Error(`go build ${pkg}/cmd/helm failed (exit ${built.status}):\n${built.stderr}`);
  }
  renameSync(partial, target);
  return target;
}

/** What one helm command did. */
export interface HelmRun {
  code: number;
  stdout: string;
  stderr: string;
}

let home: string | undefined;

/**
 * Runs helm (built when missing) with `args`, in the repository root, against `kubeconfig` when given. Helm's
 * configuration, cache and data go to a temporary folder of this process, and no KUBECONFIG from outside is seen.
 */
export function helm(args: readonly string[], opts: { kubeconfig?: string } = {}): HelmRun {
  const bin = buildHelm();
  if (!home) {
    const dir = mkdtempSync(join(tmpdir(), 'flywheel-helm-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    home = dir;
  }
  const { KUBECONFIG: _ignored, ...env } = process.env;
  const run = spawnSync(bin, [...(opts.kubeconfig ? ['--kubeconfig', opts.kubeconfig] : []), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    maxBuffer: 64 << 20,
    env: {
      ...env,
      HELM_CONFIG_HOME: join(home, 'config'),
      HELM_CACHE_HOME: join(home, 'cache'),
      HELM_DATA_HOME: join(home, 'data'),
    },
  });
  if (run.error) throw new Error(`helm ${args[0] ?? ''}: ${run.error.message}`, { cause: run.error });
  return { code: run.status ?? -1, stdout: run.stdout, stderr: run.stderr };
}
