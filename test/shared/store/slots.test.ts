// Every multi-key operation the Redis store sends keeps its keys in one Redis Cluster slot, as Redis hashes them.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { MODEL_NAMES } from '../../../shared/events/types.ts';
import { createLogger } from '../../../shared/runtime/logger.ts';
import { createRedisStore, type OnlineStore } from '../../../shared/store/index.ts';
import { driftKeys, registryKeys } from '../../../shared/store/keys.ts';
import { hashSlot } from '../../../shared/store/slot.ts';
import { planApply } from '../../../shared/store/validate.ts';
import { freePort } from '../../support/ports.ts';
import { type RedisServer, redisCommand, spawnServer, startRedis } from '../../support/redis.ts';
import { customerEvent, unique } from './contract-support.ts';

/** ioredis' own slot function (its dependency, untyped): an implementation independent of the store's. */
const clusterKeySlot = createRequire(import.meta.url)('cluster-key-slot') as (key: string) => number;

const log = createLogger({ name: 'store-slots', level: 'silent' });
const ALIASES = ['champion', 'challenger'] as const;

/** Watches every command a redis-server runs (MONITOR), decoded into arguments; scripts' inner calls left out. */
async function monitor(port: number): Promise<{ commands: string[][]; close(): void }> {
  const commands: string[][] = [];
  const socket = net.connect({ port, host: '127.0.0.1' });
  let buffered = '';
  socket.setEncoding('latin1'); // MONITOR escapes non-ASCII bytes; keep the rest byte for byte
  socket.on('data', (chunk: string) => {
    buffered += chunk;
    let eol = buffered.indexOf('\r\n');
    while (eol >= 0) {
      const line = buffered.slice(0, eol);
      buffered = buffered.slice(eol + 2);
      eol = buffered.indexOf('\r\n');
      if (!line.startsWith('+') || line === '+OK' || / \[\d+ lua\] /.test(line)) continue;
      commands.push([...line.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => unescapeArg(m[1] ?? '')));
    }
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.once('data', () => resolve());
    socket.write('MONITOR\r\n');
  });
  return { commands, close: () => socket.destroy() };
}

/** MONITOR's quoting (sdscatrepr) back to the argument's UTF-8 text. */
function unescapeArg(text: string): string {
  const bytes: number[] = [];
  const simple: Record<string, number> = { n: 10, r: 13, t: 9, a: 7, b: 8, '"': 34, '\\': 92 };
  for (let i = 0; i < text.length; i++) {
    const c = text[i] ?? '';
    if (c !== '\\') {
      bytes.push(c.charCodeAt(0));
      continue;
    }
    const next = text[i + 1] ?? '';
    if (next === 'x') {
      bytes.push(Number.parseInt(text.slice(i + 2, i + 4), 16));
      i += 3;
    } else {
      bytes.push(simple[next] ?? next.charCodeAt(0));
      i += 1;
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/** The keys of a command that names several: EVAL/EVALSHA's declared keys (MULTI blocks are not used). */
function multiKeys(command: readonly string[]): string[] | undefined {
  const [name = '', , numkeys = '0', ...rest] = command;
  if (!/^eval(sha)?(_ro)?$/i.test(name)) return undefined;
  return rest.slice(0, Number(numkeys));
}

describe('Redis store keys and cluster slots', () => {
  let server: RedisServer;
  let store: OnlineStore;
  before(async () => {
    server = await startRedis();
    store = createRedisStore({ url: server.url, timeoutMs: 2000, log });
  });
  after(async () => {
    await store.close();
    await server.stop();
  });

  it('sends every script whose keys are several with all of them in one slot', async () => {
    const watcher = await monitor(server.port);
    try {
      const customers = ['c-1', unique('cust'), 'Ünïcødé-客户-😀', 'a:b:c', 'x'.repeat(200)];
      for (const customerId of customers) {
        await store.applyCustomerEvent(customerEvent({ customerId, firstSeen: ['country:DE', 'device:x'] }));
      }
      await store.readCustomers(customers, { retentionMs: 3_600_000, windowsMs: [3_600_000] });
      for (const name of MODEL_NAMES) {
        for (const alias of ALIASES) {
          await store.moveAlias({
            model: name,
            alias,
            expected: null,
            next: '1',
            historyEntry: '{}',
            notice: '{}',
          });
        }
      }
      await store.acquireLock('l', 'me', 1000);
      await store.renewLock('l', 'me', 1000);
      await store.releaseLock('l', 'me');
      await store.addDriftCounts({ name: 'risk', version: 1 }, 0, { a: 1, b: 2 }, 1000);
      await sleep(100); // MONITOR lines trail the replies; a lost line shows as a missing script below
    } finally {
      watcher.close();
    }
    const scripts = watcher.commands.map(multiKeys).filter((k): k is string[] => k !== undefined);
    const multi = scripts.filter((keys) => keys.length > 1);
    const counts = new Map<number, number>();
    for (const keys of multi) counts.set(keys.length, (counts.get(keys.length) ?? 0) + 1);
    // 5 applies (5 keys), 5 reads (4 keys), one compare-and-set with history per model and alias (2 keys)
    assert.deepEqual(
      Object.fromEntries(counts),
      { 5: 5, 4: 5, 2: MODEL_NAMES.length * ALIASES.length },
      'the multi-key scripts seen',
    );
    for (const keys of multi) {
      assert.equal(new Set(keys.map(clusterKeySlot)).size, 1, `one slot for ${keys.join(' ')}`);
    }
  });

  it("keeps a customer's featurize keys, a model's registry records and its drift windows in one slot, whatever the names", () => {
    const ids = Array.from(
      { length: 500 },
      (_, i) => `${i}-${unique('c')}-${String.fromCodePoint(0x4e00 + i)}`,
    );
    for (const customerId of ids) {
      const p = planApply(customerEvent({ customerId }));
      const keys = [p.history, p.firstSeenKey, p.claim, p.latest];
      assert.equal(new Set(keys.map(clusterKeySlot)).size, 1, keys.join(' '));
    }
    for (const name of MODEL_NAMES) {
      const monitor = { name, version: 3 };
      const keys = [
        ...ALIASES.map((a) => registryKeys.alias(name, a)),
        registryKeys.history(name),
        registryKeys.nextVersion(name),
        registryKeys.versions(name),
        registryKeys.version(name, 3),
        registryKeys.artifact(name, 3),
        registryKeys.holdout(name, 3),
        driftKeys.record(monitor, 'pointer'),
        driftKeys.record(monitor, 'history'),
        driftKeys.window(monitor, 7),
      ];
      assert.equal(new Set(keys.map(clusterKeySlot)).size, 1, keys.join(' '));
    }
  });

  it('computes the slot of a key as Redis does (CLUSTER KEYSLOT on a cluster-enabled server)', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'fw-keyslot-'));
    const port = await freePort();
    const node = await spawnServer(port, [
      '--appendonly',
      'no',
      '--cluster-enabled',
      'yes',
      '--cluster-config-file',
      path.join(dir, 'nodes.conf'),
    ]);
    try {
      const keys = [
        'a',
        'fw:{c-1}:events',
        'foo{}{bar}',
        '{}',
        'x{y',
        '{a}{b}',
        'Ünïcødé-😀',
        'fw:registry:{risk}:history',
      ];
      for (const key of keys) {
        assert.equal(hashSlot(key), Number(await redisCommand(port, ['CLUSTER', 'KEYSLOT', key])), key);
      }
    } finally {
      node.signal('SIGKILL');
      await node.exited;
      await rm(dir, { recursive: true, force: true });
    }
  });
});
