// `npm run package`: writes each function's func.yaml from its Knative Service, then bundles each function (and the
// trainer) into a self-contained directory under dist/ for images and kn func. `npm run package -- --check` bundles
// nothing and fails while a committed func.yaml differs from what its Service generates.
import { cp, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build, type Metafile } from 'esbuild';
import { NotFoundError } from '../shared/errors/index.ts';

/** Packages never bundled: native bindings and TensorFlow.js (wasm files, native addons), resolved at run time. */
export const EXTERNAL_PACKAGES = ['onnxruntime-node', '@tensorflow/*'] as const;

/** Lets bundled CommonJS code call require() (for node: built-ins and externals) from the ESM bundle. */
const BANNER = [
  "import { createRequire as __flywheelCreateRequire } from 'node:module';",
  'const require = __flywheelCreateRequire(import.meta.url);',
].join('\n');

/** The TensorFlow.js GPU binding: an optional dependency of the trainer package only. */
export const TRAINER_GPU_PACKAGE = '@tensorflow/tfjs-node-gpu';

const NPMRC = 'onnxruntime-node-install=skip\n';

interface RootPackage {
  version: string;
  engines?: Record<string, string>;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

/** One packaged directory: its entry bundle and the npm dependencies it still needs at run time. */
export interface PackagedUnit {
  name: string;
  dir: string;
  entry: string;
  dependencies: Record<string, string>;
  optionalDependencies: Record<string, string>;
  /** Optional require()s of bundled dependencies that esbuild left unresolved; absent at run time. */
  unresolved: string[];
  bundleBytes: number;
}

/** The functions to package: every `functions/<name>/main.ts` under `root`, sorted by name. */
export async function listFunctions(root: string): Promise<string[]> {
  const dir = path.join(root, 'functions');
  if (!(await exists(dir))) return [];
  const names: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.isDirectory() && (await exists(path.join(dir, entry.name, 'main.ts')))) names.push(entry.name);
  }
  return names.sort();
}

async function readRootPackage(root: string): Promise<RootPackage> {
  return JSON.parse(await readFile(path.join(root, 'package.json'), 'utf8')) as RootPackage;
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}

/** `@scope/name/sub` → `@scope/name`, `name/sub` → `name`. */
export function packageNameOf(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] ?? specifier);
}

function isBuiltin(specifier: string): boolean {
  return specifier.startsWith('node:') || builtinModules.includes(specifier);
}

function versionOf(pkg: RootPackage, name: string): string | undefined {
  return pkg.dependencies?.[name] ?? pkg.optionalDependencies?.[name] ?? pkg.devDependencies?.[name];
}

/** Is `name` one of EXTERNAL_PACKAGES (`@scope/*` patterns included)? */
function isDeclaredExternal(name: string): boolean {
  return EXTERNAL_PACKAGES.some((p) => (p.endsWith('/*') ? name.startsWith(p.slice(0, -1)) : name === p));
}

/**
 * The packages of EXTERNAL_PACKAGES a bundle imports, with the versions the root package.json pins. Other
 * externals in the metafile are require() calls esbuild could not resolve inside a try block (optional
 * packages of dependencies, e.g. node-fetch's `encoding`): they stay optional and are reported, not installed.
 */
function externalDependencies(
  meta: Metafile,
  pkg: RootPackage,
): { deps: Record<string, string>; unresolved: string[] } {
  const deps: Record<string, string> = {};
  const unresolved = new Set<string>();
  for (const output of Object.values(meta.outputs)) {
    for (const imported of output.imports) {
      if (!imported.external || isBuiltin(imported.path)) continue;
      const name = packageNameOf(imported.path);
      if (!isDeclaredExternal(name)) {
        unresolved.add(name);
        continue;
      }
      const version = versionOf(pkg, name);
      if (version === undefined)
        throw new NotFoundError(`${name} is imported but not in the root package.json`);
      deps[name] = version;
    }
  }
  return {
    deps: Object.fromEntries(Object.entries(deps).sort(([a], [b]) => a.localeCompare(b))),
    unresolved: [...unresolved].sort(),
  };
}

