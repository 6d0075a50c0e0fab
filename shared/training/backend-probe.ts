// What this machine offers TensorFlow.js (modules, GPU devices, WASM features), and initialising the choice.
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type * as TfNamespace from '@tensorflow/tfjs';

/** The TensorFlow.js namespace, whichever package provided it (tfjs-node re-exports the same API). */
export type Tf = typeof TfNamespace;

export type ModuleProbe = { available: true } | { available: false; reason: string };
export type WasmProbe =
  | { available: true; simd: boolean; threads: boolean }
  | { available: false; reason: string };

export const WASM_MODULE = '@tensorflow/tfjs-backend-wasm';
const require = createRequire(import.meta.url);

/** Whether `spec` can be resolved from here (installed), without loading it: loading a native binding is costly. */
export function probeModule(spec: string): ModuleProbe {
  try {
    require.resolve(spec);
    return { available: true };
  } catch (err) {
    const code = err instanceof Error && 'code' in err ? String(err.code) : 'unknown';
    return {
      available: false,
      reason: code === 'MODULE_NOT_FOUND' ? 'not installed' : `cannot resolve (${code})`,
    };
  }
}

/**
 * Pure rule for "a GPU is visible to CUDA": the driver lists devices and CUDA_VISIBLE_DEVICES does not hide them
 * (an empty value or -1 hides all, as in CUDA's own convention).
 */
export function gpuVisibility(opts: {
  devices: readonly string[];
  cudaVisibleDevices?: string | undefined;
}): {
  visible: boolean;
  detail: string;
} {
  const cvd = opts.cudaVisibleDevices;
  if (cvd !== undefined && (cvd.trim() === '' || cvd.trim() === '-1')) {
    return { visible: false, detail: `CUDA_VISIBLE_DEVICES="${cvd}" hides every GPU` };
  }
  if (opts.devices.length === 0)
    return { visible: false, detail: 'no NVIDIA device found in /proc/driver/nvidia/gpus or /dev' };
  const shown = cvd === undefined ? '' : `, CUDA_VISIBLE_DEVICES=${cvd}`;
  return {
    visible: true,
    detail: `${opts.devices.length} NVIDIA device(s): ${opts.devices.join(', ')}${shown}`,
  };
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** Looks for NVIDIA devices the way the driver exposes them, then applies {@link gpuVisibility}. */
export function probeGpu(cudaVisibleDevices: string | undefined): { visible: boolean; detail: string } {
  const procGpus = listDir('/proc/driver/nvidia/gpus');
  const devices = procGpus.length > 0 ? procGpus : listDir('/dev').filter((d) => /^nvidia\d+$/.test(d));
  return gpuVisibility({ devices, cudaVisibleDevices });
}

/** Fixed-width SIMD test program (the same bytes tfjs-backend-wasm validates). */
const SIMD_PROGRAM = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 3, 2, 1, 0, 10, 9, 1, 7, 0, 65, 0, 253, 15, 26, 11,
]);

/** The WASM backend: installed, its binaries present, SIMD validated. Threads stay off in Node (tfjs#3830). */
export async function probeWasm(): Promise<WasmProbe> {
  const installed = probeModule(WASM_MODULE);
  if (!installed.available) return installed;
  const dir = wasmDir();
  const files = listDir(dir).filter((f) => f.endsWith('.wasm'));
  if (!files.includes('tfjs-backend-wasm.wasm'))
    return { available: false, reason: `no WASM binaries in ${dir}` };
  let simd = false;
  try {
    simd = WebAssembly.validate(SIMD_PROGRAM);
  } catch {
    simd = false;
  }
  return { available: true, simd, threads: false };
}

function wasmDir(): string {
  return path.dirname(require.resolve(`${WASM_MODULE}/dist/tfjs-backend-wasm.wasm`));
}

function isTf(mod: unknown): mod is Tf {
  return (
    typeof mod === 'object' &&
    mod !== null &&
    'setBackend' in mod &&
    typeof mod.setBackend === 'function' &&
    'sequential' in mod
  );
}

async function importTf(spec: string): Promise<Tf> {
  const mod: unknown = await import(spec);
  const candidate =
    typeof mod === 'object' && mod !== null && 'default' in mod && !isTf(mod) ? mod.default : mod;
  if (!isTf(candidate)) throw new Error(`${spec} does not export the TensorFlow.js API`);
  return candidate;
}

/** Loads the module behind a choice and makes its backend the active one; failures come back as values. */
export async function initTf(opts: {
  name: 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';
  module: string;
}): Promise<{ ok: true; tf: Tf; detail: string } | { ok: false; reason: string }> {
  try {
    if (opts.name === 'tensorflow-gpu' || opts.name === 'tensorflow') {
      const tf = await importTf(opts.module);
      if (!(await tf.setBackend('tensorflow')))
        return { ok: false, reason: 'setBackend("tensorflow") returned false' };
      tf.enableProdMode();
      return { ok: true, tf, detail: '' };
    }
    const tf = await importTf('@tensorflow/tfjs');
    let detail = '';
    if (opts.name === 'wasm') {
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      wasm.setWasmPaths(`${wasmDir()}${path.sep}`);
      if (!(await tf.setBackend('wasm'))) return { ok: false, reason: 'setBackend("wasm") returned false' };
      const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
      const threads = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
      detail = `; binary: ${simd ? 'simd' : 'plain'}${threads ? '+threads' : ''}`;
    } else if (!(await tf.setBackend('cpu'))) {
      return { ok: false, reason: 'setBackend("cpu") returned false' };
    }
    await tf.ready();
    tf.enableProdMode();
    return { ok: true, tf, detail };
  } catch (err) {
    return { ok: false, reason: err instanceof Error ? err.message : String(err) };
  }
}
