// Every manifest under knative/ and eventing/, and every rendered overlay, validates against the Kubernetes and Knative schemas.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import {
  CHART,
  CHART_RENDERED,
  type ChartRendering,
  containerImages,
  fileDocs,
  isKustomization,
  named,
  ObjectSchema,
  RENDERED,
  type Rendering,
  ROOT,
  render,
  yamlFiles,
} from './support/manifests.ts';
import { validateObject } from './support/validate.ts';
import { imageReference, isPinnedImage } from './support/values.ts';

// The chart's templates are Go templates, and its values files no objects: they are checked by rendering them.
const files = [...yamlFiles('knative'), ...yamlFiles('eventing')].filter((f) => !f.startsWith(`${CHART}/`));

describe('YAML files in knative/ and eventing/', () => {
  it('finds the manifests (guards against an empty scan)', () => {
    assert.ok(files.includes('knative/base/services/score.yaml'), files.join(', '));
    assert.ok(files.includes('eventing/triggers/detect-drift.yaml'), files.join(', '));
    assert.ok(files.length >= 20, `only ${files.length} files`);
  });

  for (const file of files) {
    it(`${file} parses and every document validates`, () => {
      const docs = fileDocs(file);
      assert.ok(docs.length > 0, `${file} has no documents`);
      for (const doc of docs) {
        if (isKustomization(file)) {
          // kustomize's own files: their content is checked by rendering the overlays below.
          const kind = ObjectSchema.pick({ apiVersion: true, kind: true }).parse(doc.value);
          assert.match(
            `${kind.apiVersion}/${kind.kind}`,
            /^kustomize\.config\.k8s\.io\/v1(beta1\/Kustomization|alpha1\/Component)$/,
          );
          continue;
        }
        assert.deepEqual(validateObject(doc.value), [], `${file}#${doc.index}`);
        const object = ObjectSchema.parse(doc.value);
        if (object.kind !== 'Namespace') {
          assert.equal(
            object.metadata.namespace,
            'flywheel',
            `${file}#${doc.index} ${object.kind} namespace`,
          );
        }
      }
    });
  }
});

const CHART_RENDERINGS = Object.keys(CHART_RENDERED) as ChartRendering[];

describe('rendered kustomizations (kubectl kustomize) and chart (helm template)', () => {
  for (const dir of [...RENDERED, ...CHART_RENDERINGS]) {
    it(`${dir} renders and every object validates`, () => {
      const objects = render(dir);
      assert.ok(objects.length > 10, `${dir} rendered ${objects.length} objects`);
      for (const object of objects) {
        assert.deepEqual(validateObject(object), [], `${dir}: ${object.kind}/${object.metadata.name}`);
        if (object.kind !== 'Namespace')
          assert.equal(object.metadata.namespace, 'flywheel', object.metadata.name);
      }
      const keys = objects.map((o) => `${o.apiVersion}/${o.kind}/${o.metadata.name}`);
      assert.equal(new Set(keys).size, keys.length, `${dir} renders duplicates`);
    });
  }

  it('the overlays render the same objects apart from the Kafka component', () => {
    const names = (dir: (typeof RENDERED)[number]) =>
      new Set(render(dir).map((o) => `${o.kind}/${o.metadata.name}`));
    const dev = names('knative/overlays/dev');
    const production = names('knative/overlays/production');
    assert.deepEqual(
      [...dev].filter((n) => !production.has(n)),
      ['Service/dead-letters'],
    );
    assert.deepEqual([...production].filter((n) => !dev.has(n)).sort(), [
      'ConfigMap/flywheel-kafka-broker-config',
      'KafkaSink/flywheel-dead-letters',
    ]);
  });
});

