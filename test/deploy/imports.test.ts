// The import graph of the product's code: no module imports itself through others, and no two folders of shared/
// (or functions) import each other, so each folder can be read knowing only what it imports.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ROOT } from './support/manifests.ts';

const SOURCE_DIRS = ['shared', 'functions', 'local', 'bin', 'knative'];
const IMPORT = /(?:import|export)\s[^'";]*?from\s+['"](\.{1,2}\/[^'"]+)['"]/g;

function sources(dir: string): string[] {
  const abs = path.join(ROOT, dir);
  if (!existsSync(abs)) return [];
  return readdirSync(abs, { withFileTypes: true, recursive: true })
    .filter((d) => d.isFile() && d.name.endsWith('.ts'))
    .map((d) => path.relative(ROOT, path.join(d.parentPath, d.name)));
}

/** Every source file and the source files it imports (relative imports only: packages are not ours). */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of SOURCE_DIRS.flatMap(sources)) {
    const text = readFileSync(path.join(ROOT, file), 'utf8');
    const deps = [...text.matchAll(IMPORT)]
      .map((m) => path.normalize(path.join(path.dirname(file), m[1] ?? '')))
      .filter((dep) => existsSync(path.join(ROOT, dep)));
    graph.set(file, deps);
  }
  return graph;
}

/** The strongly connected components with more than one member (Tarjan): each is an import circle. */
function circles(graph: Map<string, string[]>): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) ?? 0, low.get(w) ?? 0));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v) ?? 0, index.get(w) ?? 0));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      for (let w = stack.pop(); w !== undefined; w = stack.pop()) {
        onStack.delete(w);
        component.push(w);
        if (w === v) break;
      }
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

/** `shared/store/redis.ts` → `shared/store`: the folder a module belongs to. */
const folderOf = (file: string): string => file.split(path.sep).slice(0, 2).join('/');

describe('import graph', () => {
  const graph = importGraph();

  it('reads the product code', () => {
    assert.ok(graph.size > 100, `only ${graph.size} modules found`);
    assert.ok(
      (graph.get(path.normalize('shared/store/memory.ts')) ?? []).includes(
        path.normalize('shared/store/keys.ts'),
      ),
      'the parser misses a relative import it should see',
    );
  });

  it('has no import circle', () => {
    assert.deepEqual(circles(graph), []);
  });

  it('has no two folders importing each other', () => {
    const edges = new Set<string>();
    for (const [file, deps] of graph) {
      for (const dep of deps)
        if (folderOf(file) !== folderOf(dep)) edges.add(`${folderOf(file)} → ${folderOf(dep)}`);
    }
    const loops = [...edges]
      .map((e) => e.split(' → ') as [string, string])
      .filter(([a, b]) => a < b && edges.has(`${b} → ${a}`))
      .map(([a, b]) => `${a} ↔ ${b}`);
    assert.deepEqual(loops, []);
  });

  it('finds a circle and a folder loop when there is one (the checks can fail)', () => {
    const g = new Map([
      ['shared/a/x.ts', ['shared/b/y.ts']],
      ['shared/b/y.ts', ['shared/a/x.ts']],
    ]);
    assert.deepEqual(circles(g), [['shared/a/x.ts', 'shared/b/y.ts']]);
  });
});