/** Optional packages loaded by computed name (e.g. the GPU backend probe) that the bundle mentions by name. */
function optionalDependencies(code: string, pkg: RootPackage): Record<string, string> {
  const found = Object.entries(pkg.optionalDependencies ?? {}).filter(
    ([name]) => code.includes(`'${name}'`) || code.includes(`"${name}"`),
  );
  return Object.fromEntries(found);
}

async function bundle(opts: {
  root: string;
  entryFile: string;
  dir: string;
  name: string;
  pkg: RootPackage;
  /** Optional packages to list even when the bundle does not name them (loaded by computed name). */
  alsoOptional?: readonly string[];
}): Promise<PackagedUnit> {
  const { root, entryFile, dir, name, pkg } = opts;
  if (!(await exists(entryFile))) throw new NotFoundError(`${path.relative(root, entryFile)} does not exist`);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const entry = path.join(dir, 'index.js');
  const result = await build({
    absWorkingDir: root,
    entryPoints: [entryFile],
    outfile: entry,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    banner: { js: BANNER },
    external: [...EXTERNAL_PACKAGES],
    metafile: true,
    logLevel: 'silent',
  });
  const code = await readFile(entry, 'utf8');
  const { deps: dependencies, unresolved } = externalDependencies(result.metafile, pkg);
  const optional = optionalDependencies(code, pkg);
  for (const extra of opts.alsoOptional ?? []) {
    const version = pkg.optionalDependencies?.[extra];
    if (version !== undefined) optional[extra] = version;
  }
  for (const dep of Object.keys(dependencies)) delete optional[dep];
  const manifest = {
    name: `flywheel-${name}`,
    version: pkg.version,
    private: true,
    type: 'module',
    main: 'index.js',
    ...(pkg.engines ? { engines: pkg.engines } : {}),
    scripts: { start: 'node index.js' },
    dependencies,
    ...(Object.keys(optional).length > 0 ? { optionalDependencies: optional } : {}),
  };
  await writeFile(path.join(dir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  await writeFile(path.join(dir, '.npmrc'), NPMRC);
  return {
    name,
    dir,
    entry,
    dependencies,
    optionalDependencies: optional,
    unresolved,
    bundleBytes: Buffer.byteLength(code),
  };
}

/** Bundles `functions/<name>/main.ts` into `<outDir>/functions/<name>/` with its package.json, .npmrc and func.yaml. */
export async function packageFunction(opts: {
  root: string;
  outDir: string;
  name: string;
}): Promise<PackagedUnit> {
  const { root, outDir, name } = opts;
  const source = path.join(root, 'functions', name);
  const funcYaml = path.join(source, 'func.yaml');
  if (!(await exists(funcYaml))) throw new NotFoundError(`functions/${name}/func.yaml does not exist`);
  const unit = await bundle({
    root,
    entryFile: path.join(source, 'main.ts'),
    dir: path.join(outDir, 'functions', name),
    name,
    pkg: await readRootPackage(root),
  });
  await cp(funcYaml, path.join(unit.dir, 'func.yaml'));
  return unit;
}

/** Bundles the trainer CLI (`shared/training/cli.ts`) into `<outDir>/trainer/`; undefined when it does not exist yet. */
export async function packageTrainer(opts: {
  root: string;
  outDir: string;
}): Promise<PackagedUnit | undefined> {
  const entryFile = path.join(opts.root, 'shared', 'training', 'cli.ts');
  if (!(await exists(entryFile))) return undefined;
  return bundle({
    root: opts.root,
    entryFile,
    dir: path.join(opts.outDir, 'trainer'),
    name: 'trainer',
    pkg: await readRootPackage(opts.root),
    // The GPU image installs it; elsewhere the trainer falls back to the CPU backends.
    alsoOptional: [TRAINER_GPU_PACKAGE],
  });
}

/** The functions named by `only` (every function when it is empty); an unknown name is refused. */
async function selectFunctions(root: string, only: readonly string[] = []): Promise<string[]> {
  const all = await listFunctions(root);
  const unknown = only.filter((n) => !all.includes(n));
  if (unknown.length > 0) throw new NotFoundError(`no functions/<name>/main.ts for: ${unknown.join(', ')}`);
  return only.length > 0 ? all.filter((n) => only.includes(n)) : all;
}

/** Packages every function and the trainer; `only` limits the functions (the trainer is always attempted). */
export async function packageAll(opts: {
  root: string;
  outDir: string;
  only?: readonly string[];
}): Promise<{ functions: PackagedUnit[]; trainer: PackagedUnit | undefined }> {
  const names = await selectFunctions(opts.root, opts.only);
  const functions: PackagedUnit[] = [];
  for (const name of names)
    functions.push(await packageFunction({ root: opts.root, outDir: opts.outDir, name }));
  return { functions, trainer: await packageTrainer(opts) };
}

function describe(unit: PackagedUnit, root: string): string {
  const deps = Object.keys(unit.dependencies).join(', ') || '—';
  const optional = Object.keys(unit.optionalDependencies).join(', ') || '—';
  const unresolved = unit.unresolved.join(', ') || '—';
  return `| ${unit.name} | ${path.relative(root, unit.dir)} | ${(unit.bundleBytes / 1024).toFixed(0)} KiB | ${deps} | ${optional} | ${unresolved} |`;
}

/**
 * The func.yaml generator (knative/func-yaml.ts), or undefined where the Services are not there: the image builds
 * (knative/Dockerfile) copy only what bundling needs, and package the committed func.yaml files as they are — the
 * tests hold those equal to the generator's output. Imported on demand for the same reason.
 */
async function funcYamlGenerator(root: string): Promise<typeof import('./func-yaml.ts') | undefined> {
  if (!(await exists(path.join(root, 'knative', 'base', 'services')))) return undefined;
  return import('./func-yaml.ts');
}

/** `--check`: 0 when every func.yaml of `names` is what its Service generates, else 1, naming the others. */
async function check(root: string, names: readonly string[]): Promise<number> {
  const generator = await funcYamlGenerator(root);
  if (!generator)
    throw new NotFoundError('knative/base/services does not exist: nothing to check func.yaml against');
  const stale = await generator.staleFuncYamls(root, names);
  for (const file of stale)
    process.stderr.write(
      `${file} differs from what its Knative Service generates: run \`npm run package\`\n`,
    );
  if (stale.length > 0) return 1;
  process.stdout.write(`func.yaml: ${names.length} files as their Knative Services generate them\n`);
  return 0;
}

async function main(): Promise<void> {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  const args = process.argv.slice(2);
  const only = args.filter((a) => a !== '--check');
  const names = await selectFunctions(root, only);
  if (args.includes('--check')) {
    process.exitCode = await check(root, names);
    return;
  }
  const generator = await funcYamlGenerator(root);
  if (generator) await generator.writeFuncYamls(root, names);
  const { functions, trainer } = await packageAll({ root, outDir: path.join(root, 'dist'), only });
  const lines = [
    '| unit | directory | bundle | dependencies | optional | left unresolved (optional) |',
    '|---|---|---|---|---|---|',
  ];
  for (const unit of functions) lines.push(describe(unit, root));
  if (trainer) lines.push(describe(trainer, root));
  process.stdout.write(`${lines.join('\n')}\n`);
  if (functions.length === 0) process.stdout.write('no functions/<name>/main.ts found: nothing packaged\n');
  if (!trainer) process.stdout.write('shared/training/cli.ts not found: trainer not packaged\n');
  if (!generator) process.stdout.write('knative/base/services not found: func.yaml packaged as committed\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    process.stderr.write(`package: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