describe('images of the rendered kustomizations and chart', () => {
  const images = (dir: Rendering) => render(dir).flatMap(containerImages);

  for (const dir of [...RENDERED, ...CHART_RENDERINGS]) {
    it(`${dir} pins every container image to a tag or a digest, never latest`, () => {
      assert.ok(images(dir).length > 0, `${dir} runs no image`);
      for (const image of images(dir)) assert.ok(isPinnedImage(image), `${dir}: ${image} is not pinned`);
    });
  }

  it('pins the training image that launch-training puts in its Jobs', () => {
    for (const dir of ['knative/overlays/dev', 'knative/overlays/production', ...CHART_RENDERINGS] as const) {
      const config = z
        .looseObject({ data: z.looseObject({ TRAINING_IMAGE: z.string() }) })
        .parse(named(render(dir), 'ConfigMap', 'flywheel-config'));
      assert.ok(isPinnedImage(config.data.TRAINING_IMAGE), `${dir}: ${config.data.TRAINING_IMAGE}`);
    }
  });

  it("runs Knative's own images at the release knative/README.md installs", () => {
    const readme = readFileSync(path.join(ROOT, 'knative/README.md'), 'utf8');
    const release = /^export KNATIVE=knative-(v\d+\.\d+\.\d+)$/m.exec(readme)?.[1];
    assert.ok(release, 'knative/README.md names no Knative release');
    const knative = images('knative/overlays/dev').filter((i) => i.startsWith('gcr.io/knative-releases/'));
    assert.ok(knative.length > 0, 'no Knative image in the dev overlay');
    for (const image of knative) assert.equal(imageReference(image).tag, release, image);
  });

  it('tells a pinned image from an unpinned one', () => {
    assert.ok(isPinnedImage('ghcr.io/flywheel-dev/flywheel-functions:0.1.0'));
    assert.ok(isPinnedImage(`registry.local:5000/x@sha256:${'a'.repeat(64)}`));
    assert.ok(!isPinnedImage('registry.local:5000/x'));
    assert.ok(!isPinnedImage('gcr.io/knative-releases/knative.dev/eventing/cmd/event_display'));
    assert.ok(!isPinnedImage('redis:latest'));
  });
});

describe('the validator', () => {
  const trigger = {
    apiVersion: 'eventing.knative.dev/v1',
    kind: 'Trigger',
    metadata: { name: 't', namespace: 'flywheel' },
    spec: {
      broker: 'default',
      subscriber: { ref: { apiVersion: 'serving.knative.dev/v1', kind: 'Service', name: 'score' } },
    },
  };

  it('accepts a well-formed Trigger', () => {
    assert.deepEqual(validateObject(trigger), []);
  });

  it('rejects a kind it has no schema for, instead of passing it silently', () => {
    const problems = validateObject({
      apiVersion: 'example.dev/v1',
      kind: 'Gadget',
      metadata: { name: 'g' },
    });
    assert.equal(problems.length, 1);
    assert.match(problems[0] ?? '', /example\.dev\/v1\/Gadget: no schema/);
  });

  it('rejects a document that is not a Kubernetes object', () => {
    assert.match(validateObject({ hello: 'world' })[0] ?? '', /apiVersion and kind are required/);
  });

  it('rejects a Trigger whose retry is not an integer (schema from @kubernetes-models/knative)', () => {
    const bad = { ...trigger, spec: { ...trigger.spec, delivery: { retry: 'five' } } };
    assert.match(validateObject(bad)[0] ?? '', /retry must be integer/);
  });

  it('rejects a Trigger without a subscriber', () => {
    const bad = { ...trigger, spec: { broker: 'default' } };
    assert.match(validateObject(bad)[0] ?? '', /subscriber/);
  });

  it('rejects a ConfigMap with a non-string value (schema from kubernetes-models)', () => {
    const bad = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { RETRIES: 3 } };
    assert.match(validateObject(bad)[0] ?? '', /must be string/);
  });

  it('rejects a KafkaSource without topics (hand-checked CRD fields)', () => {
    const bad = {
      apiVersion: 'sources.knative.dev/v1beta1',
      kind: 'KafkaSource',
      metadata: { name: 'k' },
      spec: { bootstrapServers: ['kafka:9092'], sink: { uri: 'http://x' } },
    };
    assert.match(validateObject(bad)[0] ?? '', /topics/);
  });

  it('rejects a KafkaSink with an unknown content mode', () => {
    const bad = {
      apiVersion: 'eventing.knative.dev/v1alpha1',
      kind: 'KafkaSink',
      metadata: { name: 'k' },
      spec: { topic: 't', bootstrapServers: ['kafka:9092'], contentMode: 'text' },
    };
    assert.match(validateObject(bad)[0] ?? '', /contentMode/);
  });
});
