// README.md's own-data walk-through, run as written: the commands between its marker comments, in order, each with
// the exit status its comment states (0 otherwise), on a free port block and a temp data directory.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { defaultConfig } from '../../shared/config/index.ts';
import { freeBlock } from '../support/ports.ts';
import { ROOT } from '../shared/send/support.ts';
import { type Started, startProcess } from './support/start-process.ts';

/** The marker comments around the walk-through in README.md. */
export const WALKTHROUGH_START = '<!-- own-data walkthrough -->';
export const WALKTHROUGH_END = '<!-- /own-data walkthrough -->';

interface Step {
  command: string;
  comment: string;
}

/** The shell lines of the ```sh blocks between the markers, each split from its trailing `# comment`. */
export function walkthroughSteps(readme: string): Step[] {
  const start = readme.indexOf(WALKTHROUGH_START);
  const end = readme.indexOf(WALKTHROUGH_END);
  assert.ok(start >= 0 && end > start, `README.md has no ${WALKTHROUGH_START} … ${WALKTHROUGH_END} section`);
  const section = readme.slice(start, end);
  const steps: Step[] = [];
  for (const block of section.matchAll(/```sh\n([\s\S]*?)```/g)) {
    for (const line of (block[1] ?? '').split('\n')) {
      if (line.trim() === '') continue;
      const m = /^(.*?)\s+#\s(.*)$/.exec(line);
      steps.push({ command: (m?.[1] ?? line).trim(), comment: m?.[2] ?? '' });
    }
  }
  return steps;
}

/** Runs a shell command line to its end: exit status and output. */
function sh(command: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', command], { cwd: ROOT, env });
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      out += c.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out }));
  });
}

describe("README.md's walk-through from CSV files to scores", () => {
  let loop: Started | undefined;
  let dir: string | undefined;
  after(async () => {
    await loop?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('runs every command as written, each ending as the README says, and ends with scores from both models', async () => {
    const steps = walkthroughSteps(await readFile(path.join(ROOT, 'README.md'), 'utf8'));
    assert.ok(steps.length >= 6, `${steps.length} commands`);
    assert.match(steps[0]?.command ?? '', /^npm start -- --no-demo\b/);
    const base = await freeBlock();
    const defaultBase = defaultConfig().FLYWHEEL_PORT_BASE;
    dir = await mkdtemp(path.join(tmpdir(), 'flywheel-walkthrough-'));
    // the same commands on a free port block (FLYWHEEL_PORT_BASE, and the ports the README spells out), the CPU
    // trainer backend (no probe), and a temp data directory for npm start
    const env = { ...process.env, FLYWHEEL_PORT_BASE: String(base), TRAINING_BACKEND: 'cpu' };
    const onFreePorts = (command: string) =>
      command.replace(/127\.0\.0\.1:(\d+)/g, (_, p: string) => `127.0.0.1:${Number(p) - defaultBase + base}`);
    let last = '';
    for (const [i, step] of steps.entries()) {
      const command = onFreePorts(step.command);
      if (i === 0) {
        loop = startProcess('bash', ['-c', `exec ${command} --data-dir ${dir}`], { cwd: ROOT, env });
        await loop.waitFor(/waiting for events/, 90_000);
        continue;
      }
      const { code, out } = await sh(command, env);
      const expected = Number(/exit (\d)/.exec(step.comment)?.[1] ?? 0);
      assert.equal(code, expected, `${step.command}\n${out}`);
      const named = /lines? ((?:\d+(?:, | and )?)+)/.exec(step.comment)?.[1] ?? '';
      for (const n of named.match(/\d+/g) ?? [])
        assert.match(out, new RegExp(`line ${n}: rejected`), `${step.command}: line ${n} reported`);
      last = out;
    }
    const answer = JSON.parse(last) as {
      results?: { model?: { version?: number }; segmentModel?: { version?: number } }[];
    };
    assert.equal(answer.results?.[0]?.model?.version, 1, last);
    assert.equal(answer.results?.[0]?.segmentModel?.version, 1, last);
    // Ctrl-C's signal reaches the whole process group (npm, tsx, the loop): the loop stops cleanly
    await loop?.stop();
    assert.match(loop?.output() ?? '', /stopped\./);
  });
});
