// The file log's own promises: segment rolling, torn-tail recovery, one writer queue per process, other processes.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFile, mkdtemp, open, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConflictError, DependencyError } from '../../../shared/errors/index.ts';
import { createFileEventLog, fileLogDir } from '../../../shared/log/file.ts';
import type { EventLog } from '../../../shared/log/types.ts';
import { partitionOf } from '../../../shared/log/records.ts';
import { createLogger } from '../../../shared/runtime/logger.ts';
import { consumeUntil, transactionRecord } from './support.ts';

const log = createLogger({ name: 'file-log', level: 'silent' });
let dataDir = '';
before(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'flywheel-file-log-'));
});
after(() => rm(dataDir, { recursive: true, force: true }));

const records = (customerId: string, count: number, from = 0) =>
  Array.from({ length: count }, (_, i) =>
    transactionRecord({ customerId, n: from + i, time: 1_000 + from + i }),
  );
const partitionPath = (topic: string, key: string) =>
  join(fileLogDir(dataDir, topic), `partition-${partitionOf(key, 4)}`);

/** Every partition holds offsets 0..end-1 without gaps, and every segment starts at the offset its name says. */
async function assertSegmentsConsistent(topic: string, events: EventLog): Promise<void> {
  for (const { partition, offset: end } of await events.endOffsets()) {
    const all = await events.readOffsets([{ partition, from: '0' }]);
    assert.deepEqual(
      all.map((r) => r.offset),
      Array.from({ length: Number(end) }, (_, i) => String(i)),
    );
    if (end === '0') continue;
    const dir = join(fileLogDir(dataDir, topic), `partition-${partition}`);
    const segments = await readdir(dir);
    assert.ok(
      segments.some((name) => Number(name.slice(0, 20)) === 0),
      `partition ${partition} has a segment starting at offset 0: ${segments.join(', ')}`,
    );
    for (const name of segments) {
      const firstLine = (await readFile(join(dir, name), 'utf8')).split('\n')[0] ?? '';
      const base = Number(name.slice(0, 20));
      assert.equal(all[base]?.id, JSON.parse(firstLine).id, `${name} starts at offset ${base}`);
    }
  }
}

