// singleFlight: concurrent refreshes of one cached model share a run, and the slot frees once it settles.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Flight, singleFlight } from '../../../shared/registry/single-flight.ts';

describe('singleFlight', () => {
  it('gives callers during a run that same run, and starts a new one after it settles', async () => {
    const slot: Flight<number> = { loading: null };
    let runs = 0;
    let release = () => {};
    const work = () =>
      new Promise<number>((resolve) => {
        runs++;
        release = () => resolve(runs);
      });
    const first = singleFlight(slot, work);
    const second = singleFlight(slot, work);
    assert.equal(second, first);
    await new Promise(setImmediate); // the run has started
    release();
    assert.deepEqual(await Promise.all([first, second]), [1, 1]);
    assert.equal(slot.loading, null);
    const third = singleFlight(slot, work);
    await new Promise(setImmediate);
    release();
    assert.equal(await third, 2);
  });

  it('frees the slot when the run rejects, and passes the rejection on', async () => {
    const slot: Flight<number> = { loading: null };
    await assert.rejects(
      singleFlight(slot, async () => {
        throw new Error('registry down');
      }),
      /registry down/,
    );
    assert.equal(slot.loading, null);
    assert.equal(await singleFlight(slot, async () => 7), 7);
  });

  it('frees the slot when the work throws before returning a promise', async () => {
    const slot: Flight<number> = { loading: null };
    const broken = (): Promise<number> => {
      throw new Error('no registry');
    };
    await assert.rejects(singleFlight(slot, broken), /no registry/);
    assert.equal(slot.loading, null);
    assert.equal(await singleFlight(slot, async () => 3), 3);
  });
});
