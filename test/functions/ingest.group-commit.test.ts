// ingest's group commit on a real file log: records that arrive while appends are in flight share the next append.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { groupAppend } from '../../functions/ingest/group-append.ts';
import { DependencyError } from '../../shared/errors/index.ts';
import { createFileEventLog, type EventLog, type LogRecord } from '../../shared/log/index.ts';
import { createLogger } from '../../shared/runtime/index.ts';
import { gate } from '../support/gate.ts';

const log = createLogger({ name: 'group-commit', level: 'silent' });

const record = (id: string): LogRecord => ({
  key: `c-${Number(id.replace(/\D/g, '')) % 7}`,
  id,
  source: 'test',
  type: 'dev.flywheel.transaction.accepted',
  time: 1_000,
  value: JSON.stringify({ id }),
});

describe("ingest's group commit", () => {
  let dir: string;
  let fileLog: EventLog;
  /** Every append call the group commit made, with its records' ids. */
  let calls: string[][];
  /** When set, each append call waits for this before it reaches the log. */
  let hold: (() => Promise<void>) | undefined;
  /** When set, the next append call fails with it instead of reaching the log. */
  let failNext: Error | undefined;
  const counted: Pick<EventLog, 'append'> = {
    append: async (records) => {
      calls.push(records.map((r) => r.id));
      await hold?.();
      const failure = failNext;
      failNext = undefined;
      if (failure) throw failure;
      await fileLog.append(records);
    },
  };

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'group-commit-'));
    fileLog = createFileEventLog({ dataDir: dir, topic: 'events', log });
  });
  after(async () => {
    await fileLog.close();
    await rm(dir, { recursive: true, force: true });
  });

  const storedIds = async () => (await fileLog.readRange({ from: 0, to: 2_000 })).map((r) => r.id).sort();

  it('sends the records that arrive while both appends are in flight as one append, each stored once', async () => {
    calls = [];
    const held = gate();
    hold = held.wait;
    const append = groupAppend(counted);
    const waiting = [append(record('g0'))];
    await nextTurn();
    waiting.push(append(record('g1')));
    await nextTurn();
    // both appends are in flight: 100 records, one per event-loop turn, wait for a free one
    for (let i = 2; i < 102; i++) {
      waiting.push(append(record(`g${i}`)));
      await nextTurn();
    }
    assert.equal(calls.length, 2, 'records went out while both appends were in flight');
    hold = undefined;
    held.open();
    await Promise.all(waiting);
    assert.deepEqual(
      calls.map((c) => c.length),
      [1, 1, 100],
    );
    const ids = (await storedIds()).filter((id) => id.startsWith('g'));
    assert.equal(ids.length, 102);
    assert.equal(new Set(ids).size, 102);
  });

  it('rejects every record of a failed append and only those; the next group is stored', async () => {
    calls = [];
    failNext = new DependencyError('file-log', 'disk full');
    const append = groupAppend(counted);
    const first = [append(record('f0')), append(record('f1'))];
    const outcomes = await Promise.allSettled(first);
    assert.deepEqual(
      outcomes.map((o) => o.status),
      ['rejected', 'rejected'],
    );
    await append(record('f2'));
    assert.deepEqual(calls, [['f0', 'f1'], ['f2']]);
    const ids = (await storedIds()).filter((id) => id.startsWith('f'));
    assert.deepEqual(ids, ['f2']);
  });

  it('with a linger, gathers records of separate event-loop turns into one append', async () => {
    calls = [];
    const append = groupAppend(counted, { lingerMs: 50 });
    const first = append(record('l0'));
    await nextTurn();
    const second = append(record('l1'));
    await Promise.all([first, second]);
    assert.deepEqual(calls, [['l0', 'l1']]);
  });

  it('never sends more than maxBatch records in one append', async () => {
    calls = [];
    const append = groupAppend(counted, { maxBatch: 40 });
    await Promise.all(Array.from({ length: 100 }, (_, i) => append(record(`m${i}`))));
    assert.ok(
      calls.every((c) => c.length <= 40),
      `groups of ${calls.map((c) => c.length)}`,
    );
    assert.equal(calls.flat().length, 100);
  });
});
