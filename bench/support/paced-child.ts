// The paced generator alone in its process (see runPacedApart): reads its spec from the JSON file named on the
// command line, runs it, prints `PACED {result}`.
import { readFileSync } from 'node:fs';
import { type PacedApartSpec, runPaced } from './paced.ts';

const file = process.argv[2];
if (!file) throw new Error('usage: paced-child.ts <spec.json>');
const spec = JSON.parse(readFileSync(file, 'utf8')) as PacedApartSpec;
const headers = { 'content-type': 'application/json' };
let i = Math.floor(Math.random() * spec.bodies.length);
const result = await runPaced({
  ...spec,
  next: () => ({ headers, body: spec.bodies[i++ % spec.bodies.length] ?? '' }),
});
process.stdout.write(`PACED ${JSON.stringify(result)}\n`);
