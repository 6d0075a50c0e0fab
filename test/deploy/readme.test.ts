// README.md and knative/README.md stay true to the repository: config, events, keys, layout, options, steps, examples.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { driftKeys as driftLocks } from '../../functions/detect-drift/shared-window.ts';
import { ingestKeys } from '../../functions/ingest/handler.ts';
import { promoteKeys } from '../../functions/promote/handler.ts';
import { PORT_OFFSETS } from '../../local/loop.ts';
import { ConfigSchema, defaultConfig } from '../../shared/config/index.ts';
import { buildBaseline } from '../../shared/drift/index.ts';
import {
  Catalog,
  EventTypes,
  FUNCTION_NAMES,
  isEventType,
  type Producer,
  TransactionSchema,
  TYPE_PREFIX,
} from '../../shared/events/index.ts';
import { checkpointKey, completionKey } from '../../shared/backfill/records.ts';
import { customerFeatures } from '../../shared/features/index.ts';
import {
  ALIAS_CHANNEL,
  customerClaimKey,
  customerKeys,
  driftKeys,
  eventHash,
  lockKey,
  recordKey,
  registryKeys,
} from '../../shared/store/keys.ts';
import { ROOT } from './support/manifests.ts';

const readme = readFileSync(path.join(ROOT, 'knative/README.md'), 'utf8');

