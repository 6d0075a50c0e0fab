// Back-pressure through replies: a full downstream queue holds replies back, the ingress answers 429 upstream,
// and every accepted event is still delivered once the downstream subscriber catches up.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ce, postBinary, type Reply, startBroker, startSubscriber, triggerYaml, until } from './support.ts';

const UP = 'dev.flywheel.transaction.accepted';
const DOWN = 'dev.flywheel.features.updated';

describe('back-pressure', () => {
  it('holds replies while the downstream queue is full, refuses upstream events, and loses none', async (t) => {
    let open = false;
    const waiting: (() => void)[] = [];
    const down = await startSubscriber(() =>
      open ? { status: 202 } : new Promise<Reply>((r) => waiting.push(() => r({ status: 202 }))),
    );
    const up = await startSubscriber((req) => ({
      status: 200,
      headers: {
        'ce-specversion': '1.0',
        'ce-id': `r-${req.headers['ce-id']}`,
        'ce-source': 'up',
        'ce-type': DOWN,
      },
    }));
    const running = await startBroker({
      yaml: [
        triggerYaml({ name: 'up', service: 'up', filter: `filters: [{ exact: { type: ${UP} } }]` }),
        triggerYaml({ name: 'down', service: 'down', filter: `filters: [{ exact: { type: ${DOWN} } }]` }),
      ],
      services: { up: up.url, down: down.url },
      queueCapacity: 1,
      concurrency: 1,
    });
    const release = () => {
      open = true;
      for (const w of waiting.splice(0)) w();
    };
    t.after(async () => {
      release();
      await running.broker.stop();
      await Promise.all([up.close(), down.close()]);
    });
    const lane = (name: string) => running.broker.stats().triggers.find((t) => t.name === name);
    // down takes r-a-1 in flight, then queues r-a-2 and r-a-3 (replies may use up to twice the capacity).
    for (const [i, id] of ['a-1', 'a-2', 'a-3'].entries()) {
      assert.equal((await postBinary(running.url, ce(UP, id), {})).status, 202);
      await until(() => lane('up')?.replies === i + 1 && lane('up')?.inFlight === 0, `reply to ${id}`);
    }
    assert.deepEqual([lane('down')?.inFlight, lane('down')?.queued], [1, 2]);
    // The fourth reply finds no room: up's only delivery slot waits with it, so up's queue fills and 429 follows.
    assert.equal((await postBinary(running.url, ce(UP, 'a-4'), {})).status, 202);
    await until(() => lane('up')?.replies === 4, 'reply to a-4');
    assert.equal((await postBinary(running.url, ce(UP, 'a-5'), {})).status, 202);
    assert.equal((await postBinary(running.url, ce(UP, 'a-6'), {})).status, 429);
    assert.deepEqual([lane('up')?.inFlight, lane('up')?.queued, lane('down')?.queued], [1, 1, 2]);
    release();
    await running.broker.whenIdle();
    const seen = down.received.map((r) => r.headers['ce-id']);
    assert.deepEqual(seen, ['r-a-1', 'r-a-2', 'r-a-3', 'r-a-4', 'r-a-5']);
    assert.deepEqual(running.broker.deadLetters(), []);
  });
});
