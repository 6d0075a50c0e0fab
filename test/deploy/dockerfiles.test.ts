// The container build files: base images, non-root users, COPY sources that exist, npm scripts that exist.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { ROOT } from './support/manifests.ts';

interface Instruction {
  op: string;
  args: string;
}

interface Stage {
  image: string;
  name: string | undefined;
  instructions: Instruction[];
}

/** Parses a Dockerfile into stages, joining continuation lines and resolving ARG defaults in FROM. */
function parseDockerfile(text: string): Stage[] {
  const logical = text
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((l) => l.replace(/\s+/g, ' ').trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  const args: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const line of logical) {
    const match = /^(\S+)\s+(.*)$/.exec(line);
    assert.ok(match, `cannot parse: ${line}`);
    const op = (match[1] ?? '').toUpperCase();
    const rest = match[2] ?? '';
    if (op === 'ARG' && stages.length === 0) {
      const [k, v] = rest.split('=');
      if (k && v !== undefined) args[k] = v;
      continue;
    }
    if (op === 'FROM') {
      const [image = '', , name] = rest.split(/\s+/);
      const resolved = image.replace(/\$\{(\w+)\}/g, (_, k: string) => args[k] ?? `\${${k}}`);
      stages.push({ image: resolved, name, instructions: [] });
      continue;
    }
    const stage = stages.at(-1);
    assert.ok(stage, `${op} before FROM`);
    stage.instructions.push({ op, args: rest });
  }
  return stages;
}

const PackageJsonSchema = z.looseObject({ scripts: z.record(z.string(), z.string()) });
const scripts = PackageJsonSchema.parse(
  JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')),
).scripts;

/** COPY's sources (all words but the last, without flags) and its --from stage, if any. */
function copyOf(args: string): { from: string | undefined; sources: string[] } {
  const words = args.split(/\s+/);
  const from = words.find((w) => w.startsWith('--from='))?.slice('--from='.length);
  const paths = words.filter((w) => !w.startsWith('--'));
  return { from, sources: paths.slice(0, -1) };
}

function checkCommonRules(file: string): Stage[] {
  const stages = parseDockerfile(readFileSync(path.join(ROOT, file), 'utf8'));
  const stageNames = stages.map((s) => s.name).filter((n): n is string => n !== undefined);
  for (const stage of stages) {
    for (const ins of stage.instructions) {
      if (ins.op === 'RUN') {
        for (const m of ins.args.matchAll(/npm run ([\w:-]+)/g)) {
          const script = m[1] ?? '';
          assert.ok(script in scripts, `${file}: \`npm run ${script}\` is not a script in package.json`);
        }
      }
      if (ins.op !== 'COPY' && ins.op !== 'ADD') continue;
      assert.equal(ins.op, 'COPY', `${file}: use COPY, not ADD`);
      const { from, sources } = copyOf(ins.args);
      if (from === undefined) {
        for (const src of sources)
          assert.ok(existsSync(path.join(ROOT, src)), `${file}: COPY ${src} does not exist`);
      } else if (from === 'build') {
        // Produced in the build stage by `npm run package` (knative/package.ts) under /src/dist.
        for (const src of sources)
          assert.match(src, /^\/src\/dist(\/|$)/, `${file}: COPY --from=build ${src}`);
        assert.match(scripts.package ?? '', /knative\/package\.ts/);
        assert.ok(existsSync(path.join(ROOT, 'knative/package.ts')));
      } else {
        assert.ok(stageNames.includes(from), `${file}: COPY --from=${from} names no stage`);
      }
    }
  }
  const build = stages.find((s) => s.name === 'build');
  assert.ok(build, `${file}: no build stage`);
  assert.ok(build.instructions.some((i) => i.op === 'RUN' && /\bnpm run package\b/.test(i.args)));
  const final = stages.at(-1);
  assert.ok(final);
  const users = final.instructions.filter((i) => i.op === 'USER');
  assert.equal(users.length, 1, `${file}: the final stage sets USER once`);
  assert.match(users[0]?.args ?? '', /^[1-9]\d*(:[1-9]\d*)?$/, `${file}: USER must be a numeric non-root id`);
  return stages;
}

