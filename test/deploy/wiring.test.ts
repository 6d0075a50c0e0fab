// Event wiring of the rendered overlays and chart: Triggers, their subscribers and delivery, and a producer for every consumed type.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { Catalog } from '../../shared/events/index.ts';
import { DEPLOYMENTS, FUNCTIONS, type K8sObject, ofKind, ROOT, render } from './support/manifests.ts';
import {
  EXPECTED_CONSUMERS,
  scheduleProducesTrainingRequests,
  trainerJobsReachTheBroker,
  OBSERVED_ONLY,
  PRODUCERS,
  SourceSchema,
  TriggerSchema,
  type TriggerView,
  triggerTypes,
} from './support/wiring.ts';
import { isoDurationSeconds } from './support/values.ts';

const SERVICE = { apiVersion: 'serving.knative.dev/v1', kind: 'Service' } as const;

const triggersOf = (objects: readonly K8sObject[]): TriggerView[] =>
  ofKind(objects, { apiVersion: 'eventing.knative.dev/v1', kind: 'Trigger', schema: TriggerSchema });

const exists = (objects: readonly K8sObject[], ref: { apiVersion: string; kind: string; name: string }) =>
  objects.some((o) => o.apiVersion === ref.apiVersion && o.kind === ref.kind && o.metadata.name === ref.name);

/** Sorted `type → consumer` pairs. */
const pairs = (table: Record<string, readonly string[]>) =>
  Object.entries(table)
    .flatMap(([type, consumers]) => consumers.map((c) => `${type} → ${c}`))
    .sort();

describe('the expected wiring table', () => {
  it('agrees with the event catalog of shared/events (consumers and producers)', () => {
    const consumers: Record<string, readonly string[]> = {};
    const producers: Record<string, readonly string[]> = {};
    const observed: string[] = [];
    for (const [type, entry] of Object.entries(Catalog)) {
      if (entry.consumedBy.length === 0) observed.push(type);
      else {
        consumers[type] = entry.consumedBy;
        producers[type] = entry.producedBy;
      }
    }
    assert.deepEqual(pairs(consumers), pairs(EXPECTED_CONSUMERS));
    assert.deepEqual(pairs(producers), pairs(PRODUCERS));
    assert.deepEqual(observed.sort(), [...OBSERVED_ONLY].sort());
  });
});

for (const overlay of DEPLOYMENTS) {
  describe(`wiring of ${overlay}`, () => {
    const objects = render(overlay);
    const triggers = triggersOf(objects);

    it('has one Trigger per consumer and type, exactly as the wiring table says', () => {
      const routed: Record<string, string[]> = {};
      for (const t of triggers) {
        const types = triggerTypes(t);
        assert.equal(types.length, 1, `${t.metadata.name} must filter on exactly one type, got ${types}`);
        const [type] = types;
        const consumer = t.spec.subscriber.ref?.name;
        assert.ok(type && consumer, t.metadata.name);
        routed[type] = [...(routed[type] ?? []), consumer];
      }
      assert.deepEqual(pairs(routed), pairs(EXPECTED_CONSUMERS));
      for (const type of OBSERVED_ONLY) assert.equal(routed[type], undefined, `${type} must not be routed`);
    });

    it("subscribes every Trigger to a Knative Service that exists, on the 'default' Broker", () => {
      for (const t of triggers) {
        assert.equal(t.spec.broker, 'default', t.metadata.name);
        const ref = t.spec.subscriber.ref;
        assert.ok(ref, `${t.metadata.name} has no subscriber ref`);
        assert.deepEqual({ apiVersion: ref.apiVersion, kind: ref.kind }, SERVICE, t.metadata.name);
        assert.ok(exists(objects, ref), `${t.metadata.name} → missing Service ${ref.name}`);
        assert.ok((FUNCTIONS as readonly string[]).includes(ref.name), `${ref.name} is not a function`);
      }
    });

    it('gives every Trigger a delivery with retries, exponential backoff and a dead-letter sink that exists', () => {
      for (const t of triggers) {
        const d = t.spec.delivery;
        assert.ok(d, `${t.metadata.name} has no delivery`);
        assert.ok((d.retry ?? 0) >= 3, `${t.metadata.name} retry ${d.retry}`);
        assert.equal(d.backoffPolicy, 'exponential', t.metadata.name);
        const delay = isoDurationSeconds(d.backoffDelay ?? '');
        assert.ok(delay > 0 && delay <= 5, `${t.metadata.name} backoffDelay ${d.backoffDelay}`);
        const dls = d.deadLetterSink?.ref;
        assert.ok(dls, `${t.metadata.name} has no dead-letter sink ref`);
        assert.ok(
          exists(objects, dls),
          `${t.metadata.name} → missing dead-letter sink ${dls.kind}/${dls.name}`,
        );
      }
    });

    it('uses the filters dialect on the score.computed Trigger, with a riskband condition', () => {
      const t = triggers.find((x) => x.metadata.name === 'detect-drift-score-computed');
      assert.ok(t?.spec.filters, 'detect-drift-score-computed must use spec.filters');
      assert.equal(t.spec.filter, undefined, 'filter and filters must not both be set');
      assert.match(JSON.stringify(t.spec.filters), /"riskband":"high"/);
    });

    it('has a Service, a func.yaml and at least one Trigger for every function', () => {
      for (const fn of FUNCTIONS) {
        assert.ok(exists(objects, { ...SERVICE, name: fn }), `no Service ${fn}`);
        assert.ok(existsSync(path.join(ROOT, 'functions', fn, 'func.yaml')), `no functions/${fn}/func.yaml`);
        assert.ok(
          triggers.some((t) => t.spec.subscriber.ref?.name === fn),
          `no Trigger subscribes ${fn}`,
        );
      }
    });

    it('has a producer deployed for every consumed type', () => {
      const kafkaSources = ofKind(objects, {
        apiVersion: 'sources.knative.dev/v1beta1',
        kind: 'KafkaSource',
        schema: SourceSchema,
      });
      const present = (producer: string): boolean => {
        switch (producer) {
          case 'data-source':
            // Raw events arrive through ingest's Triggers (posted to the broker) or the KafkaSource.
            return kafkaSources.some((s) => s.spec.sink.ref.name === 'ingest');
          case 'schedule':
            return scheduleProducesTrainingRequests(objects);
          case 'trainer':
            return trainerJobsReachTheBroker(objects);
          case 'operator':
            return true; // a person posting to the broker URL; nothing to deploy
          default:
            return exists(objects, { ...SERVICE, name: producer });
        }
      };
      for (const [type, producers] of Object.entries(PRODUCERS)) {
        assert.ok(
          producers.some((p) => p !== 'operator' && present(p)),
          `${type}: none of ${producers} is deployed`,
        );
      }
    });
  });
}
