// The MLP's variables and forward pass in TensorFlow.js, initialised from a seeded RNG (Glorot uniform, zero bias).
import type { Rank, Tensor, Variable } from '@tensorflow/tfjs';
import type { Tf } from './backend-probe.ts';
import type { Rng } from './random.ts';

/** Kernels are [in, out]; hidden layers use ReLU, the last layer returns logits. */
export type Mlp = {
  kernels: Variable<Rank.R2>[];
  biases: Variable<Rank.R1>[];
  variables: Variable[];
};

/**
 * Creates the variables for layer sizes `[input, ...hidden, output]`. Glorot-uniform values come from `rng`, not
 * from TensorFlow.js' own seeding, so the starting point is identical on every backend.
 */
export function createMlp(opts: { tf: Tf; sizes: readonly number[]; rng: Rng }): Mlp {
  const { tf, sizes, rng } = opts;
  const kernels: Variable<Rank.R2>[] = [];
  const biases: Variable<Rank.R1>[] = [];
  for (let l = 0; l + 1 < sizes.length; l++) {
    const fanIn = sizes[l] ?? 1;
    const fanOut = sizes[l + 1] ?? 1;
    const limit = Math.sqrt(6 / (fanIn + fanOut));
    const values = new Float32Array(fanIn * fanOut);
    for (let i = 0; i < values.length; i++) values[i] = (rng.next() * 2 - 1) * limit;
    kernels.push(tf.variable(tf.tensor2d(values, [fanIn, fanOut]), true, `dense${l}/kernel`));
    biases.push(tf.variable(tf.zeros([fanOut]), true, `dense${l}/bias`));
  }
  return { kernels, biases, variables: [...kernels, ...biases] };
}

/** Logits of the MLP for an already-scaled batch `x` [n, input] → [n, 1]. */
export function mlpLogits(opts: { tf: Tf; mlp: Mlp; x: Tensor }): Tensor {
  const { tf, mlp, x } = opts;
  let h = x;
  mlp.kernels.forEach((kernel, l) => {
    const bias = mlp.biases[l];
    const z = tf.matMul(h, kernel);
    const biased = bias ? tf.add(z, bias) : z;
    h = l < mlp.kernels.length - 1 ? tf.relu(biased) : biased;
  });
  return h;
}
