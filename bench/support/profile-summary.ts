// Summarises a V8 .cpuprofile (from node --cpu-prof): self time by function and by package or source folder.
// Run: npx tsx bench/support/profile-summary.ts <file.cpuprofile> [top]
import { readFileSync } from 'node:fs';
import { z } from 'zod';

const ProfileSchema = z.object({
  nodes: z.array(
    z.object({
      id: z.number(),
      callFrame: z.object({ functionName: z.string(), url: z.string(), lineNumber: z.number() }),
      children: z.array(z.number()).optional(),
    }),
  ),
  samples: z.array(z.number()),
  timeDeltas: z.array(z.number()),
});
type Profile = z.infer<typeof ProfileSchema>;

/** Where a script belongs: its npm package, its folder in this repository, or `node:` internals. */
export function bucketOf(url: string): string {
  if (url === '') return '(native / VM)';
  if (url.startsWith('node:')) return url.split('/')[0] ?? url;
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg?.[1]) return pkg[1];
  const repo = /\/((?:functions|shared|bench|local|test)\/[^/]+)/.exec(url);
  return repo?.[1] ?? url;
}

/** Self time in ms per function and per bucket, with the profile's total. */
export function summarise(profile: Profile): {
  totalMs: number;
  byFunction: [string, number][];
  byBucket: [string, number][];
} {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const fn = new Map<string, number>();
  const bucket = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const ms = (profile.timeDeltas[i] ?? 0) / 1000;
    const node = nodes.get(id);
    if (!node) return;
    const { functionName, url, lineNumber } = node.callFrame;
    const file = url.split('/').slice(-2).join('/');
    const name = `${functionName || '(anonymous)'} ${file ? `${file}:${lineNumber + 1}` : ''}`.trim();
    fn.set(name, (fn.get(name) ?? 0) + ms);
    bucket.set(bucketOf(url), (bucket.get(bucketOf(url)) ?? 0) + ms);
    total += ms;
  });
  const sorted = (m: Map<string, number>) => [...m.entries()].sort((a, b) => b[1] - a[1]);
  return { totalMs: total, byFunction: sorted(fn), byBucket: sorted(bucket) };
}

if (process.argv[1]?.endsWith('profile-summary.ts')) {
  const file = process.argv[2];
  if (!file) throw new Error('usage: profile-summary.ts <file.cpuprofile> [top]');
  const top = Number(process.argv[3] ?? '25');
  const s = summarise(ProfileSchema.parse(JSON.parse(readFileSync(file, 'utf8'))));
  const pct = (ms: number) => `${((100 * ms) / s.totalMs).toFixed(1)}%`;
  console.log(`total ${s.totalMs.toFixed(0)} ms sampled\n\n| bucket | self ms | share |\n|---|---:|---:|`);
  for (const [k, v] of s.byBucket.slice(0, top)) console.log(`| ${k} | ${v.toFixed(0)} | ${pct(v)} |`);
  console.log('\n| function | self ms | share |\n|---|---:|---:|');
  for (const [k, v] of s.byFunction.slice(0, top)) console.log(`| ${k} | ${v.toFixed(0)} | ${pct(v)} |`);
}