describe('knative/README.md', () => {
  it('names only paths that exist in the repository', () => {
    const paths = [...readme.matchAll(/`((?:knative|eventing|functions|test)\/[^`\s*<]+?)\/?`/g)].map(
      (m) => m[1] ?? '',
    );
    assert.ok(paths.length >= 8, `found ${paths.length} paths`);
    for (const p of paths) assert.ok(existsSync(path.join(ROOT, p)), `${p} does not exist`);
  });

  it('walks from an empty cluster to a deployed loop with the documented commands', () => {
    for (const step of [
      'serving-crds.yaml',
      'eventing-core.yaml',
      'mt-channel-broker.yaml',
      'eventing-kafka-controller.yaml',
      'eventing-kafka-broker.yaml',
      'strimzi.io/install',
      'bitnamicharts/redis',
      'kubectl create secret generic flywheel-secrets',
      'kubectl apply -k knative/overlays/dev',
      'helm install flywheel knative/helm/flywheel -n flywheel --take-ownership',
      'helm uninstall flywheel',
      'npm run package',
      'kn func deploy --path dist/functions/',
    ]) {
      assert.ok(readme.includes(step), `README lacks: ${step}`);
    }
  });

  it('uses the secret keys and the Kafka address the manifests use', () => {
    const template = readFileSync(path.join(ROOT, 'knative/base/secret.template.yaml'), 'utf8');
    for (const key of ['REDIS_URL', 'PROMOTE_TOKEN']) {
      assert.ok(readme.includes(`--from-literal=${key}=`) && template.includes(`${key}:`), key);
    }
    const config = readFileSync(path.join(ROOT, 'knative/base/config.yaml'), 'utf8');
    const kafka = /KAFKA_BROKERS: (\S+)/.exec(config)?.[1];
    assert.ok(kafka && readme.includes(kafka), `README must name ${kafka}`);
  });

  it('sends an example transaction that the catalog schema accepts', () => {
    const type = /ce-type: ([\w.]+)/.exec(readme)?.[1];
    assert.equal(type, EventTypes.transaction);
    const body = /-d '(\{.*\})'/.exec(readme)?.[1];
    assert.ok(body, 'no example body');
    const parsed = TransactionSchema.safeParse(JSON.parse(body));
    assert.ok(parsed.success, parsed.success ? '' : parsed.error.message);
  });
});

const main = readFileSync(path.join(ROOT, 'README.md'), 'utf8');

/** The text under a heading of README.md, up to the next heading of the same or a higher level. */
function section(heading: string): string {
  const level = /^#+/.exec(heading)?.[0].length ?? 2;
  const start = main.indexOf(`\n${heading}\n`);
  assert.ok(start >= 0, `README.md has no "${heading}"`);
  const rest = main.slice(start + heading.length + 2);
  const next = rest.search(new RegExp(`^#{1,${level}} `, 'm'));
  return next < 0 ? rest : rest.slice(0, next);
}

/**
 * The body rows of the first Markdown table in `text` (its `|` lines up to the first line that is not one), cells
 * trimmed; a `|` inside backticks stays in its cell.
 */
function tableRows(text: string): string[][] {
  const all = text.split('\n');
  const start = all.findIndex((l) => l.startsWith('|'));
  const end = all.findIndex((l, i) => i > start && !l.startsWith('|'));
  const lines = start < 0 ? [] : all.slice(start, end < 0 ? undefined : end);
  return lines.slice(2).map((line) => {
    const cells: string[] = [];
    let cell = '';
    let code = false;
    for (const ch of line.slice(1, line.trimEnd().length - 1)) {
      if (ch === '`') code = !code;
      if (ch === '|' && !code) {
        cells.push(cell.trim());
        cell = '';
      } else cell += ch;
    }
    cells.push(cell.trim());
    return cells;
  });
}

const backticked = (text: string): string[] => [...text.matchAll(/`([^`]+)`/g)].map((m) => m[1] ?? '');
const word = (name: string, after = '') =>
  new RegExp(`(?<![\\w-])${name.replace(/[.?*]/g, '\\$&')}(?![\\w-${after}])`);

describe('README.md', () => {
  it('documents every configuration variable, and only those, with its default', () => {
    const documented = new Map<string, string>();
    for (const [vars = '', defaults = ''] of tableRows(section('## Configuration'))) {
      const names = backticked(vars);
      const values = names.length > 1 ? defaults.split(', ') : [defaults];
      assert.equal(values.length, names.length, `one default per variable in: ${vars}`);
      for (const [i, name] of names.entries()) documented.set(name, values[i] ?? '');
    }
    const config: Record<string, unknown> = defaultConfig();
    assert.deepEqual([...documented.keys()].sort(), Object.keys(ConfigSchema.shape).sort());
    for (const [name, cell] of documented) {
      const value = config[name];
      if (value === undefined) assert.match(cell, /^—/, `${name} has no default`);
      else {
        const expected = typeof value === 'object' ? JSON.stringify(value) : String(value);
        assert.equal(cell, expected, `default of ${name}`);
      }
    }
  });

  it("lists every event type with the catalog's producers, consumers and data fields", () => {
    const rows = tableRows(section('## Event catalog'));
    const types = rows.map(([type = '']) => `${TYPE_PREFIX}${backticked(type)[0]}`);
    assert.deepEqual([...types].sort(), Object.values(EventTypes).sort());
    const producerNames: Partial<Record<Producer, string>> = {
      'data-source': 'data sources',
      schedule: 'schedule',
      operator: 'operators',
    };
    const extends_: Record<string, string> = {
      [EventTypes.transactionAccepted]: EventTypes.transaction,
      [EventTypes.labelAccepted]: EventTypes.label,
      [EventTypes.driftDetected]: EventTypes.driftMeasured,
    };
    const keysOf = (type: string) => {
      assert.ok(isEventType(type));
      const schema = Catalog[type].schema;
      assert.ok(schema instanceof z.ZodObject, `${type} data is an object`);
      return schema.shape as Record<string, z.ZodType>;
    };
    for (const [i, [, producers = '', consumers = '', fields = '']] of rows.entries()) {
      const type = types[i] ?? '';
      assert.ok(isEventType(type));
      const entry = Catalog[type];
      for (const p of entry.producedBy)
        assert.match(producers, word(producerNames[p] ?? p), `${type} producer ${p}`);
      for (const c of entry.consumedBy) assert.match(consumers, word(c), `${type} consumer ${c}`);
      const shape = keysOf(type);
      const base = extends_[type];
      const inherited = base ? Object.keys(keysOf(base)) : [];
      for (const [key, field] of Object.entries(shape)) {
        if (inherited.includes(key)) continue;
        if (field.safeParse(undefined).success) assert.match(fields, word(`${key}?`), `${type}: ${key}?`);
        else assert.match(fields, word(key, '?'), `${type}: ${key}`);
      }
    }
  });

  it('names every key the store, ingest, detect-drift, promote and the registry write, each in its own row', () => {
    const patterns = new Map(
      tableRows(section('### Storage'))
        .flatMap(([key = '']) => backticked(key))
        .map((pattern) => {
          const source = pattern
            .replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
            .replace(/<(?:n|version)>/g, '\\d+')
            .replace(/<sha1>/g, '[0-9a-f]{40}')
            .replace(/<[^>]+>/g, '.+')
            .replace(/…/g, '.*');
          return [pattern, new RegExp(`^${source}$`)];
        }),
    );
    const version = customerFeatures.version;
    const customer = customerKeys('c-1', version);
    const hash = eventHash('e-1');
    const monitored = {
      name: 'risk' as const,
      version: 3,
      baseline: buildBaseline({ columns: ['amount'], rows: [[1], [2], [3]] }),
    };
    const lock = 'fw:lock:<name>';
    const registry = 'fw:registry:{<model>}:…';
    /** Each key the code builds, with the row that documents it. */
    const keys: [row: string, key: string][] = [
      ['fw:{<customerId>}:<fs>:events', customer.history],
      ['fw:{<customerId>}:<fs>:firstseen', customer.firstSeen],
      ['fw:{<customerId>}:<fs>:latest', customer.latest],
      ['fw:{<customerId>}:<fs>:windows', customer.windowTree],
      ['fw:{<customerId>}:<fs>:claim:<sha1>', customerClaimKey('c-1', hash, version)],
      [
        'fw:backfill:<fs>:checkpoint:<from>-<to>',
        recordKey(checkpointKey(version, { from: 1_000, to: 2_000 })),
      ],
      ['fw:backfill:<fs>:complete', recordKey(completionKey(version))],
      ['fw:ingest:<customerId>:done:<sha1>', recordKey(ingestKeys.done('c-1', hash))],
      [lock, lockKey(ingestKeys.lock('c-1', hash))],
      ['fw:drift:{<model>}:v<version>:w<n>', driftKeys.window(monitored, 7)],
      ['fw:drift:{<model>}:v<version>:window', driftKeys.record(monitored, 'pointer')],
      ['…:history', driftKeys.record(monitored, 'history')],
      [lock, lockKey(driftLocks.cooldown({ name: 'risk', version: 3 }))],
      [lock, lockKey(promoteKeys.lock('risk', 3))],
      ['fw:promote:<model>:verdict:v<version>', recordKey(promoteKeys.verdict('risk', 3))],
      ['fw:registry:aliases', ALIAS_CHANNEL],
      [registry, registryKeys.nextVersion('risk')],
      [registry, registryKeys.versions('risk')],
      [registry, registryKeys.version('risk', 3)],
      [registry, registryKeys.artifact('risk', 3)],
      [registry, registryKeys.holdout('risk', 3)],
      [registry, registryKeys.alias('risk', 'champion')],
      [registry, registryKeys.history('risk')],
    ];
    for (const [row, key] of keys) {
      const regex = patterns.get(row);
      assert.ok(regex, `the storage table has no row ${row}`);
      assert.match(key, regex, `${key} is not what the row ${row} says`);
    }
    assert.deepEqual([...patterns.keys()].sort(), [...new Set(keys.map(([row]) => row))].sort());
  });

  it('gives a row of the layout table to every top-level folder and every shared/ module, naming only real paths', () => {
    const named = tableRows(section('### Layout')).flatMap(([p = '']) => backticked(p));
    for (const p of named) {
      const expanded = p.includes('<name>') ? FUNCTION_NAMES.map((f) => p.replace('<name>', f)) : [p];
      for (const e of expanded) assert.ok(existsSync(path.join(ROOT, e)), `${e} does not exist`);
    }
    const ignored = new Set(['node_modules', 'out', 'dist']);
    const dirs = (dir: string) =>
      readdirSync(path.join(ROOT, dir), { withFileTypes: true })
        .filter((d) => d.isDirectory() && !d.name.startsWith('.') && !ignored.has(d.name))
        .map((d) => path.posix.join(dir, d.name));
    for (const dir of [...dirs('.').map((d) => d.replace(/^\.\//, '')), ...dirs('shared')]) {
      assert.ok(
        named.some((p) => p === `${dir}/` || p.startsWith(`${dir}/`)),
        `${dir}/ has no row`,
      );
    }
  });

  it("lists npm start's options and ports as local/start.ts and the loop define them", () => {
    const help = execFileSync(process.execPath, ['--import', 'tsx', 'local/start.ts', '--help'], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    const options = (text: string) =>
      [...new Set(text.match(/--[a-z][a-z-]+/g))].filter((o) => o !== '--help');
    const sentence = /`npm start -- --help` lists the options: ([^.]+)\./.exec(main)?.[1];
    assert.ok(sentence, 'README.md does not list the options of npm start');
    assert.deepEqual(options(sentence).sort(), options(help).sort());
    const base = defaultConfig().FLYWHEEL_PORT_BASE;
    const flat = main.replace(/\s+/g, ' ');
    assert.ok(
      flat.includes(`dashboard on ${base + PORT_OFFSETS.broker}`),
      'port of the broker and dashboard',
    );
    for (const [name, offset] of Object.entries(PORT_OFFSETS)) {
      if (name !== 'broker') assert.ok(word(`${name} ${base + offset}`).test(flat), `port of ${name}`);
    }
  });

  it('names only npm scripts that package.json defines', () => {
    const { scripts } = z
      .object({ scripts: z.record(z.string(), z.string()) })
      .parse(JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')));
    const named = [...main.matchAll(/npm (?:run ([\w:-]+)|(start|test)\b)/g)].map((m) => m[1] ?? m[2] ?? '');
    assert.ok(named.length >= 4, `found ${named.length}`);
    for (const name of named) assert.ok(Object.hasOwn(scripts, name), `npm script ${name}`);
  });
});
