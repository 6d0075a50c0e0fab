// `flywheel backfill` arguments, exit codes and progress lines: usage errors exit 2 before anything is touched.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseBackfillArgs } from '../../../shared/backfill/args.ts';
import type { BackfillProgress } from '../../../shared/backfill/backfill.ts';
import { BACKFILL_EXIT_RETRIABLE, runBackfillCli } from '../../../shared/backfill/cli.ts';
import { formatDuration, formatProgress, progressReporter } from '../../../shared/backfill/progress.ts';
import { customerFeatures, defineFeatureSet } from '../../../shared/features/index.ts';
import { freePort } from '../../support/ports.ts';

const SETS = [customerFeatures];
const RANGE = ['--from', '2026-10-01T00:00:00Z', '--to', '2026-10-02'];

function usage(argv: string[]): string {
  const parsed = parseBackfillArgs(argv, SETS);
  assert.equal(parsed.kind, 'usage', JSON.stringify(parsed));
  return parsed.kind === 'usage' ? parsed.message : '';
}

describe('backfill arguments', () => {
  it('reads the range as ISO-8601 (a date alone is midnight UTC) and defaults to the code’s feature set', () => {
    assert.deepEqual(parseBackfillArgs(RANGE, SETS), {
      kind: 'run',
      range: { from: Date.UTC(2026, 9, 1), to: Date.UTC(2026, 9, 2) },
      featureSet: customerFeatures,
      resume: false,
      restart: false,
      chunkSize: 500,
    });
    const run = parseBackfillArgs(
      [...RANGE, '--feature-set', customerFeatures.version, '--resume', '--chunk', '50'],
      SETS,
    );
    assert.equal(run.kind === 'run' && run.resume && run.chunkSize, 50);
    assert.deepEqual(parseBackfillArgs(['--help'], SETS), { kind: 'help' });
  });

  it('refuses a feature-set version the code does not define, naming the known one', () => {
    const other = defineFeatureSet({ ...customerFeatures, maxEvents: 10 });
    assert.equal(
      usage([...RANGE, '--feature-set', other.version]),
      `unknown feature-set version ${other.version}: this code defines customer_transactions version ${customerFeatures.version}`,
    );
  });

  const bad: [string, string[], RegExp][] = [
    ['no range', [], /--from and --to are required/],
    ['no --to', ['--from', '2026-10-01'], /--from and --to are required/],
    [
      'a time that is not ISO',
      ['--from', 'yesterday', '--to', '2026-10-02'],
      /--from is not an ISO-8601 time: yesterday/,
    ],
    ['an impossible date', ['--from', '2026-10-01', '--to', '2026-13-45'], /--to is not an ISO-8601 time/],
    ['an empty range', ['--from', '2026-10-02', '--to', '2026-10-02'], /--from must be before --to/],
    ['both --resume and --restart', [...RANGE, '--resume', '--restart'], /exclude each other/],
    ['a chunk of 0', [...RANGE, '--chunk', '0'], /--chunk must be a positive integer, got 0/],
    ['an unknown option', [...RANGE, '--fast'], /Unknown option '--fast'/],
    ['a positional argument', [...RANGE, 'extra'], /positional/],
  ];
  for (const [what, argv, message] of bad) {
    it(`is a usage error: ${what}`, () => assert.match(usage(argv), message));
  }
});

describe('backfill exit codes', () => {
  const run = async (argv: string[], env: Record<string, string>) => {
    const lines: string[] = [];
    const code = await runBackfillCli(argv, {
      env,
      out: (l) => lines.push(l),
      err: { write: (t: string) => lines.push(t) },
    });
    return { code, text: lines.join('') };
  };

  it('exits 0 with the usage for --help and 2 with the usage line and the error for a bad argument', async () => {
    const help = await run(['--help'], {});
    assert.equal(help.code, 0);
    assert.match(help.text, /^usage: flywheel backfill --from ISO --to ISO/);
    const bad = await run(['--from', 'x'], {});
    assert.equal(bad.code, 2);
    assert.match(bad.text, /^usage: flywheel backfill .*\nerror: --from and --to are required\n$/);
  });

  it('exits 2 without REDIS_URL or with a bad variable, and 75 when Redis does not answer', async () => {
    const none = await run(RANGE, {});
    assert.equal(none.code, 2);
    assert.match(none.text, /REDIS_URL is not set/);
    const badEnv = await run(RANGE, { REDIS_URL: 'redis://127.0.0.1:1', ALLOWED_LATENESS_MS: 'soon' });
    assert.equal(badEnv.code, 2);
    assert.match(badEnv.text, /ALLOWED_LATENESS_MS/);
    const down = await run(RANGE, {
      REDIS_URL: `redis://127.0.0.1:${await freePort()}`,
      LOG_LEVEL: 'silent',
    });
    assert.equal(down.code, BACKFILL_EXIT_RETRIABLE);
    assert.match(down.text, /error: the online store \(REDIS_URL\) does not answer/);
  });
});

describe('backfill progress', () => {
  const progress = (scanned: number, applied: number): BackfillProgress => ({
    scanned,
    total: 1000,
    chunks: 1,
    counts: { read: scanned, applied, duplicates: 50, invalid: 0 },
    resumed: false,
  });

  it('shows share, counts, events/s and the time left at the rate records are scanned', () => {
    assert.equal(
      formatProgress(progress(250, 150), 10_000),
      '25.0% 250/1000 records | 150 applied, 50 duplicates | 20 events/s | ETA 0:30',
    );
    assert.equal(
      formatProgress(progress(500, 450), 2_000, 10),
      '[#####.....] 50.0% 500/1000 records | 450 applied, 50 duplicates | 250 events/s | ETA 0:02',
    );
    assert.deepEqual(
      [formatDuration(3_723_000), formatDuration(65_000), formatDuration(null)],
      ['1:02:03', '1:05', '?'],
    );
  });

  it('redraws one line on a terminal and prints plain lines at most every lineMs otherwise', () => {
    let t = 0;
    const written: string[] = [];
    const plain = progressReporter({
      stream: { write: (s: string) => written.push(s) },
      now: () => t,
      lineMs: 5000,
    });
    plain.update(progress(100, 50));
    t = 1000;
    plain.update(progress(200, 150));
    t = 6000;
    plain.update(progress(300, 250));
    plain.finish(progress(1000, 950));
    assert.equal(written.length, 3);
    assert.ok(written.every((w) => w.endsWith('\n') && !w.includes('\r')));
    assert.match(written[2] ?? '', /^100\.0% 1000\/1000/);

    const tty: string[] = [];
    const bar = progressReporter({
      stream: { write: (s: string) => tty.push(s), isTTY: true, columns: 120 },
      now: () => t,
    });
    bar.update(progress(500, 450));
    bar.finish(progress(1000, 950));
    const CLEAR = '\r\u001b[2K'; // carriage return, erase the line
    assert.ok(tty[0]?.startsWith(CLEAR), JSON.stringify(tty[0]));
    assert.match(tty[0]?.slice(CLEAR.length) ?? '', /^\[#+\.+\] 50\.0%/);
    assert.ok(tty[1]?.startsWith(CLEAR));
    assert.match(tty[1]?.slice(CLEAR.length) ?? '', /^\[#+\] 100\.0%.*\n$/);
  });
});
