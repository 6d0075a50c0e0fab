// A uniform sample without replacement from values given as counts, in one pass over the distinct values.

/**
 * Draws `size` of the `n` observations in `entries` (distinct values with their counts, `n` the counts' total)
 * without replacement, each subset equally likely, and returns their values in the entries' order. Floyd's
 * algorithm picks `size` distinct positions in [0, n) with exactly `size` draws of `random`; the positions are then
 * read off the running counts, so the cost does not grow with n. `size ≥ n` returns every observation.
 */
export function drawSample(input: {
  entries: readonly (readonly [number, number])[];
  n: number;
  size: number;
  random: () => number;
}): number[] {
  const { entries, n, size, random } = input;
  const sample: number[] = [];
  if (size >= n) {
    for (const [x, c] of entries) for (let i = 0; i < c; i++) sample.push(x);
    return sample;
  }
  const picked = new Set<number>();
  for (let j = n - size; j < n; j++) {
    const t = Math.floor(random() * (j + 1));
    picked.add(picked.has(t) ? j : t);
  }
  const positions = [...picked].sort((a, b) => a - b);
  let next = 0;
  let end = 0;
  for (const [x, c] of entries) {
    end += c;
    while (next < positions.length && (positions[next] ?? end) < end) {
      sample.push(x);
      next++;
    }
  }
  return sample;
}
