// Normal and Poisson draws from a seeded uniform source, so generated test data is the same on every run.

/**
 * Standard normal (Box–Muller, two uniforms per draw) and Poisson (Knuth's product of uniforms) draws on `random`,
 * which must return values in [0, 1).
 */
export function seededDraws(random: () => number): {
  normal: (mean?: number, sd?: number) => number;
  poisson: (lambda: number) => number;
} {
  return {
    normal: (mean = 0, sd = 1) =>
      mean + sd * Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random()),
    poisson: (lambda) => {
      let k = 0;
      let p = random();
      while (p > Math.exp(-lambda)) {
        p *= random();
        k++;
      }
      return k;
    },
  };
}
