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

/** The marker comments around the walk-through in README.md, and around the commands that operate the loop after it. */
export const WALKTHROUGH_START = '<!-- own-data walkthrough -->';
export const WALKTHROUGH_END = '<!-- /own-data walkthrough -->';
const OPERATING_START = '<!-- operating walkthrough -->';
const OPERATING_END = '<!-- /operating walkthrough -->';

interface Step {
  command: string;
  comment: string;
}

/** The shell lines of the ```sh blocks between the markers, each split from its trailing `# comment`. */
export function walkthroughSteps(readme: string, open = WALKTHROUGH_START, close = WALKTHROUGH_END): Step[] {
  const start = readme.indexOf(open);
  const end = readme.indexOf(close);
  assert.ok(start >= 0 && end > start, `README.md has no ${open} … ${close} section`);
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

  it('runs every command as written, each ending as the README says, and ends with scores from both models; then operates the loop with the CLI as "Operating the loop" shows', async () => {
    const readme = await readFile(path.join(ROOT, 'README.md'), 'utf8');
    const steps = walkthroughSteps(readme);
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

    // "Operating the loop": the CLI against this loop. Its URL and data dir are given, since other tests may start
    // loops of their own that point .flywheel/current.json elsewhere meanwhile.
    const operating = walkthroughSteps(readme, OPERATING_START, OPERATING_END);
    assert.ok(operating.length >= 5, `${operating.length} operating commands`);
    const cliEnv = { ...env, FLYWHEEL_URL: `http://127.0.0.1:${base + 6}`, FLYWHEEL_DATA_DIR: dir };
    const outputs: string[] = [];
    for (const step of operating) {
      const { code, out } = await sh(onFreePorts(step.command), cliEnv);
      const expected = Number(/exit (\d)/.exec(step.comment)?.[1] ?? 0);
      assert.equal(code, expected, `${step.command}\n${out}`);
      outputs.push(out.replace(/^npm warn .*\n/gm, '')); // npx's own warnings share the stream
    }
    assert.match(outputs[0] ?? '', /^risk\s+v1\s/m, 'status names risk v1 as champion');
    assert.match(outputs[0] ?? '', /^segment\s+v1\s/m, 'status names segment v1 as champion');
    const listed = JSON.parse(
      outputs[operating.findIndex((s) => s.command.includes('--json'))] ?? '',
    ) as unknown;
    assert.match(
      JSON.stringify(listed),
      /"aliases":\["champion","challenger"\]/,
      'the challenger moved to v1',
    );
    // Ctrl-C's signal reaches the whole process group (npm, tsx, the loop): the loop stops cleanly
    await loop?.stop();
    assert.match(loop?.output() ?? '', /stopped\./);
  });
});
