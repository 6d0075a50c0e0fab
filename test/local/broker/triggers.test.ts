// Loading Knative Trigger manifests from YAML: schema, filters, subscriber, delivery, durations, readable errors.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConfigError } from '../../../shared/config/index.ts';
import { EventTypes, FUNCTION_NAMES } from '../../../shared/events/index.ts';
import { parseDuration } from '../../../local/broker/duration.ts';
import {
  DEFAULT_DELIVERY,
  loadTriggers,
  parseTriggers,
  type Trigger,
} from '../../../local/broker/triggers.ts';

const BROKER_AND_TRIGGERS = `
apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: { name: default, namespace: flywheel }
spec:
  delivery: { retry: 4, backoffPolicy: linear, backoffDelay: PT1S }
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: { name: score-high-risk, namespace: flywheel }
spec:
  broker: default
  filters:
    - exact: { type: dev.flywheel.score.computed }
    - any:
        - exact: { riskband: high }
        - exact: { riskband: medium }
  subscriber:
    ref: { apiVersion: serving.knative.dev/v1, kind: Service, name: detect-drift }
    uri: /events
  delivery:
    retry: 3
    backoffPolicy: exponential
    backoffDelay: PT0.5S
    timeout: PT2S
    deadLetterSink:
      ref: { apiVersion: serving.knative.dev/v1, kind: Service, name: dead-letters }
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: { name: featurize, namespace: flywheel }
spec:
  broker: default
  filter:
    attributes: { type: dev.flywheel.transaction.accepted }
  subscriber:
    ref: { apiVersion: serving.knative.dev/v1, kind: Service, name: featurize }
`;

const NESTED = `
apiVersion: serving.knative.dev/v1
kind: Service
metadata: { name: featurize }
spec: { template: { spec: { containers: [{ image: x }] } } }
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: { name: external }
spec:
  broker: other
  subscriber: { uri: "http://127.0.0.1:9/hook" }
  delivery: { deadLetterSink: { uri: "http://127.0.0.1:9/dlq" } }
`;

const byName = (list: Trigger[], name: string): Trigger => {
  const t = list.find((x) => x.name === name);
  assert.ok(t, `trigger ${name} not loaded`);
  return t;
};

describe('loadTriggers', () => {
  let dir: string;
  let triggers: Trigger[];
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'broker-triggers-'));
    await mkdir(path.join(dir, 'more'));
    await writeFile(path.join(dir, 'eventing.yaml'), BROKER_AND_TRIGGERS);
    await writeFile(path.join(dir, 'more', 'external.yml'), NESTED);
    await writeFile(path.join(dir, 'kustomization.yaml'), 'resources: [eventing.yaml]\n');
    await writeFile(path.join(dir, 'notes.txt'), 'kind: Trigger\n');
    triggers = await loadTriggers(dir);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('keeps every Trigger from every YAML file, nested folders and multi-document files included', () => {
    assert.deepEqual(triggers.map((t) => t.name).sort(), ['external', 'featurize', 'score-high-risk']);
    assert.equal(byName(triggers, 'featurize').file, path.join(dir, 'eventing.yaml'));
    assert.equal(byName(triggers, 'external').broker, 'other');
  });

  it('reads the subscriber ref as a service name plus the uri path', () => {
    assert.deepEqual(byName(triggers, 'score-high-risk').subscriber, {
      kind: 'service',
      service: 'detect-drift',
      path: '/events',
    });
    assert.deepEqual(byName(triggers, 'featurize').subscriber, {
      kind: 'service',
      service: 'featurize',
      path: '/',
    });
    assert.deepEqual(byName(triggers, 'external').subscriber, {
      kind: 'url',
      url: 'http://127.0.0.1:9/hook',
    });
  });

  it('reads the delivery spec with ISO-8601 durations in milliseconds and the dead-letter sink', () => {
    assert.deepEqual(byName(triggers, 'score-high-risk').delivery, {
      retry: 3,
      backoffPolicy: 'exponential',
      backoffDelayMs: 500,
      timeoutMs: 2000,
      deadLetter: { ref: { apiVersion: 'serving.knative.dev/v1', kind: 'Service', name: 'dead-letters' } },
    });
  });

  it("takes the Broker's delivery when the trigger sets none, and Knative's default without a Broker", () => {
    assert.deepEqual(byName(triggers, 'featurize').delivery, {
      retry: 4,
      backoffPolicy: 'linear',
      backoffDelayMs: 1000,
    });
    assert.deepEqual(byName(triggers, 'external').delivery, {
      ...DEFAULT_DELIVERY,
      retry: 0,
      deadLetter: { uri: 'http://127.0.0.1:9/dlq' },
    });
  });

  it('compiles spec.filters and spec.filter.attributes into predicates', () => {
    const score = byName(triggers, 'score-high-risk').filter;
    const base = { specversion: '1.0', id: '1', source: 's', type: 'dev.flywheel.score.computed' };
    assert.equal(score({ ...base, riskband: 'medium' }), true);
    assert.equal(score({ ...base, riskband: 'low' }), false);
    assert.equal(score({ ...base, type: 'dev.flywheel.features.updated', riskband: 'high' }), false);
    const featurize = byName(triggers, 'featurize').filter;
    assert.equal(featurize({ ...base, type: 'dev.flywheel.transaction.accepted' }), true);
    assert.equal(featurize(base), false);
  });
});

