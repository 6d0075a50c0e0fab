// The Helm chart: generated from the kustomize sources, lint-clean, rendering exactly what the overlays render with
// each values file, and versioned with the package. Its values: helm-values.test.ts.
import assert from 'node:assert/strict';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { parse } from 'yaml';
import { z } from 'zod';
import { generateTemplates } from '../../knative/chart/generate.ts';
import { helm } from '../support/helm.ts';
import {
  CHART,
  CHART_RENDERED,
  type ChartRendering,
  type K8sObject,
  type RenderedDir,
  ROOT,
  render,
} from './support/manifests.ts';

const idOf = (o: K8sObject) => `${o.apiVersion}/${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
const ids = (objects: readonly K8sObject[]) => objects.map(idOf).sort();
const KEEP = 'helm.sh/resource-policy';

/** Every file under `dir`, relative to it. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
    .sort();
}

describe('the chart is generated from the kustomize sources', () => {
  const scratch: string[] = [];
  after(async () => {
    for (const dir of scratch) await rm(dir, { recursive: true, force: true });
  });

  /** A copy of the kustomize sources, changed by `change`, for the generator to refuse. */
  const changedSources = async (change: (root: string) => Promise<void>) => {
    const root = await mkdtemp(path.join(tmpdir(), 'flywheel-chart-'));
    scratch.push(root);
    for (const dir of ['knative', 'eventing'])
      await cp(path.join(ROOT, dir), path.join(root, dir), { recursive: true });
    await change(root);
    return root;
  };

  it('holds exactly the templates `npm run chart` generates (run it after changing knative/ or eventing/)', async () => {
    const generated = await generateTemplates(ROOT);
    const dir = path.join(ROOT, CHART, 'templates');
    assert.deepEqual(await filesUnder(dir), [...generated.keys()]);
    for (const [file, text] of generated) {
      assert.equal(await readFile(path.join(dir, file), 'utf8'), text, `${CHART}/templates/${file} is stale`);
    }
    assert.ok(generated.has('services/score.yaml') && generated.has('eventing/kafka/dead-letter-sink.yaml'));
  });

  for (const [dir, field] of [
    ['knative/base', 'configMapGenerator:\n  - name: extra\n'],
    ['eventing', 'patches:\n  - path: extra.yaml\n'],
  ] as const) {
    const name = field.slice(0, field.indexOf(':'));
    it(`refuses a kustomization field it cannot carry into the chart: ${name} in ${dir}`, async () => {
      const root = await changedSources(async (r) => {
        const file = path.join(r, dir, 'kustomization.yaml');
        await writeFile(file, `${await readFile(file, 'utf8')}${field}`);
      });
      await assert.rejects(
        generateTemplates(root),
        new RegExp(`${dir}/kustomization.yaml: .*does not understand ${name}`),
      );
    });
  }

  it('refuses a source where a value the chart sets has moved', async () => {
    const root = await changedSources(async (r) => {
      const file = path.join(r, 'knative/base/services/score.yaml');
      const text = await readFile(file, 'utf8');
      await writeFile(file, text.replace(/^\s+autoscaling\.knative\.dev\/max-scale: .*\n/m, ''));
    });
    await assert.rejects(generateTemplates(root), /services\/score\.yaml#0: nothing at .*max-scale/);
  });
});

describe('helm lint --strict', () => {
  for (const args of [[], ['-f', `${CHART}/values-production.yaml`]]) {
    it(`passes with values.yaml${args.length ? ' and values-production.yaml' : ''}`, () => {
      const run = helm(['lint', '--strict', CHART, ...args]);
      assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
      assert.match(run.stdout, /^1 chart\(s\) linted, 0 chart\(s\) failed$/m);
    });
  }

  it('fails on a value the schema refuses (the control)', () => {
    const run = helm(['lint', '--strict', CHART, '--set', 'broker.class=Nats']);
    assert.equal(run.code, 1);
    assert.match(run.stdout, /at '\/broker\/class': value must be one of 'MTChannelBasedBroker', 'Kafka'/);
  });
});

for (const [rendering, overlay] of Object.entries(CHART_RENDERED) as [ChartRendering, RenderedDir][]) {
  describe(`helm template with ${rendering.slice('helm:'.length)}`, () => {
    it(`renders exactly the objects of ${overlay}, the Namespace marked to be kept on uninstall`, () => {
      const chart = render(rendering);
      const kustomized = render(overlay);
      assert.deepEqual(ids(chart), ids(kustomized));
      const byId = new Map(kustomized.map((o) => [idOf(o), o]));
      for (const object of chart) {
        let got: K8sObject = object;
        if (object.kind === 'Namespace') {
          const { [KEEP]: keep, ...annotations } = object.metadata.annotations ?? {};
          assert.equal(keep, 'keep');
          const { annotations: _, ...metadata } = object.metadata;
          got = {
            ...object,
            metadata: Object.keys(annotations).length ? { ...metadata, annotations } : metadata,
          };
        }
        assert.deepEqual(got, byId.get(idOf(object)), idOf(object));
      }
      assert.ok(chart.length > 30, `only ${chart.length} objects`);
    });
  });
}

describe('the chart version', () => {
  it('is the package version, and so is the default tag of both images', async () => {
    const pkg = z
      .object({ version: z.string() })
      .parse(JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')));
    const chart = z
      .object({ version: z.string(), appVersion: z.string() })
      .parse(parse(await readFile(path.join(ROOT, CHART, 'Chart.yaml'), 'utf8')));
    const values = z
      .looseObject({
        images: z.looseObject({
          functions: z.object({ tag: z.string() }),
          trainer: z.object({ tag: z.string() }),
        }),
      })
      .parse(parse(await readFile(path.join(ROOT, CHART, 'values.yaml'), 'utf8')));
    assert.equal(chart.appVersion, pkg.version);
    assert.equal(values.images.functions.tag, pkg.version);
    assert.equal(values.images.trainer.tag, pkg.version);
  });
});