describe('knative/Dockerfile (functions)', () => {
  const stages = checkCommonRules('knative/Dockerfile');

  it('builds on node:20-bookworm-slim in every stage', () => {
    for (const s of stages) assert.equal(s.image, 'node:20-bookworm-slim');
  });

  it('installs production dependencies only, with the repository .npmrc, and copies dist/ from the build', () => {
    const final = stages.at(-1);
    assert.ok(final);
    const runs = final.instructions.filter((i) => i.op === 'RUN').map((i) => i.args);
    assert.ok(runs.some((r) => /npm ci\b.*--omit=dev/.test(r)));
    const copies = final.instructions.filter((i) => i.op === 'COPY').map((i) => i.args);
    assert.ok(copies.some((c) => /\.npmrc/.test(c)));
    assert.ok(copies.some((c) => c === '--from=build /src/dist ./dist'));
  });

  it('starts the function named by FUNCTION by default', () => {
    const cmd = stages.at(-1)?.instructions.find((i) => i.op === 'CMD');
    assert.match(cmd?.args ?? '', /node dist\/functions\/\$\{FUNCTION/);
  });
});

describe('knative/Dockerfile.trainer', () => {
  const stages = checkCommonRules('knative/Dockerfile.trainer');

  it('runs on a CUDA runtime image with cuDNN, with Node.js 20 from the official image', () => {
    const final = stages.at(-1);
    assert.ok(final);
    assert.match(final.image, /^nvidia\/cuda:\d+\.\d+\.\d+-cudnn\d*-runtime-ubuntu\d+\.\d+$/);
    assert.ok(stages.some((s) => s.name === 'node' && s.image === 'node:20-bookworm-slim'));
    assert.ok(
      final.instructions.some((i) => i.op === 'COPY' && i.args.startsWith('--from=node /usr/local/bin/node')),
    );
  });

  it('installs the packaged trainer with @tensorflow/tfjs-node-gpu and checks that the GPU binding is there', () => {
    const runs = (stages.at(-1)?.instructions ?? []).filter((i) => i.op === 'RUN').map((i) => i.args);
    assert.ok(runs.some((r) => /cd dist\/trainer && npm install --omit=dev/.test(r)));
    assert.ok(runs.some((r) => r.includes("require.resolve('@tensorflow/tfjs-node-gpu')")));
  });

  it('runs the trainer CLI entry by default', () => {
    const cmd = stages.at(-1)?.instructions.find((i) => i.op === 'CMD');
    assert.match(cmd?.args ?? '', /"node", "dist\/trainer\/index\.js"/);
  });
});

describe('Docker build contexts', () => {
  for (const file of ['knative/Dockerfile', 'knative/Dockerfile.trainer']) {
    it(`${file}.dockerignore keeps node_modules and dist out of the context`, () => {
      const ignore = readFileSync(path.join(ROOT, `${file}.dockerignore`), 'utf8').split('\n');
      assert.ok(ignore.includes('**/node_modules'));
      assert.ok(ignore.includes('dist'));
    });
  }

  it('the parser sees continuation lines and missing sources (it can fail)', () => {
    const stages = parseDockerfile(
      ['ARG B=node:20', `FROM \${B} AS build`, 'RUN a \\', '  && npm run nope', 'COPY missing.txt ./'].join(
        '\n',
      ),
    );
    assert.equal(stages[0]?.image, 'node:20');
    assert.deepEqual(
      stages[0]?.instructions.map((i) => i.args),
      ['a && npm run nope', 'missing.txt ./'],
    );
    assert.equal('nope' in scripts, false);
    assert.equal(existsSync(path.join(ROOT, 'missing.txt')), false);
  });
});
