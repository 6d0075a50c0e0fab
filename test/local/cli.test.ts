// `flywheel models` and `flywheel status` against the local loop running in this process: found through the pointer
// and tokens file the loop writes, human and JSON output, and the exit codes scripts rely on.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { type Loop, PORT_OFFSETS, startLoop } from '../../local/loop.ts';
import { loadConfig } from '../../shared/config/index.ts';
import {
  HistoryViewSchema,
  MoveAnswerSchema,
  StatusViewSchema,
  VersionViewSchema,
} from '../../shared/registry/api.ts';
import { EXIT, runModelsCli, runStatusCli } from '../../shared/registry/cli.ts';
import {
  LOOP_PROMOTE_OFFSET,
  LoopAccessSchema,
  loopAccess,
  writeLoopPointer,
} from '../../shared/registry/local-access.ts';
import { createLogger } from '../../shared/runtime/index.ts';
import { lineage, riskOnnx, segmentOnnx } from '../support/models.ts';
import { freeBlock, freePorts } from '../support/ports.ts';

const run = promisify(execFile);
const BIN = path.resolve('bin/flywheel.js');

describe('flywheel models and status against the running local loop', () => {
  let loop: Loop;
  let cwd: string;
  /** Another directory: no pointer, no tokens file, only what the flags and environment say. */
  let elsewhere: string;
  const defaults = loadConfig({});

  /** Runs a command in-process in `dir` (default: where the loop's pointer is), with the default configuration. */
  const cli = async (
    args: string[],
    opts: { dir?: string; env?: Record<string, string>; status?: boolean } = {},
  ) => {
    const out: string[] = [];
    const err: string[] = [];
    const io = {
      out: (l: string) => out.push(l),
      err: (l: string) => err.push(l),
      config: loadConfig(opts.env ?? {}),
      cwd: opts.dir ?? cwd,
    };
    const code = await (opts.status ? runStatusCli(args, io) : runModelsCli(args, io));
    return { code, out: out.join('\n'), err: err.join('\n') };
  };

  before(async () => {
    cwd = await mkdtemp(path.join(tmpdir(), 'flywheel-cli-loop-'));
    elsewhere = await mkdtemp(path.join(tmpdir(), 'flywheel-cli-none-'));
    const dataDir = path.join(cwd, '.flywheel', 'run-test');
    await mkdir(dataDir, { recursive: true });
    const env = { FLYWHEEL_DATA_DIR: dataDir, FLYWHEEL_PORT_BASE: String(await freeBlock()) };
    const log = createLogger({ name: 'test', level: 'silent' });
    loop = await startLoop({ config: loadConfig(env), env: { ...process.env, ...env }, log });
    await writeLoopPointer(loop.access, path.join(cwd, '.flywheel', 'current.json'));
    for (const [i, bias] of [0, 0.5, 1].entries())
      await loop.registry.register({
        name: 'risk',
        artifact: riskOnnx({ bias }),
        lineage: lineage({ metrics: { rocAuc: 0.9 + i / 100, brier: 0.05 } }),
      });
    await loop.registry.register({
      name: 'segment',
      artifact: segmentOnnx(),
      lineage: lineage({ metrics: {} }),
    });
    await loop.registry.moveAlias({ name: 'risk', alias: 'champion', to: 1, actor: 'test', reason: 'first' });
    await loop.registry.moveAlias({
      name: 'segment',
      alias: 'champion',
      to: 1,
      actor: 'test',
      reason: 'first',
    });
  });
  after(() => loop?.stop());

  it('keeps the CLI default port equal to the loop: promote at FLYWHEEL_PORT_BASE + 6', () => {
    assert.equal(LOOP_PROMOTE_OFFSET, PORT_OFFSETS.promote);
  });

  it('writes generated tokens for owner only, with promote URL, to <data-dir>/tokens.json', async () => {
    const file = path.join(cwd, '.flywheel', 'run-test', 'tokens.json');
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    const access = LoopAccessSchema.parse(JSON.parse(await readFile(file, 'utf8')));
    assert.equal(access.url, loop.urls.promote);
    assert.notEqual(access.readToken, access.promoteToken);
    assert.ok(access.readToken.length >= 20);
  });

  it('status finds the loop through the pointer, not the default port, and prints champions and counts', async () => {
    assert.notEqual(loop.urls.promote, `http://127.0.0.1:${defaults.FLYWHEEL_PORT_BASE + 6}`);
    const human = await cli([], { status: true });
    assert.equal(human.code, EXIT.ok, human.err);
    assert.match(human.out, new RegExp(`registry  reachable at ${loop.urls.promote}`));
    assert.match(human.out, /^risk\s+v1\s+—\s+3\s+v3$/m);
    assert.match(human.out, /^segment\s+v1\s+—\s+1\s+v1$/m);
    assert.match(human.out, /last move .* segment champion: — → v1 by test — first/);
    const json = await cli(['--json'], { status: true });
    const status = StatusViewSchema.parse(JSON.parse(json.out));
    assert.deepEqual(
      status.models.map((m) => [m.name, m.champion, m.versionCount]),
      [
        ['risk', 1, 3],
        ['segment', 1, 1],
      ],
    );
  });

  it('lists versions as a table and as JSON', async () => {
    const human = await cli(['list']);
    assert.equal(human.code, EXIT.ok, human.err);
    const lines = human.out.split('\n');
    assert.match(
      lines[0] ?? '',
      /^MODEL\s+VERSION\s+ALIASES\s+CREATED\s+FEATURE SET\s+TRAINED ON\s+BACKEND\s+METRICS$/,
    );
    assert.equal(lines.length, 5);
    assert.match(lines[1] ?? '', /^risk\s+v1\s+champion\s+.*\s+cpu\s+rocAuc=0\.9 brier=0\.05$/);
    assert.match(lines[3] ?? '', /^risk\s+v3\s+—\s+.*rocAuc=0\.92/);
    assert.match(lines[4] ?? '', /^segment\s+v1\s+champion/);
    const one = await cli(['list', 'risk', '--json']);
    const versions = (JSON.parse(one.out) as { versions: unknown[] }).versions.map((v) =>
      VersionViewSchema.parse(v),
    );
    assert.deepEqual(
      versions.map((v) => [v.name, v.version, v.aliases]),
      [
        ['risk', 1, ['champion']],
        ['risk', 2, []],
        ['risk', 3, []],
      ],
    );
  });

  it('shows the champion without a version, a given version with one, as a block and as JSON', async () => {
    const champion = await cli(['show', 'risk']);
    assert.equal(champion.code, EXIT.ok, champion.err);
    assert.match(champion.out, /^model\s+risk v1 \(champion\)$/m);
    assert.match(champion.out, /^feature set\s+customer.*\(16 columns\)$/m);
    assert.match(champion.out, /^artifact\s+\d+ bytes, sha256 [0-9a-f]{64}$/m);
    const v2 = await cli(['show', 'risk', 'v2', '--json']);
    assert.equal(v2.code, EXIT.ok, v2.err);
    const view = VersionViewSchema.parse(JSON.parse(v2.out));
    assert.equal(view.version, 2);
    assert.equal(view.metrics.rocAuc, 0.91);
    assert.equal(view.artifact.sha256, (await loop.registry.get('risk', 2)).artifact.sha256);
  });

  it('promotes, rolls back and shows the history, in both forms', async () => {
    const promoted = await cli(['promote', 'risk', '3', '--reason', 'canary looked good']);
    assert.equal(promoted.code, EXIT.ok, promoted.err);
    assert.match(promoted.out, /^risk champion: v1 → v3 by cli:\S+ — canary looked good$/);
    assert.equal(await loop.registry.alias('risk', 'champion'), 3);
    const challenger = await cli(['promote', 'risk', '2', '--alias', 'challenger', '--json']);
    assert.equal(challenger.code, EXIT.ok, challenger.err);
    assert.equal(MoveAnswerSchema.parse(JSON.parse(challenger.out)).alias, 'challenger');
    const back = await cli(['rollback', 'risk', '--json']);
    assert.equal(back.code, EXIT.ok, back.err);
    const answer = MoveAnswerSchema.parse(JSON.parse(back.out));
    assert.deepEqual([answer.previous, answer.model.version, answer.entry.rollback], [3, 1, true]);
    assert.equal(await loop.registry.alias('risk', 'champion'), 1);
    const history = await cli(['history', 'risk']);
    const rows = history.out.split('\n');
    assert.match(rows[0] ?? '', /^AT\s+ALIAS\s+FROM\s+TO\s+ACTOR\s+KIND\s+REASON$/);
    assert.equal(rows.length, 5);
    assert.match(
      rows[4] ?? '',
      /\s+champion\s+v3\s+v1\s+cli:\S+\s+rollback\s+rolled back with flywheel models rollback$/,
    );
    const json = HistoryViewSchema.parse(JSON.parse((await cli(['history', 'risk', '--json'])).out));
    assert.deepEqual(
      json.entries.map((e) => [e.alias, e.from, e.to]),
      [
        ['champion', null, 1],
        ['champion', 1, 3],
        ['challenger', null, 2],
        ['champion', 3, 1],
      ],
    );
  });

  it('exits 1 when the registry refuses: unknown version, nothing to roll back to, no champion', async () => {
    for (const args of [
      ['show', 'risk', '99'],
      ['promote', 'risk', '99'],
      ['rollback', 'segment'],
    ]) {
      const res = await cli(args);
      assert.equal(res.code, EXIT.refused, args.join(' '));
      assert.match(res.err, /^error: (404|409) /);
      assert.equal(res.out, '');
    }
    assert.equal(await loop.registry.alias('risk', 'champion'), 1);
  });

  it('exits 2 on usage errors, before any request', async () => {
    for (const args of [
      [],
      ['show'],
      ['show', 'fraud'],
      ['show', 'risk', 'two'],
      ['promote', 'risk'],
      ['list', '--bogus'],
      ['frobnicate'],
    ]) {
      const res = await cli(args);
      assert.equal(res.code, EXIT.usage, args.join(' '));
    }
    assert.equal((await cli(['extra'], { status: true })).code, EXIT.usage);
  });

  it('exits 4 on a wrong or missing token, and when a read token tries to promote', async () => {
    const url = loop.urls.promote;
    const wrong = await cli(['list', '--url', url, '--token', 'wrong'], { dir: elsewhere });
    assert.equal(wrong.code, EXIT.unauthorised);
    assert.match(wrong.err, /401/);
    const missing = await cli(['--url', url], { dir: elsewhere, status: true });
    assert.equal(missing.code, EXIT.unauthorised);
    assert.match(missing.err, /no token/);
    const readOnly = await cli(['promote', 'risk', '2', '--url', url, '--token', loop.access.readToken], {
      dir: elsewhere,
    });
    assert.equal(readOnly.code, EXIT.unauthorised, readOnly.err);
    assert.equal(await loop.registry.alias('risk', 'champion'), 1);
    const withEnv = await cli(['list', 'risk'], {
      dir: elsewhere,
      env: { FLYWHEEL_URL: url, FLYWHEEL_TOKEN: loop.access.readToken },
    });
    assert.equal(withEnv.code, EXIT.ok, withEnv.err);
  });

  it('exits 3 when nothing answers at the URL', async () => {
    const [port] = await freePorts(1);
    const res = await cli(['--url', `http://127.0.0.1:${port}`, '--token', 'x'], {
      dir: elsewhere,
      status: true,
    });
    assert.equal(res.code, EXIT.unavailable);
    assert.match(res.err, /cannot reach the registry at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/);
  });

  it('works as the installed command: `flywheel status` and `flywheel models show` exit codes', async () => {
    const env = { ...process.env };
    for (const key of ['FLYWHEEL_PORT_BASE', 'FLYWHEEL_URL', 'FLYWHEEL_TOKEN', 'FLYWHEEL_PROMOTE_TOKEN'])
      delete env[key];
    const status = await run(process.execPath, [BIN, 'status', '--json'], { cwd, env });
    assert.equal(StatusViewSchema.parse(JSON.parse(status.stdout)).models[0]?.champion, 1);
    const missing = await run(process.execPath, [BIN, 'models', 'show', 'risk', '42'], { cwd, env }).then(
      () => 0,
      (err: { code: number }) => err.code,
    );
    assert.equal(missing, EXIT.refused);
  });
});