describe('parseTriggers errors', () => {
  const problems = (text: string): string => {
    try {
      parseTriggers([{ file: 'eventing/bad.yaml', text }]);
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      return err.message;
    }
    assert.fail('expected a ConfigError');
  };
  const trigger = (spec: string) =>
    `apiVersion: eventing.knative.dev/v1\nkind: Trigger\nmetadata: { name: t1 }\nspec:\n${spec}`;
  const ref = '  subscriber: { ref: { apiVersion: serving.knative.dev/v1, kind: Service, name: score } }\n';

  it('names the file, the trigger and the field for a CESQL filter', () => {
    const msg = problems(trigger(`  broker: default\n  filters: [{ cesql: "type = 'x'" }]\n${ref}`));
    assert.match(msg, /eventing\/bad\.yaml: Trigger "t1"/);
    assert.match(msg, /CESQL filters are not supported by the local broker/);
    assert.match(msg, /spec\.filters\[0\]\.cesql/);
  });

  it('names a bad duration and a bad backoff policy', () => {
    const msg = problems(
      trigger(`  broker: default\n${ref}  delivery: { backoffDelay: 500ms, backoffPolicy: random }\n`),
    );
    assert.match(msg, /"500ms" is not an ISO-8601 duration/);
    assert.match(msg, /spec\.delivery\.backoffDelay/);
    assert.match(msg, /spec\.delivery\.backoffPolicy/);
  });

  it('refuses a subscriber kind it cannot resolve and a relative uri without a ref', () => {
    const kind = problems(
      trigger(
        '  broker: default\n  subscriber: { ref: { apiVersion: eventing.knative.dev/v1, kind: Broker, name: b } }\n',
      ),
    );
    assert.match(
      kind,
      /Trigger "t1": spec\.subscriber: ref eventing\.knative\.dev\/v1 Broker is not supported locally/,
    );
    assert.match(
      problems(trigger('  broker: default\n  subscriber: { uri: /x }\n')),
      /must be an absolute URL/,
    );
  });

  it('reports a missing broker and invalid YAML, and every problem at once', () => {
    const msg = problems(`${trigger(ref)}---\nkind: [unclosed\n`);
    assert.match(msg, /spec\.broker/);
    assert.match(msg, /document 2\): invalid YAML/);
  });
});

describe('parseDuration', () => {
  it('converts ISO-8601 durations to milliseconds', () => {
    const ms = (t: string) => {
      const r = parseDuration(t);
      assert.ok(r.ok, t);
      return r.ms;
    };
    assert.equal(ms('PT0.5S'), 500);
    assert.equal(ms('PT2S'), 2000);
    assert.equal(ms('PT1M30S'), 90_000);
    assert.equal(ms('PT1H'), 3_600_000);
    assert.equal(ms('P1DT1S'), 86_401_000);
    assert.equal(ms('P1W'), 604_800_000);
  });

  it('refuses what is not a duration, and years or months', () => {
    for (const bad of ['', 'P', 'PT', '5S', 'PT-1S', 'PT1.S'])
      assert.equal(parseDuration(bad).ok, false, bad);
    const month = parseDuration('P1M');
    assert.ok(!month.ok);
    assert.match(month.error, /years and months are not supported/);
  });
});

describe('the real eventing/ directory', () => {
  const dir = path.join(import.meta.dirname, '../../../eventing');

  it('parses every Trigger, each on the default broker and delivering to one of the functions', async () => {
    const triggers = await loadTriggers(dir);
    assert.ok(triggers.length >= FUNCTION_NAMES.length, `only ${triggers.length} triggers in ${dir}`);
    const functions = new Set<string>(FUNCTION_NAMES);
    for (const t of triggers) {
      assert.equal(t.broker, 'default', t.name);
      assert.equal(t.subscriber.kind, 'service', t.name);
      if (t.subscriber.kind === 'service')
        assert.ok(functions.has(t.subscriber.service), `${t.name} → ${t.subscriber.service}`);
    }
  });

  it('routes features.updated to score and detect-drift, as the README architecture has it', async () => {
    const triggers = await loadTriggers(dir);
    const attrs = {
      specversion: '1.0',
      id: '1',
      source: 'flywheel/featurize',
      type: EventTypes.featuresUpdated,
    };
    const services = triggers
      .filter((t) => t.filter(attrs))
      .map((t) => (t.subscriber.kind === 'service' ? t.subscriber.service : t.subscriber.url));
    assert.deepEqual(services.sort(), ['detect-drift', 'score']);
  });
});
