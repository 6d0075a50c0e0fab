// knative/package.ts: bundles each function into a self-contained directory that starts with `node index.js`, after
// writing its func.yaml from its Knative Service.
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { z } from 'zod';
import {
  listFunctions,
  packageFunction,
  packageNameOf,
  packageTrainer,
  TRAINER_GPU_PACKAGE,
} from '../../knative/package.ts';
import { NotFoundError } from '../../shared/errors/index.ts';
import { freePort } from '../support/ports.ts';
import { ROOT } from './support/manifests.ts';

const run = promisify(execFile);

const PackagedManifestSchema = z.strictObject({
  name: z.string(),
  version: z.string(),
  private: z.literal(true),
  type: z.literal('module'),
  main: z.literal('index.js'),
  engines: z.record(z.string(), z.string()).optional(),
  scripts: z.strictObject({ start: z.literal('node index.js') }),
  dependencies: z.record(z.string(), z.string()),
  optionalDependencies: z.record(z.string(), z.string()).optional(),
});

const readManifest = async (dir: string) =>
  PackagedManifestSchema.parse(JSON.parse(await readFile(path.join(dir, 'package.json'), 'utf8')));

/** A small project root: a function importing a bundled package, a native external and a CommonJS file. */
async function fixtureRoot(): Promise<string> {
  const root = await mkdtemp(path.join(tmpdir(), 'flywheel-package-'));
  await symlink(path.join(ROOT, 'node_modules'), path.join(root, 'node_modules'), 'dir');
  await writeFile(
    path.join(root, 'package.json'),
    JSON.stringify({
      version: '9.9.9',
      engines: { node: '>=20.11' },
      dependencies: { zod: '^4.1.0', 'onnxruntime-node': '^1.23.0', '@tensorflow/tfjs': '^4.22.0' },
      optionalDependencies: { [TRAINER_GPU_PACKAGE]: '^4.22.0' },
    }),
  );
  const demo = path.join(root, 'functions', 'demo');
  await mkdir(demo, { recursive: true });
  await writeFile(path.join(demo, 'func.yaml'), 'specVersion: 0.36.0\nname: demo\nruntime: node\n');
  await writeFile(
    path.join(demo, 'legacy.cjs'),
    [
      "const os = require('node:os');",
      // An optional package a dependency may require (like node-fetch's `encoding`): left unresolved.
      'let absent = false;',
      "try { require('flywheel-absent-optional'); } catch { absent = true; }",
      'module.exports = { host: () => os.hostname(), arch: () => os.arch(), absent: () => absent };',
    ].join('\n'),
  );
  await writeFile(
    path.join(demo, 'main.ts'),
    [
      "import * as ort from 'onnxruntime-node';",
      "import { z } from 'zod';",
      "import legacy from './legacy.cjs';",
      'const parsed = z.object({ arch: z.string().min(1) }).parse({ arch: legacy.arch() });',
      "process.stdout.write(JSON.stringify({ session: typeof ort.InferenceSession, arch: parsed.arch, host: legacy.host().length > 0, absent: legacy.absent() }) + '\\n');",
    ].join('\n'),
  );
  await mkdir(path.join(root, 'functions', 'no-entry'), { recursive: true });
  const bare = path.join(root, 'functions', 'bare');
  await mkdir(bare, { recursive: true });
  await writeFile(path.join(bare, 'main.ts'), "process.stdout.write('bare\\n');\n");
  return root;
}

