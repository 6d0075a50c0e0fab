// The Knative CRDs of the release knative/README.md installs: Serving's and Eventing's from their Go modules'
// config/ folders, eventing-kafka-broker's two from test/support/kube/crds (that module is not on the proxy).
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { KubeApiServer } from './kube-apiserver.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** `knative-v1.N.P` from knative/README.md's install steps. */
export const KNATIVE_RELEASE = (() => {
  const found = /KNATIVE=(knative-v1\.\d+\.\d+)/.exec(
    readFileSync(join(ROOT, 'knative', 'README.md'), 'utf8'),
  );
  if (!found?.[1]) throw new Error('knative/README.md names no KNATIVE=knative-v1.N.P');
  return found[1];
})();

/** The Go module tag of a Knative release: knative-v1.N.P is tagged v0.(N+27).P (knative-v1.0.0 is v0.27.0). */
export function knativeModuleVersion(release: string): string {
  const [, minor, patch] = /^knative-v1\.(\d+)\.(\d+)$/.exec(release) ?? [];
  if (minor === undefined || patch === undefined) throw new Error(`not a Knative release: ${release}`);
  return `v0.${Number(minor) + 27}.${patch}`;
}

/**
 * The modules' content hashes (go.sum's `h1:`), checked here: the checksum database does not answer for every
 * Knative release, so the download skips it (GONOSUMDB) and is verified against these instead.
 */
const KNATIVE_MODULE_SUMS: Record<string, string> = {
  'knative.dev/serving@v0.48.0': 'h1:1I5WVW6fPvzMVtAouaWFrRjRpSBAyfzSx4vZRjJtrm4=',
  'knative.dev/eventing@v0.48.0': 'h1:jBwRXnhhfJ4S5EfBSgkhJzqtcfOIr8kfG1qoaXX56KA=',
};

/** Where `go mod download` put a module (it downloads once into the module cache), its content hash checked. */
function moduleDir(path: string, version: string): string {
  const id = `${path}@${version}`;
  const sum = KNATIVE_MODULE_SUMS[id];
  if (!sum)
    throw new Error(`no content hash for ${id}: add it to KNATIVE_MODULE_SUMS (go mod download -json ${id})`);
  const run = spawnSync('go', ['mod', 'download', '-json', id], {
    cwd: tmpdir(),
    encoding: 'utf8',
    env: { ...process.env, GOFLAGS: '-mod=mod', GONOSUMDB: 'knative.dev' },
  });
  if (run.error) throw new Error(`go mod download needs Go: ${run.error.message}`);
  const info = JSON.parse(run.stdout || '{}') as { Dir?: string; Error?: string; Sum?: string };
  if (run.status !== 0 || !info.Dir) {
    throw new Error(`go mod download ${id} failed: ${info.Error ?? run.stderr}`);
  }
  if (info.Sum !== sum) throw new Error(`${id}: content hash ${info.Sum}, expected ${sum}`);
  return info.Dir;
}

const yamlIn = (dir: string) =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => join(dir, f));

/** Every CRD file: Serving's core resources, Eventing's core resources, eventing-kafka-broker's KafkaSource and KafkaSink. */
export function knativeCrdFiles(release = KNATIVE_RELEASE): string[] {
  const version = knativeModuleVersion(release);
  const serving = moduleDir('knative.dev/serving', version);
  const eventing = moduleDir('knative.dev/eventing', version);
  return [
    ...yamlIn(join(serving, 'config', 'core', '300-resources')),
    ...yamlIn(join(eventing, 'config', 'core', 'resources')),
    ...yamlIn(join(ROOT, 'test', 'support', 'kube', 'crds')),
  ];
}

/** Applies every Knative CRD server-side and waits until each is Established. */
export function installKnativeCrds(server: KubeApiServer): void {
  const files = knativeCrdFiles();
  const applied = server.kubectl([
    'apply',
    '--server-side',
    '--field-manager=knative-install',
    ...files.flatMap((f) => ['-f', f]),
  ]);
  if (applied.code !== 0) throw new Error(`applying the Knative CRDs failed:\n${applied.stderr}`);
  const established = server.kubectl([
    'wait',
    '--for=condition=Established',
    'crd',
    '--all',
    '--timeout=120s',
  ]);
  if (established.code !== 0)
    throw new Error(`the Knative CRDs were not established:\n${established.stderr}`);
}
