// The loop's state and its terminal lines: model events are numbered, so a reader finds the new ones past the kept 200.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sampleFailed, sampleLaunched, samplePromoted, sampleTrained } from '../../local/dashboard/sample.ts';
import { modelLine } from '../../local/progress.ts';
import { LoopState } from '../../local/state.ts';

describe('LoopState model events', () => {
  it('numbers model events from 1 and returns those after a number, oldest first', () => {
    const state = new LoopState();
    assert.equal(state.modelSeq, 0);
    state.observe(samplePromoted({ model: 'risk', version: 1, previous: null }));
    state.observe(samplePromoted({ model: 'segment', version: 1, previous: null }));
    state.observe(sampleFailed({ model: 'risk', reason: 'trainer exited with 1' }));
    assert.equal(state.modelSeq, 3);
    assert.deepEqual(
      state.modelsSince(1).map((e) => [e.seq, e.kind, e.model]),
      [
        [2, 'promoted', 'segment'],
        [3, 'failed', 'risk'],
      ],
    );
    assert.deepEqual(state.modelsSince(3), []);
  });

  it('still reports new model events after the first 200 have been seen (the list keeps the latest 200)', () => {
    const state = new LoopState();
    for (let v = 1; v <= 200; v++)
      state.observe(samplePromoted({ model: 'risk', version: v, previous: null }));
    const seen = state.modelSeq;
    for (let v = 201; v <= 205; v++)
      state.observe(samplePromoted({ model: 'risk', version: v, previous: v - 1 }));
    assert.deepEqual(
      state.modelsSince(seen).map((e) => e.version),
      [201, 202, 203, 204, 205],
    );
    const kept = state.snapshot({ deadLetters: [], broker: null }).models;
    assert.equal(kept.length, 200);
    assert.equal(kept[0]?.seq, 6);
  });
});

describe('modelLine', () => {
  it("shows each model's training run at once: two runs in parallel, one ending leaves the other", () => {
    const state = new LoopState();
    const training = () => state.snapshot({ deadLetters: [], broker: null }).training;
    assert.equal(training(), 'idle');
    state.observe(sampleLaunched({ model: 'segment', jobName: 'train-segment-1' }));
    state.observe(sampleLaunched({ model: 'risk', jobName: 'train-risk-1' }));
    assert.equal(training(), 'segment: train-segment-1 running, risk: train-risk-1 running');
    state.observe(sampleTrained({ version: 2, metrics: { rocAuc: 0.9 } }));
    assert.equal(training(), 'segment: train-segment-1 running');
    state.observe(sampleFailed({ model: 'segment', reason: 'trainer exited with 1' }));
    assert.equal(training(), 'segment: failed');
  });

  it('marks and names the event, then model, version and detail', () => {
    const state = new LoopState();
    state.observe(samplePromoted({ model: 'risk', version: 2, previous: 1 }));
    const [event] = state.modelsSince(0);
    assert.ok(event);
    assert.equal(modelLine(event), '★ promoted: risk v2 — champion: v1 → v2');
  });
});
