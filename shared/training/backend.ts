// Picks the TensorFlow.js backend for training: native GPU, native CPU, WASM, then pure JS, with the reason kept.
import { z } from 'zod';
import type { Logger } from '../runtime/logger.ts';
import {
  type ModuleProbe,
  probeGpu,
  probeModule,
  probeWasm,
  type Tf,
  type WasmProbe,
  WASM_MODULE,
  initTf,
} from './backend-probe.ts';

export type { ModuleProbe, Tf, WasmProbe };

/** The four backends, best first. `tensorflow*` are libtensorflow bindings; `wasm` and `cpu` run anywhere. */
export const BackendNameSchema = z.enum(['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu']);
export type BackendName = z.infer<typeof BackendNameSchema>;

/** Which npm module provides each kind of backend. */
export const BackendModules = {
  gpu: '@tensorflow/tfjs-node-gpu',
  native: '@tensorflow/tfjs-node',
  wasm: WASM_MODULE,
  cpu: '@tensorflow/tfjs',
} as const;
type BackendModule = (typeof BackendModules)[keyof typeof BackendModules];

/** What was found on this machine: the input of {@link chooseBackend}. */
export type BackendProbes = {
  forced?: BackendName;
  tfjsNodeGpu: ModuleProbe;
  gpu: { visible: boolean; detail: string };
  tfjsNode: ModuleProbe;
  wasm: WasmProbe;
};

/** The decision: a backend and the module that provides it, or why a forced backend cannot be had. */
export type BackendChoice =
  | { kind: 'chosen'; name: BackendName; module: BackendModule; reason: string }
  | { kind: 'unavailable'; name: BackendName; reason: string };

const why = (probe: ModuleProbe | WasmProbe): string => (probe.available ? 'available' : probe.reason);

function wasmReason(probe: Extract<WasmProbe, { available: true }>): string {
  return `SIMD ${probe.simd ? 'on' : 'off'}, threads ${probe.threads ? 'on' : 'off'}`;
}

function forcedChoice(name: BackendName, p: BackendProbes): BackendChoice {
  const forced = `forced (${name})`;
  switch (name) {
    case 'tensorflow-gpu':
      if (!p.tfjsNodeGpu.available)
        return { kind: 'unavailable', name, reason: `${BackendModules.gpu}: ${p.tfjsNodeGpu.reason}` };
      if (!p.gpu.visible) return { kind: 'unavailable', name, reason: `no GPU visible: ${p.gpu.detail}` };
      return { kind: 'chosen', name, module: BackendModules.gpu, reason: `${forced}; GPU: ${p.gpu.detail}` };
    case 'tensorflow':
      if (p.tfjsNode.available)
        return { kind: 'chosen', name, module: BackendModules.native, reason: forced };
      if (p.tfjsNodeGpu.available) {
        return {
          kind: 'chosen',
          name,
          module: BackendModules.gpu,
          reason: `${forced}; CPU kernels of ${BackendModules.gpu}`,
        };
      }
      return { kind: 'unavailable', name, reason: `${BackendModules.native}: ${p.tfjsNode.reason}` };
    case 'wasm':
      if (!p.wasm.available)
        return { kind: 'unavailable', name, reason: `${BackendModules.wasm}: ${p.wasm.reason}` };
      return {
        kind: 'chosen',
        name,
        module: BackendModules.wasm,
        reason: `${forced}; ${wasmReason(p.wasm)}`,
      };
    case 'cpu':
      return {
        kind: 'chosen',
        name,
        module: BackendModules.cpu,
        reason: `${forced}; pure JavaScript kernels`,
      };
  }
}

/**
 * Pure decision over probe results, so every combination is testable on a machine without a GPU.
 * Order: native GPU (module + visible GPU), native CPU (tfjs-node, or tfjs-node-gpu without a GPU), WASM, pure JS.
 */
