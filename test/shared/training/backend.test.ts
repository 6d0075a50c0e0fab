// Backend choice: the pure chooser over every probe combination, and the real probe on this machine.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { createLogger } from '../../../shared/runtime/logger.ts';
import {
  type BackendProbes,
  chooseBackend,
  loadTrainingBackend,
  parseBackendName,
} from '../../../shared/training/backend.ts';
import { gpuVisibility } from '../../../shared/training/backend-probe.ts';

const GPU = '@tensorflow/tfjs-node-gpu';
const NATIVE = '@tensorflow/tfjs-node';
const WASM = '@tensorflow/tfjs-backend-wasm';
const CPU = '@tensorflow/tfjs';

function probes(p: {
  gpuModule: boolean;
  gpuVisible: boolean;
  native: boolean;
  wasm: boolean;
}): BackendProbes {
  return {
    tfjsNodeGpu: p.gpuModule ? { available: true } : { available: false, reason: 'not installed' },
    gpu: p.gpuVisible
      ? { visible: true, detail: '1 NVIDIA device(s): 0000:01:00.0' }
      : { visible: false, detail: 'no NVIDIA device' },
    tfjsNode: p.native ? { available: true } : { available: false, reason: 'not installed' },
    wasm: p.wasm
      ? { available: true, simd: true, threads: false }
      : { available: false, reason: 'no WASM binaries' },
  };
}

// Every combination of the four probes, with the expected backend and the module that provides it.
const table: [
  gpuModule: boolean,
  gpuVisible: boolean,
  native: boolean,
  wasm: boolean,
  name: string,
  module: string,
][] = [
  [true, true, true, true, 'tensorflow-gpu', GPU],
  [true, true, true, false, 'tensorflow-gpu', GPU],
  [true, true, false, true, 'tensorflow-gpu', GPU],
  [true, true, false, false, 'tensorflow-gpu', GPU],
  [true, false, true, true, 'tensorflow', NATIVE],
  [true, false, true, false, 'tensorflow', NATIVE],
  [true, false, false, true, 'tensorflow', GPU],
  [true, false, false, false, 'tensorflow', GPU],
  [false, true, true, true, 'tensorflow', NATIVE],
  [false, true, true, false, 'tensorflow', NATIVE],
  [false, true, false, true, 'wasm', WASM],
  [false, true, false, false, 'cpu', CPU],
  [false, false, true, true, 'tensorflow', NATIVE],
  [false, false, true, false, 'tensorflow', NATIVE],
  [false, false, false, true, 'wasm', WASM],
  [false, false, false, false, 'cpu', CPU],
];

describe('chooseBackend', () => {
  for (const [gpuModule, gpuVisible, native, wasm, name, module] of table) {
    it(`picks ${name} via ${module} when gpu module=${gpuModule}, GPU visible=${gpuVisible}, tfjs-node=${native}, wasm=${wasm}`, () => {
      const choice = chooseBackend(probes({ gpuModule, gpuVisible, native, wasm }));
      assert.equal(choice.kind, 'chosen');
      assert.equal(choice.name, name);
      assert.equal(choice.kind === 'chosen' ? choice.module : '', module);
      assert.ok(choice.reason.length > 0);
    });
  }

  it('says in the reason why every better backend was passed over', () => {
    const choice = chooseBackend(probes({ gpuModule: false, gpuVisible: false, native: false, wasm: false }));
    assert.match(choice.reason, /tfjs-node-gpu: not installed/);
    assert.match(choice.reason, /tfjs-node: not installed/);
    assert.match(choice.reason, /tfjs-backend-wasm: no WASM binaries/);
    const noGpu = chooseBackend(probes({ gpuModule: true, gpuVisible: false, native: true, wasm: true }));
    assert.match(noGpu.reason, /no GPU visible/);
  });

  it('honours a forced backend when it is available, even over a better one', () => {
    const choice = chooseBackend({
      ...probes({ gpuModule: true, gpuVisible: true, native: true, wasm: true }),
      forced: 'cpu',
    });
    assert.deepEqual([choice.kind, choice.name], ['chosen', 'cpu']);
    assert.match(choice.reason, /forced/);
  });

  it('refuses a forced backend that is missing, with the reason', () => {
    const gpu = chooseBackend({
      ...probes({ gpuModule: true, gpuVisible: false, native: true, wasm: true }),
      forced: 'tensorflow-gpu',
    });
    assert.equal(gpu.kind, 'unavailable');
    assert.match(gpu.reason, /no GPU visible/);
    const wasm = chooseBackend({
      ...probes({ gpuModule: false, gpuVisible: false, native: false, wasm: false }),
      forced: 'wasm',
    });
    assert.deepEqual([wasm.kind, wasm.reason], ['unavailable', `${WASM}: no WASM binaries`]);
  });
});