describe('knative/package.ts on a fixture project', () => {
  let root = '';
  before(async () => {
    root = await fixtureRoot();
  });
  after(async () => {
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('lists the functions that have a main.ts, sorted', async () => {
    assert.deepEqual(await listFunctions(root), ['bare', 'demo']);
  });

  it('writes index.js, a package.json with only the external dependencies, .npmrc and func.yaml', async () => {
    const outDir = path.join(root, 'dist');
    const unit = await packageFunction({ root, outDir, name: 'demo' });
    assert.equal(unit.dir, path.join(outDir, 'functions', 'demo'));
    const manifest = await readManifest(unit.dir);
    assert.equal(manifest.name, 'flywheel-demo');
    assert.equal(manifest.version, '9.9.9');
    assert.deepEqual(manifest.dependencies, { 'onnxruntime-node': '^1.23.0' });
    assert.equal(manifest.optionalDependencies, undefined);
    assert.deepEqual(unit.unresolved, ['flywheel-absent-optional']);
    assert.equal(await readFile(path.join(unit.dir, '.npmrc'), 'utf8'), 'onnxruntime-node-install=skip\n');
    assert.match(await readFile(path.join(unit.dir, 'func.yaml'), 'utf8'), /^name: demo$/m);
    const code = await readFile(unit.entry, 'utf8');
    assert.match(code, /^import \{ createRequire as __flywheelCreateRequire \} from 'node:module';/);
    assert.match(code, /from "onnxruntime-node"|from 'onnxruntime-node'/, 'onnxruntime-node stays external');
  });

  it('runs from its directory: bundled zod, external onnxruntime-node and CommonJS require() all work', async () => {
    const dir = path.join(root, 'dist', 'functions', 'demo');
    // Stands in for `npm install` in the packaged directory (no registry here).
    await symlink(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
    const { stdout } = await run(process.execPath, ['index.js'], { cwd: dir, timeout: 20_000 });
    const out = z
      .object({ session: z.string(), arch: z.string(), host: z.boolean() })
      .parse(JSON.parse(stdout));
    assert.deepEqual(out, { session: 'function', arch: process.arch, host: true });
  });

  it('refuses a function without func.yaml', async () => {
    await assert.rejects(
      packageFunction({ root, outDir: path.join(root, 'dist'), name: 'bare' }),
      (err: unknown) => err instanceof NotFoundError && /functions\/bare\/func\.yaml/.test(err.message),
    );
  });

  it('skips the trainer until shared/training/cli.ts exists, then lists the GPU binding as optional', async () => {
    assert.equal(await packageTrainer({ root, outDir: path.join(root, 'dist') }), undefined);
    const training = path.join(root, 'shared', 'training');
    await mkdir(training, { recursive: true });
    await writeFile(
      path.join(training, 'cli.ts'),
      "import * as tf from '@tensorflow/tfjs';\nprocess.stdout.write(typeof tf.tensor + '\\n');\n",
    );
    const unit = await packageTrainer({ root, outDir: path.join(root, 'dist') });
    assert.ok(unit);
    assert.equal(unit.dir, path.join(root, 'dist', 'trainer'));
    const manifest = await readManifest(unit.dir);
    assert.deepEqual(manifest.dependencies, { '@tensorflow/tfjs': '^4.22.0' });
    assert.deepEqual(manifest.optionalDependencies, { [TRAINER_GPU_PACKAGE]: '^4.22.0' });
  });

  it('names packages from import specifiers', () => {
    assert.equal(packageNameOf('@tensorflow/tfjs-core/dist/ops'), '@tensorflow/tfjs-core');
    assert.equal(packageNameOf('onnxruntime-node'), 'onnxruntime-node');
    assert.equal(packageNameOf('yaml/util'), 'yaml');
  });
});

/** A project root with one function, its Knative Service, and copies of the packager and the errors it throws. */
async function projectWithService(): Promise<string> {
  const root = await mkdtemp(path.join(tmpdir(), 'flywheel-package-cli-'));
  await symlink(path.join(ROOT, 'node_modules'), path.join(root, 'node_modules'), 'dir');
  await writeFile(path.join(root, 'package.json'), JSON.stringify({ version: '9.9.9', type: 'module' }));
  for (const file of [
    'knative/package.ts',
    'knative/func-yaml.ts',
    'knative/generated.ts',
    'shared/errors/index.ts',
  ])
    await cp(path.join(ROOT, file), path.join(root, file));
  await mkdir(path.join(root, 'functions', 'demo'), { recursive: true });
  await writeFile(path.join(root, 'functions', 'demo', 'main.ts'), "process.stdout.write('demo\\n');\n");
  await mkdir(path.join(root, 'knative', 'base', 'services'), { recursive: true });
  await writeFile(
    path.join(root, 'knative', 'base', 'services', 'demo.yaml'),
    [
      'apiVersion: serving.knative.dev/v1',
      'kind: Service',
      'metadata:',
      '  name: demo',
      '  namespace: flywheel',
      'spec:',
      '  template:',
      '    metadata:',
      '      annotations:',
      '        autoscaling.knative.dev/max-scale: "3"',
      '    spec:',
      '      containers:',
      '        - name: demo',
      '          image: registry.example/team/flywheel-functions',
      '',
    ].join('\n'),
  );
  return root;
}

/** `tsx knative/package.ts <args>` in `root`: its exit code and output. */
async function packageCli(
  root: string,
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(
      process.execPath,
      ['--import', 'tsx', 'knative/package.ts', ...args],
      {
        cwd: root,
        timeout: 60_000,
      },
    );
    return { code: 0, stdout, stderr };
  } catch (err) {
    const failed = err as { code?: unknown; stdout?: string; stderr?: string };
    if (typeof failed.code !== 'number') throw err;
    return { code: failed.code, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

describe('`npm run package` writes func.yaml from the Knative Services', () => {
  let root = '';
  const funcYaml = () => path.join(root, 'functions', 'demo', 'func.yaml');
  before(async () => {
    root = await projectWithService();
  });
  after(async () => {
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('`--check` fails, naming a func.yaml its Service has not generated yet, and bundles nothing', async () => {
    const result = await packageCli(root, ['--check']);
    assert.equal(result.code, 1);
    assert.match(
      result.stderr,
      /^functions\/demo\/func\.yaml differs from what its Knative Service generates/m,
    );
    assert.equal(existsSync(path.join(root, 'dist')), false);
  });

  it('packaging writes it from the Service and copies it into dist; `--check` then passes', async () => {
    const result = await packageCli(root, []);
    assert.equal(result.code, 0, result.stderr);
    const text = await readFile(funcYaml(), 'utf8');
    assert.match(text, /^# Generated by `npm run package` from knative\/base\/services\/demo\.yaml/);
    assert.match(text, /^ {6}max: 3$/m);
    assert.equal(await readFile(path.join(root, 'dist', 'functions', 'demo', 'func.yaml'), 'utf8'), text);
    const checked = await packageCli(root, ['--check']);
    assert.equal(checked.code, 0, checked.stderr);
    assert.match(checked.stdout, /^func\.yaml: 1 files as their Knative Services generate them$/m);
  });

  it('`--check` fails on a func.yaml edited by hand', async () => {
    await writeFile(funcYaml(), (await readFile(funcYaml(), 'utf8')).replace('max: 3', 'max: 4'));
    const result = await packageCli(root, ['--check']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /functions\/demo\/func\.yaml differs/);
  });

  it('without the Services (the image builds copy only what bundling needs) packages func.yaml as committed', async () => {
    await rm(path.join(root, 'knative', 'base'), { recursive: true });
    await writeFile(funcYaml(), 'specVersion: 0.36.0\nname: demo\nruntime: node\n');
    const result = await packageCli(root, []);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^knative\/base\/services not found: func\.yaml packaged as committed$/m);
    assert.equal(
      await readFile(path.join(root, 'dist', 'functions', 'demo', 'func.yaml'), 'utf8'),
      'specVersion: 0.36.0\nname: demo\nruntime: node\n',
    );
  });
});

/** Polls until `url` answers 200 or the deadline passes. */
async function waitForOk(url: string, child: ChildProcess, deadlineMs: number): Promise<void> {
  const until = Date.now() + deadlineMs;
  let last = 'no answer';
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`the packaged function exited with ${child.exitCode}`);
    try {
      const res = await fetch(url);
      if (res.status === 200) return;
      last = `status ${res.status}`;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} not ready: ${last}`);
}

describe('the real functions, packaged', () => {
  let outDir = '';
  before(async () => {
    outDir = await mkdtemp(path.join(tmpdir(), 'flywheel-dist-'));
  });
  after(async () => {
    if (outDir) await rm(outDir, { recursive: true, force: true });
  });

  it('finds functions to package (functions/<name>/main.ts)', async () => {
    assert.ok(
      (await listFunctions(ROOT)).length > 0,
      'no functions/<name>/main.ts exists yet: nothing to package',
    );
  });

  for (const name of existingFunctions()) {
    it(`${name} starts from its packaged directory alone and serves liveness and metrics`, async () => {
      const dataDir = await mkdtemp(path.join(tmpdir(), 'flywheel-data-'));
      let child: ChildProcess | undefined;
      try {
        const unit = await packageFunction({ root: ROOT, outDir, name });
        assert.equal((await readManifest(unit.dir)).scripts.start, 'node index.js');
        if (Object.keys(unit.dependencies).length > 0) {
          // Stands in for `npm install` of the listed native dependencies.
          await symlink(path.join(ROOT, 'node_modules'), path.join(unit.dir, 'node_modules'), 'dir');
        }
        assert.equal(
          existsSync(path.join(outDir, 'node_modules')),
          false,
          'nothing above the package to fall back on',
        );
        const port = await freePort();
        child = spawn(process.execPath, ['index.js'], {
          cwd: unit.dir,
          env: {
            PATH: process.env.PATH ?? '',
            PORT: String(port),
            FLYWHEEL_DATA_DIR: dataDir,
            LOG_LEVEL: 'silent',
          },
          stdio: ['ignore', 'ignore', 'pipe'],
        });
        await waitForOk(`http://127.0.0.1:${port}/health/liveness`, child, 15_000);
        const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
        assert.match(metrics, new RegExp(`function="${name}"`));
        const exited = new Promise<number | null>((resolve) => child?.once('exit', (code) => resolve(code)));
        child.kill('SIGTERM');
        assert.equal(await exited, 0);
      } finally {
        if (child && child.exitCode === null) child.kill('SIGKILL');
        await rm(dataDir, { recursive: true, force: true });
      }
    });
  }
});

/** The functions present now (read synchronously: node:test registers tests before running them). */
function existingFunctions(): string[] {
  const dir = path.join(ROOT, 'functions');
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(path.join(dir, e.name, 'main.ts')))
    .map((e) => e.name)
    .sort();
}
