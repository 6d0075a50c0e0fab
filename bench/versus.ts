// Benchmark: this checkout's featurize, score and detect-drift beside another checkout's (the code before a change),
// in one run: each round runs every benchmark in both checkouts, the order alternating between rounds, and the
// table gives each figure's median over the rounds.
// Run: npx tsx bench/versus.ts --before <checkout> [--rounds 3] [--seconds 4] [--only featurize,score,detect-drift]
// The other checkout needs its own node_modules (a link to this one's works when the dependencies are the same).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { machine } from './support/load.ts';

const { values: args } = parseArgs({
  options: {
    before: { type: 'string' },
    rounds: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '4' },
    timeout: { type: 'string', default: '900' },
    /** Comma-separated benchmark names (featurize, score, detect-drift); all by default. */
    only: { type: 'string' },
  },
});
if (!args.before) throw new Error('--before <another checkout> is required');
const BEFORE = path.resolve(args.before);
const AFTER = path.resolve(import.meta.dirname, '..');
const ROUNDS = Number(args.rounds);
const SECONDS = args.seconds;
for (const dir of [BEFORE, AFTER]) {
  if (!existsSync(path.join(dir, 'node_modules'))) throw new Error(`${dir} has no node_modules`);
}

/** One figure a benchmark prints: the table row it is on, its column, and which way is better. */
interface Figure {
  row: RegExp;
  column: string;
  better: 'higher' | 'lower';
}

/** Each benchmark: its script and arguments (the same in both checkouts) and the figures compared. */
const CASES: readonly { name: string; script: string; args: string[]; figures: Figure[] }[] = [
  {
    name: 'featurize',
    script: 'bench/ingest-featurize.ts',
    args: ['--ingest', 'off', '--seconds', SECONDS, '--warmup', '1', '--rounds', '1'],
    figures: [
      { row: /^featurize/, column: 'events/s', better: 'higher' },
      { row: /^featurize/, column: 'p99 ms', better: 'lower' },
    ],
  },
  {
    name: 'score',
    script: 'bench/score.ts',
    args: ['--mode', 'candidate', '--seconds', SECONDS, '--warmup', '1', '--rounds', '1'],
    figures: [
      { row: /customerId/, column: 'max req/s (median; rounds)', better: 'higher' },
      { row: /customerId/, column: 'paced p99 ms (median; rounds)', better: 'lower' },
      { row: /./, column: 'p50 µs', better: 'lower' },
    ],
  },
  {
    name: 'detect-drift',
    script: 'bench/detect-drift.ts',
    args: ['--transactions', '10000', '--naive', '1000'],
    figures: [{ row: /./, column: 'µs/event', better: 'lower' }],
  },
];

/** Every markdown table row of a benchmark's output as { column: cell }, with its first cell as `row`. */
function tables(stdout: string): { row: string; cells: Map<string, string> }[] {
  const out: { row: string; cells: Map<string, string> }[] = [];
  let header: string[] | undefined;
  for (const line of stdout.split('\n')) {
    if (!line.startsWith('|')) {
      header = undefined;
      continue;
    }
    const cells = line
      .slice(1, line.endsWith('|') ? -1 : undefined)
      .split('|')
      .map((c) => c.trim());
    if (header === undefined) header = cells;
    else if (!cells.every((c) => /^-*:?-+:?$/.test(c))) {
      const h = header;
      out.push({ row: cells[0] ?? '', cells: new Map(cells.map((c, i) => [h[i] ?? String(i), c])) });
    }
  }
  return out;
}

/** The first number of a cell ("2508 (2401–2610; 16 connections)" → 2508); NaN when there is none. */
function numberOf(cell: string): number {
  const m = /-?\d+(?:\.\d+)?/.exec(cell);
  return m ? Number(m[0]) : Number.NaN;
}

function run(dir: string, script: string, scriptArgs: string[]): string {
  const r = spawnSync('npx', ['tsx', script, ...scriptArgs], {
    cwd: dir,
    encoding: 'utf8',
    timeout: Number(args.timeout) * 1000,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`${script} in ${dir} exited ${r.status}: ${r.stderr.slice(-2000)}`);
  return r.stdout;
}

type Side = 'before' | 'after';
/** figure key → side → values over the rounds */
const values = new Map<string, { c: string; f: Figure; row: string; v: Record<Side, number[]> }>();
const started = Date.now();
for (let round = 0; round < ROUNDS; round++) {
  const order: [Side, string][] =
    round % 2 === 0
      ? [
          ['before', BEFORE],
          ['after', AFTER],
        ]
      : [
          ['after', AFTER],
          ['before', BEFORE],
        ];
  for (const c of CASES.filter((k) => args.only === undefined || args.only.split(',').includes(k.name))) {
    for (const [side, dir] of order) {
      process.stderr.write(`round ${round + 1}/${ROUNDS}: ${c.name} (${side})\n`);
      for (const t of tables(run(dir, c.script, c.args))) {
        for (const f of c.figures) {
          const cell = t.cells.get(f.column);
          if (!f.row.test(t.row) || cell === undefined) continue;
          const key = `${c.name}\u0000${t.row}\u0000${f.column}`;
          const entry = values.get(key) ?? { c: c.name, f, row: t.row, v: { before: [], after: [] } };
          entry.v[side].push(numberOf(cell));
          values.set(key, entry);
        }
      }
    }
  }
}

const median = (xs: number[]): number => {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const mid = s.length >> 1;
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};
const fmt = (x: number) => (Math.abs(x) >= 100 ? String(Math.round(x)) : x.toPrecision(3));

console.log('### featurize, score and detect-drift beside the code before\n');
console.log(
  `${machine()}. ${ROUNDS} rounds, each running every benchmark in both checkouts (the order alternating), ` +
    `${Math.round((Date.now() - started) / 1000)} s in all; before = ${BEFORE}. Cells: the median over the ` +
    'rounds (the rounds in brackets). "after ÷ before" is better above 1 for rates and below 1 for times.\n',
);
console.log('| benchmark | row | figure | before | after | after ÷ before |');
console.log('|---|---|---|---:|---:|---:|');
for (const e of values.values()) {
  const [b, a] = [median(e.v.before), median(e.v.after)];
  const rounds = (xs: number[]) => xs.map(fmt).join(', ');
  console.log(
    `| ${e.c} | ${e.row} | ${e.f.column} (${e.f.better} is better) | ${fmt(b)} (${rounds(e.v.before)}) | ` +
      `${fmt(a)} (${rounds(e.v.after)}) | ${(a / b).toFixed(2)} |`,
  );
}
