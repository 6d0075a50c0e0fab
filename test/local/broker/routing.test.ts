// The broker end to end over real HTTP: routing by the Trigger filters, binary-mode delivery, replies re-entering.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  ce,
  postBinary,
  postStructured,
  type Running,
  type Subscriber,
  startBroker,
  startSubscriber,
  triggerYaml,
} from './support.ts';

const T = {
  accepted: 'dev.flywheel.transaction.accepted',
  features: 'dev.flywheel.features.updated',
  score: 'dev.flywheel.score.computed',
};

describe('routing', () => {
  let featurize: Subscriber;
  let score: Subscriber;
  let drift: Subscriber;
  let audit: Subscriber;
  let running: Running;

  before(async () => {
    // featurize replies to transaction.accepted with features.updated (binary); score replies structured.
    featurize = await startSubscriber((req) => ({
      status: 200,
      headers: {
        'ce-specversion': '1.0',
        'ce-id': `f-${req.headers['ce-id']}`,
        'ce-source': 'flywheel/featurize',
        'ce-type': T.features,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ customerId: 'c-1' }),
    }));
    score = await startSubscriber((req) => ({
      status: 200,
      headers: { 'content-type': 'application/cloudevents+json' },
      body: JSON.stringify({
        ...ce(T.score, `s-${req.headers['ce-id']}`, { riskband: 'high' }),
        datacontenttype: 'application/json',
        data: { risk: 0.9 },
      }),
    }));
    drift = await startSubscriber();
    // audit answers 202 with event headers: a 202 is never a reply (data-plane contract).
    audit = await startSubscriber((req) => ({
      status: 202,
      headers: {
        'ce-specversion': '1.0',
        'ce-id': `a-${req.headers['ce-id']}`,
        'ce-source': 'a',
        'ce-type': T.accepted,
      },
    }));
    running = await startBroker({
      yaml: [
        triggerYaml({
          name: 'featurize',
          service: 'featurize',
          filter: `filter: { attributes: { type: ${T.accepted} } }`,
        }),
        triggerYaml({
          name: 'score',
          service: 'score',
          filter: `filters: [{ exact: { type: ${T.features} } }]`,
        }),
        triggerYaml({
          name: 'drift-high',
          service: 'detect-drift',
          filter: `filters: [{ suffix: { type: .computed } }, { any: [{ exact: { riskband: high } }, { exact: { riskband: medium } }] }]`,
        }),
        triggerYaml({
          name: 'audit',
          service: 'audit',
          filter: 'filters: [{ prefix: { type: dev.flywheel.transaction } }]',
        }),
      ],
      services: { featurize: featurize.url, score: score.url, 'detect-drift': drift.url, audit: audit.url },
    });
  });
  after(async () => {
    await running.broker.stop();
    await Promise.all([featurize, score, drift, audit].map((s) => s.close()));
  });

  it('delivers an event only to the matching triggers, in binary mode with every attribute intact', async () => {
    const res = await postBinary(
      running.url,
      ce(T.accepted, 'e-1', { subject: 'c-1', dataschema: 'https://flywheel.dev/s/tx', segment: '4' }),
      { transactionId: 't-1', amount: 12.5 },
    );
    assert.equal(res.status, 202);
    assert.equal(await res.text(), '');
    await running.broker.whenIdle();
    const got = featurize.received.filter((r) => r.headers['ce-id'] === 'e-1');
    assert.equal(got.length, 1);
    const h = got[0]?.headers ?? {};
    assert.deepEqual(
      [
        h['ce-specversion'],
        h['ce-id'],
        h['ce-source'],
        h['ce-type'],
        h['ce-subject'],
        h['ce-dataschema'],
        h['ce-segment'],
      ],
      ['1.0', 'e-1', 'test/source', T.accepted, 'c-1', 'https://flywheel.dev/s/tx', '4'],
    );
    assert.equal(h['content-type'], 'application/json');
    assert.equal(h.prefer, 'reply');
    assert.deepEqual(JSON.parse(got[0]?.body ?? ''), { transactionId: 't-1', amount: 12.5 });
    assert.equal(audit.received.filter((r) => r.headers['ce-id'] === 'e-1').length, 1);
    assert.equal(score.received.filter((r) => r.headers['ce-id'] === 'e-1').length, 0);
    assert.equal(drift.received.filter((r) => r.headers['ce-id'] === 'e-1').length, 0);
  });

  it('routes reply events back through the broker to their own triggers (binary and structured replies)', async () => {
    await postBinary(running.url, ce(T.accepted, 'e-2'), { n: 2 });
    await running.broker.whenIdle();
    // featurize's binary reply f-e-2 reaches score; score's structured reply s-f-e-2 (riskband high) reaches drift.
    const atScore = score.received.filter((r) => r.headers['ce-id'] === 'f-e-2');
    assert.equal(atScore.length, 1);
    assert.equal(atScore[0]?.headers['ce-source'], 'flywheel/featurize');
    const atDrift = drift.received.filter((r) => r.headers['ce-id'] === 's-f-e-2');
    assert.equal(atDrift.length, 1);
    assert.equal(atDrift[0]?.headers['ce-riskband'], 'high');
    assert.deepEqual(JSON.parse(atDrift[0]?.body ?? ''), { risk: 0.9 });
    // audit's 202 carried event headers, but nothing was routed from it: featurize saw e-2 once, and no a-e-2.
    assert.equal(featurize.received.filter((r) => r.headers['ce-id']?.startsWith('a-')).length, 0);
    const stats = running.broker.stats();
    assert.equal(stats.triggers.find((t) => t.name === 'featurize')?.replies, 2);
    assert.equal(stats.triggers.find((t) => t.name === 'audit')?.replies, 0);
  });

  it('takes a batch: each event is routed on its own', async () => {
    const res = await postStructured(running.url, [
      { ...ce(T.score, 'b-1', { riskband: 'medium' }), data: { risk: 0.5 } },
      { ...ce(T.score, 'b-2', { riskband: 'low' }), data: { risk: 0.1 } },
      { ...ce(T.features, 'b-3'), data: { customerId: 'c-9' } },
    ]);
    assert.equal(res.status, 202);
    await running.broker.whenIdle();
    const ids = (s: Subscriber) =>
      s.received.map((r) => r.headers['ce-id']).filter((id) => id?.startsWith('b-'));
    assert.deepEqual(ids(drift), ['b-1']);
    assert.deepEqual(ids(score), ['b-3']);
    assert.deepEqual(ids(featurize), []);
    assert.deepEqual(JSON.parse(drift.received.find((r) => r.headers['ce-id'] === 'b-1')?.body ?? ''), {
      risk: 0.5,
    });
  });

  it('accepts an event that matches no trigger and counts it as unrouted', async () => {
    const before = running.broker.stats();
    const res = await postBinary(running.url, ce('dev.flywheel.label', 'u-1'), {});
    assert.equal(res.status, 202);
    await running.broker.whenIdle();
    const stats = running.broker.stats();
    assert.equal(stats.unrouted, before.unrouted + 1);
    assert.equal(stats.accepted, before.accepted + 1);
    const served = (await (await fetch(`${running.url}/broker/stats`)).json()) as typeof stats;
    assert.deepEqual(served, stats);
    assert.deepEqual(
      served.triggers.map((t) => [t.name, t.subscriber]),
      [
        ['featurize', `${featurize.url}/`],
        ['score', `${score.url}/`],
        ['drift-high', `${drift.url}/`],
        ['audit', `${audit.url}/`],
      ],
    );
  });
});
