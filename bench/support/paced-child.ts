// The paced generator alone in its process (see runPacedApart): reads its spec as JSON on stdin, runs it, prints
// `PACED {result}`.
import { text } from 'node:stream/consumers';
import { type PacedApartSpec, runPaced } from './paced.ts';

const spec = JSON.parse(await text(process.stdin)) as PacedApartSpec;
const headers = { 'content-type': 'application/json' };
let i = Math.floor(Math.random() * spec.bodies.length);
const result = await runPaced({
  ...spec,
  next: () => ({ headers, body: spec.bodies[i++ % spec.bodies.length] ?? '' }),
});
process.stdout.write(`PACED ${JSON.stringify(result)}\n`);
