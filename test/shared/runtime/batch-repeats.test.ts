// Batches with repeats: a later copy of an event (same source + id) in one batch is a duplicate of its first copy.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { CloudEvent } from 'cloudevents';
import { EventTypes } from '../../../shared/events/index.ts';
import { createLogger, type RunningFunction, serve } from '../../../shared/runtime/index.ts';
import { type EchoControls, echoControls, echoFunction } from '../../support/echo-function.ts';
import { transaction } from '../../support/events.ts';

const log = createLogger({ name: 'test', level: process.env.TEST_LOG_LEVEL ?? 'silent' });

interface Receipt {
  index: number;
  id?: string;
  source?: string;
  outcome: string;
  status: number;
  reply?: { id: string };
}

const event = (id: string, overrides: Record<string, unknown> = {}) =>
  new CloudEvent({
    id,
    source: 'test/source',
    type: EventTypes.transaction,
    datacontenttype: 'application/json',
    data: transaction(),
    ...overrides,
  }).toJSON();

describe('a batch holding the same event more than once', () => {
  let fn: RunningFunction;
  let controls: EchoControls;
  before(async () => {
    controls = echoControls();
    // the first copy is still in the handler when the later ones arrive: they must wait for it, not race it
    controls.delayMs = 50;
    fn = await serve(echoFunction(controls), {
      port: 0,
      host: '127.0.0.1',
      log,
      maxBodyBytes: 64 * 1024,
      shutdownGraceMs: 1000,
    });
  });
  after(() => fn.close());
  beforeEach(() => {
    controls.seen.length = 0;
  });

  const postBatch = async (events: unknown[]) => {
    const res = await fetch(fn.url, {
      method: 'POST',
      headers: { 'content-type': 'application/cloudevents-batch+json' },
      body: JSON.stringify(events),
    });
    const body = (await res.json()) as { results?: Receipt[]; errors?: Receipt[]; status?: number };
    return { status: res.status, body };
  };

  it('hands the event to the handler once and answers the later copies duplicate (200), the batch 202', async () => {
    const res = await postBatch([event('r-1'), event('r-2'), event('r-1'), event('r-1')]);
    assert.equal(res.status, 202);
    assert.deepEqual(
      res.body.results?.map((r) => [r.index, r.id, r.outcome, r.status, r.reply?.id]),
      [
        [0, 'r-1', 'replied', 200, 'echo-r-1'],
        [1, 'r-2', 'replied', 200, 'echo-r-2'],
        [2, 'r-1', 'duplicate', 200, undefined],
        [3, 'r-1', 'duplicate', 200, undefined],
      ],
    );
    assert.deepEqual(controls.seen.map((s) => s.id).sort(), ['r-1', 'r-2']);
  });

  it('treats the same id from another source as another event', async () => {
    const res = await postBatch([event('s-1'), event('s-1', { source: 'test/other' })]);
    assert.equal(res.status, 202);
    assert.deepEqual(
      res.body.results?.map((r) => [r.source, r.outcome]),
      [
        ['test/source', 'replied'],
        ['test/other', 'replied'],
      ],
    );
    assert.equal(controls.seen.length, 2);
  });

  it('gives a later copy the fate of a first copy that failed retriably: 503 for the batch, one handler call', async () => {
    const down = { data: transaction({ customerId: 'down' }) };
    const res = await postBatch([event('d-1', down), event('ok-1'), event('d-1', down)]);
    assert.equal(res.status, 503);
    assert.deepEqual(
      res.body.errors?.map((r) => [r.index, r.id, r.outcome, r.status]),
      [
        [0, 'd-1', 'failed', 503],
        [2, 'd-1', 'failed', 503],
      ],
    );
    assert.deepEqual(controls.seen.map((s) => s.id).sort(), ['d-1', 'ok-1']);
  });

  it('rejects a later copy of an invalid event like its first copy, and still answers 202 for the rest', async () => {
    const bad = { data: transaction({ amount: 'lots' }) };
    const res = await postBatch([event('v-1', bad), event('v-2'), event('v-1', bad)]);
    assert.equal(res.status, 202);
    assert.deepEqual(
      res.body.results?.map((r) => [r.index, r.outcome, r.status]),
      [
        [0, 'rejected', 400],
        [1, 'replied', 200],
        [2, 'rejected', 400],
      ],
    );
  });

  it('counts the later copies as duplicates in the events metric', async () => {
    const duplicates = async () => {
      const text = await (await fetch(`${fn.url}/metrics`)).text();
      const line = text
        .split('\n')
        .find((l) => l.includes('outcome="duplicate"') && l.includes(`type="${EventTypes.transaction}"`));
      return line === undefined ? 0 : Number(line.split(' ').at(-1));
    };
    const before = await duplicates();
    await postBatch([event('m-1'), event('m-1'), event('m-1')]);
    assert.equal((await duplicates()) - before, 2);
  });
});
