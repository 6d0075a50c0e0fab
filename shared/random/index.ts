// The project's one seeded pseudo-random generator (mulberry32): its whole state is one 32-bit integer, so it can
// live in serialised state (drift windows), and every seeded stream (training, the demo, tests) replays exactly.

export interface RandomStep {
  /** Uniform in [0, 1). */
  value: number;
  /** The generator state to pass to the next call. */
  state: number;
}

/**
 * One step of mulberry32: returns a uniform number and the next state. Pure, so anything that carries the integer
 * (a drift window's sample, seeded from the window's model, version and number) draws the same on any replica.
 */
export function nextRandom(state: number): RandomStep {
  const next = (state + 0x6d2b79f5) >>> 0;
  let t = next;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return { value: ((t ^ (t >>> 14)) >>> 0) / 4294967296, state: next };
}

/** A stateful stream over nextRandom: each call returns the next uniform in [0, 1); the same seed, the same numbers. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    const step = nextRandom(state);
    state = step.state;
    return step.value;
  };
}