describe('file event log', () => {
  it('rolls segments by size, naming each by its first offset, and reads across them without gaps', async () => {
    const events = createFileEventLog({ dataDir, topic: 'roll', log, segmentBytes: 2_000 });
    try {
      const written = records('cust-a', 20);
      await events.append(written.slice(0, 7));
      await events.append(written.slice(7));
      const names = (await readdir(partitionPath('roll', 'cust-a'))).sort();
      assert.ok(names.length >= 5, `expected several segments, got ${names.join(', ')}`);
      assert.equal(names[0], '00000000000000000000.jsonl');
      const partition = partitionOf('cust-a', 4);
      const all = await events.readOffsets([{ partition, from: '0' }]);
      assert.deepEqual(
        all.map((r) => [r.offset, r.id]),
        written.map((r, i) => [String(i), r.id]),
      );
      // Every segment starts where its name says.
      for (const name of names) {
        const base = Number(name.slice(0, 20));
        const [first] = await events.readOffsets([{ partition, from: String(base), to: String(base + 1) }]);
        const firstLine = (await readFile(join(partitionPath('roll', 'cust-a'), name), 'utf8')).split(
          '\n',
        )[0];
        assert.equal(first?.id, JSON.parse(firstLine ?? '{}').id);
      }
      const run = await consumeUntil({
        log: events,
        groupId: 'g',
        fromBeginning: true,
        done: (s) => s.length >= 20,
      });
      assert.deepEqual(
        run.batches.flat().map((r) => r.id),
        written.map((r) => r.id),
      );
    } finally {
      await events.close();
    }
  });

  it('cuts off a torn last line (a crash mid-write) before the next append, keeping offsets continuous', async () => {
    const first = createFileEventLog({ dataDir, topic: 'torn', log });
    await first.append(records('cust-a', 3));
    await first.close();
    const segment = join(partitionPath('torn', 'cust-a'), '00000000000000000000.jsonl');
    await appendFile(segment, '{"key":"cust-a","id":"half-writ');

    const second = createFileEventLog({ dataDir, topic: 'torn', log });
    try {
      // Readers take complete lines only.
      assert.equal((await second.readRange({ from: 0, to: 10_000 })).length, 3);
      await second.append(records('cust-a', 1, 3));
      const partition = partitionOf('cust-a', 4);
      assert.deepEqual(
        (await second.readOffsets([{ partition, from: '0' }])).map((r) => [r.offset, r.id]),
        [0, 1, 2, 3].map((n) => [String(n), `tx-cust-a-${n}`]),
      );
      assert.doesNotMatch(await readFile(segment, 'utf8'), /half-writ/);
    } finally {
      await second.close();
    }
  });

  it('serialises appends from several event logs of one process on the same directory', async () => {
    // Small segments, so concurrent appends would also race on rolling if they were not queued.
    const a = createFileEventLog({ dataDir, topic: 'shared', log, segmentBytes: 4_000 });
    const b = createFileEventLog({ dataDir, topic: 'shared', log, segmentBytes: 4_000 });
    try {
      const keys = ['cust-a', 'cust-b', 'cust-c'];
      await Promise.all(
        [a, b].flatMap((events, writer) =>
          keys.map(async (key) => {
            for (let round = 0; round < 10; round++) {
              await events.append(records(`${key}-${writer}`, 3, round * 3));
            }
          }),
        ),
      );
      const read = await a.readRange({ from: 0, to: 10_000 });
      assert.equal(read.length, 2 * 3 * 10 * 3);
      for (const key of new Set(read.map((r) => r.key))) {
        assert.deepEqual(
          read
            .filter((r) => r.key === key)
            .sort((x, y) => Number(x.offset) - Number(y.offset))
            .map((r) => r.id),
          Array.from({ length: 30 }, (_, n) => `tx-${key}-${n}`),
        );
      }
      await assertSegmentsConsistent('shared', a);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('refuses appends while another live process holds the writer lock, and takes over a dead one', async () => {
    const dir = fileLogDir(dataDir, 'locked');
    const other = spawn('sleep', ['30'], { stdio: 'ignore' });
    const events = createFileEventLog({ dataDir, topic: 'locked', log });
    try {
      await events.ping();
      await writeFile(join(dir, 'writer.lock'), String(other.pid));
      await assert.rejects(events.append(records('cust-a', 1)), ConflictError);
      const exited = new Promise((done) => other.once('exit', done));
      other.kill('SIGKILL');
      await exited;
      await events.append(records('cust-a', 1));
      assert.equal(await readFile(join(dir, 'writer.lock'), 'utf8'), String(process.pid));
      assert.equal((await events.readRange({ from: 0, to: 10_000 })).length, 1);
    } finally {
      other.kill('SIGKILL');
      await events.close();
    }
  });

  it('shows records appended by another process to readRange and to a running consumer', async () => {
    const events = createFileEventLog({ dataDir, topic: 'cross', log, pollMs: 50 });
    try {
      const moduleUrl = new URL('../../../shared/log/file.ts', import.meta.url).href;
      const script = `
        const { createFileEventLog } = await import(${JSON.stringify(moduleUrl)});
        const { transactionRecord } = await import(${JSON.stringify(new URL('./support.ts', import.meta.url).href)});
        const { createLogger } = await import(${JSON.stringify(new URL('../../../shared/runtime/logger.ts', import.meta.url).href)});
        const events = createFileEventLog({ dataDir: process.argv[1], topic: 'cross', log: createLogger({ name: 'child', level: 'silent' }) });
        await events.append([0, 1, 2].map((n) => transactionRecord({ customerId: 'cust-x', n, time: 1000 + n })));
        await events.close();`;
      const run = consumeUntil({
        log: events,
        groupId: 'watcher',
        fromBeginning: true,
        done: (s) => s.length >= 3,
      });
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', '--input-type=module', '-e', script, resolve(dataDir)],
        {
          stdio: ['ignore', 'ignore', 'pipe'],
        },
      );
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      const code = await new Promise((done) => child.once('exit', done));
      assert.equal(code, 0, stderr);
      assert.deepEqual(
        (await run).batches.flat().map((r) => r.id),
        ['tx-cust-x-0', 'tx-cust-x-1', 'tx-cust-x-2'],
      );
      assert.deepEqual(
        (await events.readRange({ from: 0, to: 10_000 })).map((r) => r.id),
        ['tx-cust-x-0', 'tx-cust-x-1', 'tx-cust-x-2'],
      );
    } finally {
      await events.close();
    }
  });

  it('runs one consumer per group in a process and refuses a second one with ConflictError', async () => {
    const events = createFileEventLog({ dataDir, topic: 'groups', log });
    try {
      const first = await events.consume({
        groupId: 'g',
        fromBeginning: true,
        onBatch: async () => undefined,
      });
      await assert.rejects(
        events.consume({ groupId: 'g', fromBeginning: true, onBatch: async () => undefined }),
        ConflictError,
      );
      await first.stop();
      const again = await events.consume({
        groupId: 'g',
        fromBeginning: true,
        onBatch: async () => undefined,
      });
      await again.stop();
    } finally {
      await events.close();
    }
  });

  it('fdatasyncs every append by default, and none with fsync off (FILE_LOG_FSYNC=false)', async (t) => {
    const handle = await open(join(dataDir, 'probe'), 'w');
    const prototype = Object.getPrototypeOf(handle) as { datasync: () => Promise<void> };
    await handle.close();
    const datasync = t.mock.method(prototype, 'datasync');
    const synced = createFileEventLog({ dataDir, topic: 'fsync-on', log });
    await synced.append(records('c-sync', 3));
    await synced.append(records('c-sync', 2, 3));
    await synced.close();
    assert.equal(datasync.mock.callCount(), 2, 'one fdatasync per append (one partition each)');
    datasync.mock.resetCalls();
    const unsynced = createFileEventLog({ dataDir, topic: 'fsync-off', log, fsync: false });
    await unsynced.append(records('c-nosync', 3));
    assert.deepEqual(
      (await unsynced.readRange({ from: 0, to: 10_000 })).map((r) => r.id),
      records('c-nosync', 3).map((r) => r.id),
    );
    await unsynced.close();
    assert.equal(datasync.mock.callCount(), 0);
  });

  it('turns an unusable data directory into DependencyError and a false ping', async () => {
    const notADirectory = join(dataDir, 'plain-file');
    await writeFile(notADirectory, 'x');
    const events = createFileEventLog({ dataDir: notADirectory, topic: 'broken', log });
    try {
      await assert.rejects(
        events.append(records('cust-a', 1)),
        (err: unknown) => err instanceof DependencyError && err.dependency === 'file-log',
      );
      await assert.rejects(events.readRange({ from: 0, to: 10 }), DependencyError);
      assert.equal(await events.ping(), false);
    } finally {
      await events.close();
    }
  });
});
