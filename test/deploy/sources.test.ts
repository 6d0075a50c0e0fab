// Event sources and bindings of the rendered overlays: KafkaSource, the retraining schedule, SinkBindings, broker class and dead letters.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { DEPLOYMENTS, type K8sObject, named, ofKind, render } from './support/manifests.ts';
import {
  BROKER_REF,
  RefSchema,
  scheduleProducesTrainingRequests,
  TriggerSchema,
  type TriggerView,
} from './support/wiring.ts';
import { DeliverySchema } from './support/validate.ts';

const SequenceSchema = z.looseObject({
  spec: z.looseObject({
    steps: z.array(z.looseObject({ ref: RefSchema, delivery: DeliverySchema.optional() })),
  }),
});

const triggersOf = (objects: readonly K8sObject[]): TriggerView[] =>
  ofKind(objects, { apiVersion: 'eventing.knative.dev/v1', kind: 'Trigger', schema: TriggerSchema });

for (const overlay of DEPLOYMENTS) {
  describe(`sources and bindings of ${overlay}`, () => {
    const objects = render(overlay);

    it('reads raw transactions from Kafka into ingest through the KafkaSource', () => {
      const [source, ...rest] = ofKind(objects, {
        apiVersion: 'sources.knative.dev/v1beta1',
        kind: 'KafkaSource',
        schema: z.looseObject({
          spec: z.looseObject({
            topics: z.array(z.string()),
            sink: z.looseObject({ ref: z.looseObject({ kind: z.string(), name: z.string() }) }),
            delivery: z.looseObject({
              deadLetterSink: z.looseObject({ ref: z.looseObject({ name: z.string() }) }),
            }),
          }),
        }),
      });
      assert.equal(rest.length, 0);
      assert.ok(source);
      assert.deepEqual(source.spec.topics, ['flywheel.transactions.raw']);
      assert.deepEqual(source.spec.sink.ref, {
        apiVersion: 'serving.knative.dev/v1',
        kind: 'Service',
        name: 'ingest',
      });
    });

    it('binds K_SINK to the broker for ingest and for Jobs labelled flywheel.dev/role=trainer', () => {
      const bindings = ofKind(objects, {
        apiVersion: 'sources.knative.dev/v1',
        kind: 'SinkBinding',
        schema: z.looseObject({
          spec: z.looseObject({
            subject: z.looseObject({ apiVersion: z.string(), kind: z.string() }),
            sink: z.looseObject({ ref: z.looseObject({}) }),
          }),
        }),
      });
      const subjects = bindings.map((b) => b.spec.subject).sort((a, b) => a.kind.localeCompare(b.kind));
      assert.deepEqual(subjects, [
        {
          apiVersion: 'batch/v1',
          kind: 'Job',
          selector: { matchLabels: { 'flywheel.dev/role': 'trainer' } },
        },
        { apiVersion: 'serving.knative.dev/v1', kind: 'Service', name: 'ingest' },
      ]);
      for (const b of bindings) assert.deepEqual(b.spec.sink.ref, BROKER_REF);
    });

    it("delivers each nightly ping to the EventTransform with the Triggers' retries and dead-letter sink", () => {
      // A PingSource has no delivery of its own: its sink must be something that retries and dead-letters.
      const pings = ofKind(objects, {
        apiVersion: 'sources.knative.dev/v1',
        kind: 'PingSource',
        schema: z.looseObject({
          metadata: z.looseObject({ name: z.string() }),
          spec: z.looseObject({ sink: z.looseObject({ ref: RefSchema }) }),
        }),
      });
      const launchTraining = triggersOf(objects).find(
        (t) => t.metadata.name === 'launch-training-training-requested',
      );
      assert.ok(launchTraining?.spec.delivery);
      assert.equal(pings.length, 2);
      for (const ping of pings) {
        const { apiVersion, kind, name } = ping.spec.sink.ref;
        assert.deepEqual(
          { apiVersion, kind },
          { apiVersion: 'flows.knative.dev/v1', kind: 'Sequence' },
          `${ping.metadata.name} must send to a Sequence, whose step has a delivery`,
        );
        const sequence = SequenceSchema.parse(named(objects, 'Sequence', name));
        assert.equal(sequence.spec.steps.length, 1, name);
        const [step] = sequence.spec.steps;
        assert.deepEqual(step?.ref, {
          apiVersion: 'eventing.knative.dev/v1alpha1',
          kind: 'EventTransform',
          name: 'training-requested',
        });
        assert.deepEqual(step?.delivery, launchTraining.spec.delivery, `${name} step delivery`);
      }
    });

    it('schedules nightly training requests for both models through the EventTransform', () => {
      assert.ok(scheduleProducesTrainingRequests(objects));
      const schedules = ofKind(objects, {
        apiVersion: 'sources.knative.dev/v1',
        kind: 'PingSource',
        schema: z.looseObject({ spec: z.looseObject({ schedule: z.string(), timezone: z.string() }) }),
      }).map((p) => p.spec);
      assert.equal(schedules.length, 2);
      for (const s of schedules) {
        assert.match(s.schedule, /^\d+ \d+ \* \* \*$/, `daily cron expected, got ${s.schedule}`);
        assert.equal(s.timezone, 'Etc/UTC');
      }
    });
  });
}

describe('broker class and dead letters per overlay', () => {
  const brokerOf = (objects: readonly K8sObject[]) => {
    const broker = objects.find((o) => o.kind === 'Broker' && o.metadata.name === 'default');
    assert.ok(broker, 'no Broker named default');
    return broker;
  };

  it('dev uses the channel-based broker and the dead-letters Service', () => {
    const objects = render('knative/overlays/dev');
    assert.equal(
      brokerOf(objects).metadata.annotations?.['eventing.knative.dev/broker.class'],
      'MTChannelBasedBroker',
    );
    for (const t of triggersOf(objects))
      assert.equal(t.spec.delivery?.deadLetterSink?.ref?.name, 'dead-letters');
  });

  it('production uses the Kafka broker with its config and the flywheel.dead-letters KafkaSink', () => {
    const objects = render('knative/overlays/production');
    const broker = z
      .looseObject({
        metadata: z.looseObject({ annotations: z.record(z.string(), z.string()) }),
        spec: z.looseObject({ config: z.looseObject({ kind: z.string(), name: z.string() }) }),
      })
      .parse(brokerOf(objects));
    assert.equal(broker.metadata.annotations['eventing.knative.dev/broker.class'], 'Kafka');
    const config = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === broker.spec.config.name);
    assert.ok(config, `Broker config ${broker.spec.config.name} is missing`);
    const data = z.record(z.string(), z.string()).parse(Reflect.get(config, 'data'));
    for (const key of ['bootstrap.servers', 'default.topic.partitions', 'default.topic.replication.factor']) {
      assert.ok(data[key], `kafka broker config lacks ${key}`);
    }
    const sink = objects.find((o) => o.kind === 'KafkaSink');
    assert.equal(
      z.looseObject({ spec: z.looseObject({ topic: z.string() }) }).parse(sink).spec.topic,
      'flywheel.dead-letters',
    );
    for (const t of triggersOf(objects)) {
      assert.deepEqual(t.spec.delivery?.deadLetterSink?.ref, {
        apiVersion: 'eventing.knative.dev/v1alpha1',
        kind: 'KafkaSink',
        name: 'flywheel-dead-letters',
      });
    }
  });
});