describe('the local loop tokens', () => {
  it('uses PROMOTE_TOKEN and REGISTRY_READ_TOKEN when set, and random distinct ones otherwise', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'flywheel-tokens-'));
    const url = 'http://127.0.0.1:8086';
    const given = await loopAccess({
      config: { FLYWHEEL_DATA_DIR: dir, PROMOTE_TOKEN: 'p-token', REGISTRY_READ_TOKEN: 'r-token' },
      url,
    });
    assert.deepEqual([given.promoteToken, given.readToken], ['p-token', 'r-token']);
    const a = await loopAccess({ config: { FLYWHEEL_DATA_DIR: dir }, url });
    const b = await loopAccess({ config: { FLYWHEEL_DATA_DIR: dir }, url });
    assert.equal(new Set([a.promoteToken, a.readToken, b.promoteToken, b.readToken]).size, 4);
    assert.deepEqual(
      LoopAccessSchema.parse(JSON.parse(await readFile(b.tokensFile, 'utf8'))).readToken,
      b.readToken,
    );
    assert.equal((await stat(b.tokensFile)).mode & 0o777, 0o600);
  });

  it('generates tokens that `--token <value>` takes as a value (none starts with a dash)', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'flywheel-tokens-'));
    for (let i = 0; i < 400; i++) {
      const access = await loopAccess({ config: { FLYWHEEL_DATA_DIR: dir }, url: 'http://127.0.0.1:8086' });
      for (const token of [access.promoteToken, access.readToken]) {
        const err: string[] = [];
        const code = await runModelsCli(['--help', '--token', token], {
          out: () => {},
          err: (l) => err.push(l),
        });
        assert.equal(code, EXIT.ok, `${token}: ${err.join('\n')}`);
      }
    }
  });
});
