// The chart's values: values.schema.json refuses a wrong value and names it, and each value the chart offers
// reaches the objects it should, and only those.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { helm } from '../support/helm.ts';
import { CHART, FUNCTIONS, type K8sObject, named, render, renderChart } from './support/manifests.ts';
import { validateObject } from './support/validate.ts';

const idOf = (o: K8sObject) => `${o.apiVersion}/${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;

describe('values.schema.json', () => {
  /** A value set on the command line, and the field helm's refusal must name. */
  const WRONG: [string, RegExp][] = [
    ['functions.score.maxScale=many', /at '\/functions\/score\/maxScale': got string, want integer/],
    ['broker.class=Nats', /at '\/broker\/class': value must be one of/],
    ['deadLetters.sink=stdout', /at '\/deadLetters\/sink': value must be one of/],
    ['functons.score.maxScale=3', /additional properties 'functons' not allowed/],
    ['kafka.bootstrapServers={kafka}', /at '\/kafka\/bootstrapServers\/0': 'kafka' does not match pattern/],
    ['namespace.name=Flywheel', /at '\/namespace\/name': 'Flywheel' does not match pattern/],
    ['images.functions.tag=latest', /at '\/images\/functions\/tag'/],
    ['training.gpu=-1', /at '\/training\/gpu': minimum: got -1, want 0/],
    [
      'training.tolerations[0].operator=Maybe',
      /at '\/training\/tolerations\/0\/operator': value must be one of/,
    ],
    [
      'functions.promote.resources.limits.memory=lots',
      /at '\/functions\/promote\/resources\/limits\/memory'/,
    ],
    ['redis.urlSecret.name=Not_A_Name', /at '\/redis\/urlSecret\/name': 'Not_A_Name' does not match pattern/],
    ['schedules.enabled=sometimes', /at '\/schedules\/enabled': got string, want boolean/],
  ];
  for (const [set, field] of WRONG) {
    it(`refuses ${set}, naming the field`, () => {
      const run = helm(['template', 'flywheel', CHART, '--set', set]);
      assert.notEqual(run.code, 0);
      assert.match(run.stderr, /values don't meet the specifications of the schema/);
      assert.match(run.stderr, field);
    });
  }

  it('accepts a right value in each of those places (the control)', () => {
    const objects = renderChart(
      [
        'functions.score.maxScale=9',
        'broker.class=Kafka',
        'deadLetters.sink=none',
        'kafka.bootstrapServers={kafka-0.kafka:9092,kafka-1.kafka:9092}',
        'namespace.name=fw',
        'images.functions.tag=1.2.3',
        'training.gpu=2',
        'training.tolerations[0].operator=Exists',
        'functions.promote.resources.limits.memory=2Gi',
        'redis.urlSecret.name=redis-url',
        'schedules.enabled=false',
      ].flatMap((s) => ['--set', s]),
    );
    assert.ok(objects.length > 20);
  });

  it('refuses a function whose min-scale is above its max-scale, naming both', () => {
    const run = helm(['template', 'flywheel', CHART, '--set', 'functions.score.minScale=3']);
    assert.notEqual(run.code, 0);
    assert.match(run.stderr, /functions\.score\.minScale \(3\) is above functions\.score\.maxScale \(2\)/);
  });
});

describe('what each value changes', () => {
  const kinds = (objects: readonly K8sObject[]) =>
    new Set(objects.map((o) => `${o.kind}/${o.metadata.name}`));
  const set = (...values: string[]) => renderChart(values.flatMap((v) => ['--set', v]));
  const dev = render('helm:values.yaml');
  const json = (o: unknown) => JSON.stringify(o);
  const svc = (objects: readonly K8sObject[], name: string) =>
    z
      .looseObject({
        spec: z.looseObject({
          template: z.looseObject({
            spec: z.looseObject({
              imagePullSecrets: z.array(z.object({ name: z.string() })).optional(),
              containers: z.array(
                z.looseObject({ image: z.string(), env: z.array(z.looseObject({ name: z.string() })) }),
              ),
            }),
          }),
        }),
      })
      .parse(named(objects, 'Service', name)).spec.template.spec;
  const configOf = (objects: readonly K8sObject[]) =>
    z
      .looseObject({ data: z.record(z.string(), z.string()) })
      .parse(named(objects, 'ConfigMap', 'flywheel-config')).data;

  it('every rendering validates against the Kubernetes and Knative schemas', () => {
    for (const objects of [
      set('schedules.enabled=false', 'kafkaSource.enabled=false', 'deadLetters.sink=none'),
      set('broker.class=Kafka', 'images.pullSecrets={ghcr-token}', 'namespace.name=fw'),
    ]) {
      for (const o of objects) assert.deepEqual(validateObject(o), [], idOf(o));
    }
  });

  it('schedules.enabled=false leaves out the PingSources, their Sequence, the EventTransform and its NetworkPolicy', () => {
    const off = kinds(set('schedules.enabled=false'));
    const gone = [...kinds(dev)].filter((k) => !off.has(k)).sort();
    assert.deepEqual(gone, [
      'EventTransform/training-requested',
      'NetworkPolicy/event-transform-from-knative-eventing',
      'PingSource/nightly-training-risk',
      'PingSource/nightly-training-segment',
      'Sequence/nightly-training',
    ]);
    assert.equal(off.size, kinds(dev).size - gone.length);
  });

  it('kafkaSource.enabled=false leaves out the KafkaSource only', () => {
    const off = kinds(set('kafkaSource.enabled=false'));
    assert.deepEqual(
      [...kinds(dev)].filter((k) => !off.has(k)),
      ['KafkaSource/transactions-raw'],
    );
  });

  it('deadLetters.sink chooses the event_display Service, the KafkaSink, or no dead-letter sink at all', () => {
    const none = set('deadLetters.sink=none');
    assert.doesNotMatch(json(none), /deadLetterSink/);
    assert.ok(
      !kinds(none).has('Service/dead-letters') && !kinds(none).has('KafkaSink/flywheel-dead-letters'),
    );
    const kafka = set('deadLetters.sink=kafka');
    assert.ok(
      kinds(kafka).has('KafkaSink/flywheel-dead-letters') && !kinds(kafka).has('Service/dead-letters'),
    );
    assert.doesNotMatch(json(kafka), /"name":"dead-letters"/);
    const sinks = json(dev).match(/"deadLetterSink"/g) ?? [];
    assert.equal(
      (json(kafka).match(/"kind":"KafkaSink","name":"flywheel-dead-letters"/g) ?? []).length,
      sinks.length,
    );
  });

  it('broker.class=Kafka makes a Kafka broker with its topic config, apart from where dead letters go', () => {
    const objects = set('broker.class=Kafka', 'kafka.bootstrapServers={a.kafka:9092,b.kafka:9092}');
    const broker = named(objects, 'Broker', 'default') as K8sObject & { spec: { config?: unknown } };
    assert.equal(broker.metadata.annotations?.['eventing.knative.dev/broker.class'], 'Kafka');
    assert.deepEqual(broker.spec.config, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      name: 'flywheel-kafka-broker-config',
      namespace: 'flywheel',
    });
    const config = named(objects, 'ConfigMap', 'flywheel-kafka-broker-config') as K8sObject & {
      data: Record<string, string>;
    };
    assert.equal(config.data['bootstrap.servers'], 'a.kafka:9092,b.kafka:9092');
    assert.ok(kinds(objects).has('Service/dead-letters'), 'dead letters still go to the display');
    assert.equal(configOf(objects).KAFKA_BROKERS, 'a.kafka:9092,b.kafka:9092');
    const source = named(objects, 'KafkaSource', 'transactions-raw') as K8sObject & {
      spec: { bootstrapServers: string[] };
    };
    assert.deepEqual(source.spec.bootstrapServers, ['a.kafka:9092', 'b.kafka:9092']);
  });

  it('namespace.name moves every object, the RoleBinding subject and the training Jobs', () => {
    const objects = set('namespace.name=fw');
    for (const o of objects) {
      if (o.kind === 'Namespace') assert.equal(o.metadata.name, 'fw');
      else assert.equal(o.metadata.namespace, 'fw', idOf(o));
    }
    assert.match(json(named(objects, 'RoleBinding', 'launch-training')), /"namespace":"fw"/);
    assert.equal(configOf(objects).TRAINING_NAMESPACE, 'fw');
    assert.doesNotMatch(json(objects), /"namespace":"flywheel"/);
    assert.ok(!kinds(set('namespace.create=false')).has('Namespace/flywheel'));
  });

  it('images set every function image and the training image; pullSecrets reach every function', () => {
    const objects = set(
      'images.registry=registry.local:5000/ml',
      'images.functions.tag=1.2.3',
      'images.trainer.tag=1.2.4',
      'images.pullSecrets={registry-token}',
    );
    for (const fn of FUNCTIONS) {
      const pod = svc(objects, fn);
      assert.equal(pod.containers[0]?.image, 'registry.local:5000/ml/flywheel-functions:1.2.3', fn);
      assert.deepEqual(pod.imagePullSecrets, [{ name: 'registry-token' }], fn);
      assert.equal(svc(dev, fn).imagePullSecrets, undefined, fn);
    }
    assert.equal(configOf(objects).TRAINING_IMAGE, 'registry.local:5000/ml/flywheel-trainer:1.2.4');
  });

  it('the Secret references reach REDIS_URL, PROMOTE_TOKEN and the training Jobs', () => {
    const objects = set(
      'redis.urlSecret.name=redis-url',
      'redis.urlSecret.key=url',
      'promote.tokenSecret.name=promote-token',
      'promote.tokenSecret.key=token',
    );
    const ref = (fn: string, variable: string) =>
      json(svc(objects, fn).containers[0]?.env.find((e) => e.name === variable));
    for (const fn of FUNCTIONS)
      assert.match(ref(fn, 'REDIS_URL'), /"secretKeyRef":\{"name":"redis-url","key":"url"\}/);
    assert.match(ref('promote', 'PROMOTE_TOKEN'), /"secretKeyRef":\{"name":"promote-token","key":"token"\}/);
    assert.equal(configOf(objects).TRAINING_SECRET, 'redis-url');
    assert.ok(!objects.some((o) => o.kind === 'Secret'), 'the chart never writes a Secret');
  });

  it('training sets the GPU count, node selector and tolerations of the Jobs as JSON launch-training parses', () => {
    const config = configOf(
      set(
        'training.gpu=2',
        'training.nodeSelector.pool=a100',
        'training.tolerations[0].key=gpu',
        'training.tolerations[0].operator=Equal',
        'training.tolerations[0].value=a100',
        'training.tolerations[0].effect=NoSchedule',
      ),
    );
    assert.equal(config.TRAINING_GPU_COUNT, '2');
    assert.deepEqual(JSON.parse(config.TRAINING_NODE_SELECTOR ?? ''), { pool: 'a100' });
    assert.deepEqual(JSON.parse(config.TRAINING_TOLERATIONS ?? ''), [
      { key: 'gpu', operator: 'Equal', value: 'a100', effect: 'NoSchedule' },
    ]);
  });
});