export function chooseBackend(probes: BackendProbes): BackendChoice {
  if (probes.forced !== undefined) return forcedChoice(probes.forced, probes);
  const gpuModule = probes.tfjsNodeGpu.available;
  if (gpuModule && probes.gpu.visible) {
    return {
      kind: 'chosen',
      name: 'tensorflow-gpu',
      module: BackendModules.gpu,
      reason: `${BackendModules.gpu} loaded and a GPU is visible (${probes.gpu.detail})`,
    };
  }
  const noGpu = gpuModule
    ? `no GPU visible (${probes.gpu.detail})`
    : `${BackendModules.gpu}: ${why(probes.tfjsNodeGpu)}`;
  if (probes.tfjsNode.available) {
    return {
      kind: 'chosen',
      name: 'tensorflow',
      module: BackendModules.native,
      reason: `native CPU kernels; ${noGpu}`,
    };
  }
  if (gpuModule) {
    return {
      kind: 'chosen',
      name: 'tensorflow',
      module: BackendModules.gpu,
      reason: `CPU kernels of ${BackendModules.gpu}; ${noGpu}`,
    };
  }
  const noNative = `${noGpu}; ${BackendModules.native}: ${why(probes.tfjsNode)}`;
  if (probes.wasm.available) {
    return {
      kind: 'chosen',
      name: 'wasm',
      module: BackendModules.wasm,
      reason: `${wasmReason(probes.wasm)}; ${noNative}`,
    };
  }
  return {
    kind: 'chosen',
    name: 'cpu',
    module: BackendModules.cpu,
    reason: `pure JavaScript kernels; ${noNative}; ${BackendModules.wasm}: ${why(probes.wasm)}`,
  };
}

/** Reads a backend name from configuration (for example `TRAINING_BACKEND`); empty means "choose". */
export function parseBackendName(value: string | undefined): BackendName | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const parsed = BackendNameSchema.safeParse(value.trim());
  if (!parsed.success) {
    throw new Error(
      `TRAINING_BACKEND must be one of ${BackendNameSchema.options.join(', ')}; got "${value}"`,
    );
  }
  return parsed.data;
}

/** The chosen backend as the trainer reports it (goes into the model's lineage). */
export type TrainingBackend = { name: BackendName; module: string; reason: string };

/**
 * Probes this machine, chooses, and initialises TensorFlow.js on the choice. When the chosen backend fails to
 * initialise, that probe is marked failed and the choice is made again, so the reason always tells the truth.
 * `cudaVisibleDevices` is the caller's CUDA_VISIBLE_DEVICES (configuration is read by the caller, not here).
 */
export async function loadTrainingBackend(opts: {
  log: Pick<Logger, 'info' | 'warn'>;
  force?: BackendName;
  cudaVisibleDevices?: string;
}): Promise<{ tf: Tf; backend: TrainingBackend; probes: BackendProbes }> {
  const probes: BackendProbes = {
    ...(opts.force !== undefined ? { forced: opts.force } : {}),
    tfjsNodeGpu: probeModule(BackendModules.gpu),
    gpu: probeGpu(opts.cudaVisibleDevices),
    tfjsNode: probeModule(BackendModules.native),
    wasm: await probeWasm(),
  };
  for (let attempt = 0; attempt < 4; attempt++) {
    const choice = chooseBackend(probes);
    if (choice.kind === 'unavailable') {
      throw new Error(`training backend ${choice.name} is not available: ${choice.reason}`);
    }
    const init = await initTf({ name: choice.name, module: choice.module });
    if (init.ok) {
      const reason = choice.name === 'wasm' ? `${choice.reason}${init.detail}` : choice.reason;
      const backend: TrainingBackend = { name: choice.name, module: choice.module, reason };
      opts.log.info({ backend }, `training on TensorFlow.js backend ${backend.name}`);
      return { tf: init.tf, backend, probes };
    }
    opts.log.warn(
      { backend: choice.name, err: init.reason },
      'training backend failed to initialise; choosing again',
    );
    const failed: ModuleProbe = { available: false, reason: `failed to initialise: ${init.reason}` };
    if (choice.module === BackendModules.gpu) probes.tfjsNodeGpu = failed;
    else if (choice.module === BackendModules.native) probes.tfjsNode = failed;
    else if (choice.module === BackendModules.wasm) probes.wasm = failed;
    else throw new Error(`the pure JavaScript backend failed to initialise: ${init.reason}`);
  }
  throw new Error('no TensorFlow.js backend could be initialised');
}