describe('gpuVisibility and parseBackendName', () => {
  it('treats listed devices as visible unless CUDA_VISIBLE_DEVICES hides them', () => {
    assert.equal(gpuVisibility({ devices: ['0000:01:00.0'] }).visible, true);
    assert.equal(gpuVisibility({ devices: ['0000:01:00.0'], cudaVisibleDevices: '-1' }).visible, false);
    assert.equal(gpuVisibility({ devices: ['0000:01:00.0'], cudaVisibleDevices: '' }).visible, false);
    assert.equal(gpuVisibility({ devices: [] }).visible, false);
  });

  it('reads TRAINING_BACKEND values and rejects unknown ones', () => {
    assert.equal(parseBackendName('cpu'), 'cpu');
    assert.equal(parseBackendName(''), undefined);
    assert.equal(parseBackendName(undefined), undefined);
    assert.throws(() => parseBackendName('cuda'), /TRAINING_BACKEND must be one of/);
  });
});

function capture() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  return { lines, log: createLogger({ name: 'trainer', level: 'info', destination }) };
}

describe('loadTrainingBackend on this machine', () => {
  it('trains on wasm here (no native binding installed), or cpu if wasm failed to start, and logs why', async () => {
    const { lines, log } = capture();
    const { tf, backend, probes: found } = await loadTrainingBackend({ log });
    assert.equal(
      found.tfjsNodeGpu.available,
      false,
      'tfjs-node-gpu is not installed on development machines',
    );
    assert.equal(found.tfjsNode.available, false, 'tfjs-node is not installed on development machines');
    const expected = found.wasm.available ? 'wasm' : 'cpu';
    assert.equal(backend.name, expected);
    assert.equal(tf.getBackend(), expected);
    assert.match(backend.reason, /tfjs-node-gpu: not installed; @tensorflow\/tfjs-node: not installed/);
    assert.match(
      backend.reason,
      expected === 'wasm' ? /SIMD (on|off), threads off/ : /tfjs-backend-wasm: failed/,
    );
    const line = lines.find(
      (l) => typeof l.msg === 'string' && l.msg.includes('training on TensorFlow.js backend'),
    );
    assert.deepEqual((line?.backend as { name?: string } | undefined)?.name, expected);
    assert.deepEqual(
      tf.tidy(() => tf.matMul(tf.tensor2d([[1, 2]]), tf.tensor2d([[3], [4]])).arraySync()),
      [[11]],
    );
  });

  it('switches to the pure JavaScript backend when forced', async () => {
    const { log } = capture();
    const { tf, backend } = await loadTrainingBackend({ log, force: 'cpu' });
    assert.equal(backend.name, 'cpu');
    assert.equal(tf.getBackend(), 'cpu');
  });

  it('fails with the reason when a forced GPU backend is not installed', async () => {
    const { log } = capture();
    await assert.rejects(
      loadTrainingBackend({ log, force: 'tensorflow-gpu' }),
      /tensorflow-gpu is not available: .*not installed/,
    );
  });
});
