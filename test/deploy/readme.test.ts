// knative/README.md stays true to the repository: the paths it names exist, its steps match the manifests, its example event is valid.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { EventTypes, TransactionSchema } from '../../shared/events/index.ts';
import { ROOT } from './support/manifests.ts';

const readme = readFileSync(path.join(ROOT, 'knative/README.md'), 'utf8');

describe('knative/README.md', () => {
  it('names only paths that exist in the repository', () => {
    const paths = [...readme.matchAll(/`((?:knative|eventing|functions|test)\/[^`\s*<]+?)\/?`/g)].map(
      (m) => m[1] ?? '',
    );
    assert.ok(paths.length >= 8, `found ${paths.length} paths`);
    for (const p of paths) assert.ok(existsSync(path.join(ROOT, p)), `${p} does not exist`);
  });

  it('walks from an empty cluster to a deployed loop with the documented commands', () => {
    for (const step of [
      'serving-crds.yaml',
      'eventing-core.yaml',
      'mt-channel-broker.yaml',
      'eventing-kafka-controller.yaml',
      'eventing-kafka-broker.yaml',
      'strimzi.io/install',
      'bitnamicharts/redis',
      'kubectl create secret generic flywheel-secrets',
      'kubectl apply -k knative/overlays/dev',
      'npm run package',
      'kn func deploy --path dist/functions/',
    ]) {
      assert.ok(readme.includes(step), `README lacks: ${step}`);
    }
  });

  it('uses the secret keys and the Kafka address the manifests use', () => {
    const template = readFileSync(path.join(ROOT, 'knative/base/secret.template.yaml'), 'utf8');
    for (const key of ['REDIS_URL', 'PROMOTE_TOKEN']) {
      assert.ok(readme.includes(`--from-literal=${key}=`) && template.includes(`${key}:`), key);
    }
    const config = readFileSync(path.join(ROOT, 'knative/base/config.yaml'), 'utf8');
    const kafka = /KAFKA_BROKERS: (\S+)/.exec(config)?.[1];
    assert.ok(kafka && readme.includes(kafka), `README must name ${kafka}`);
  });

  it('sends an example transaction that the catalog schema accepts', () => {
    const type = /ce-type: ([\w.]+)/.exec(readme)?.[1];
    assert.equal(type, EventTypes.transaction);
    const body = /-d '(\{.*\})'/.exec(readme)?.[1];
    assert.ok(body, 'no example body');
    const parsed = TransactionSchema.safeParse(JSON.parse(body));
    assert.ok(parsed.success, parsed.success ? '' : parsed.error.message);
  });
});
