// The consumer registry both event logs use: close() stops what is still running, and only that.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Consumptions } from '../../../shared/log/consumptions.ts';

function counted() {
  const c = { stops: 0, stop: async () => void c.stops++ };
  return c;
}

describe('Consumptions', () => {
  it('stopAll stops every consumer still running', async () => {
    const consumers = new Consumptions();
    const a = counted();
    const b = counted();
    consumers.track(a);
    consumers.track(b);
    await consumers.stopAll();
    assert.deepEqual([a.stops, b.stops], [1, 1]);
  });

  it('a consumer stopped through its handle is not stopped again by stopAll', async () => {
    const consumers = new Consumptions();
    const a = counted();
    const b = counted();
    const handle = consumers.track(a);
    consumers.track(b);
    await handle.stop();
    assert.deepEqual([a.stops, b.stops], [1, 0]);
    await consumers.stopAll();
    assert.deepEqual([a.stops, b.stops], [1, 1]);
  });
});
