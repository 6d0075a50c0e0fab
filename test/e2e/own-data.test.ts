// `npm start -- --no-demo` as its own process, fed with the example CSVs by `flywheel send`, champions asked for by
// `flywheel train` through the loop, then scores from the REST API with both versions.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PORT_OFFSETS } from '../../local/loop.ts';
import { eventually } from '../support/http.ts';
import { freeBlock } from '../support/ports.ts';
import { flywheel, ROOT } from '../shared/send/support.ts';
import { type Started, startProcess } from './support/start-process.ts';

/** The example files: transactions.csv has two rows broken on purpose (examples/generate.ts BROKEN). */
const TRANSACTIONS = 1555;
const LABELS = 137;

interface Snapshot {
  totals: { ingested: number; labels: number; scored: number };
  champions: { risk: number | null; segment: number | null };
}

describe('npm start -- --no-demo with the example files', () => {
  let base: number;
  let dir: string;
  let loop: Started;
  let env: Record<string, string>;
  const snapshot = async (): Promise<Snapshot> =>
    (await (await fetch(`http://127.0.0.1:${base}/dashboard/data`)).json()) as Snapshot;

  before(async () => {
    base = await freeBlock();
    dir = await mkdtemp(path.join(tmpdir(), 'flywheel-own-'));
    // the CPU backend, as the other loop tests: no backend probe
    env = { FLYWHEEL_PORT_BASE: String(base), TRAINING_BACKEND: 'cpu' };
    loop = startProcess(
      process.execPath,
      ['--import', 'tsx', 'local/start.ts', '--no-demo', '--data-dir', dir],
      {
        cwd: ROOT,
        env: { ...process.env, ...env },
      },
    );
    await loop.waitFor(/waiting for events/, 60_000);
  });
  after(async () => {
    await loop?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('starts with no replay, no champions and no traffic, and says how to send data and ask for champions', async () => {
    const out = loop.output();
    assert.match(out, /npx flywheel send transactions\.csv/);
    assert.match(out, /npx flywheel train --model risk --since/);
    assert.match(out, /npx flywheel train --model segment --since/);
    assert.match(out, new RegExp(`127\\.0\\.0\\.1:${base + PORT_OFFSETS.ingest}/`));
    assert.doesNotMatch(out, /history: replaying/);
    const s = await snapshot();
    assert.deepEqual(s.totals.ingested, 0);
    assert.deepEqual(s.champions, { risk: null, segment: null });
  });

  it('takes the example files through ingest (broken rows rejected by line and field), and a risk run before labels fails saying so', async () => {
    const tx = await flywheel(['send', 'examples/transactions.csv'], env);
    assert.equal(tx.code, 1, tx.stdout + tx.stderr);
    assert.match(tx.stdout, new RegExp(`accepted ${TRANSACTIONS}, duplicate 0, rejected 2, not sent 0`));
    assert.match(tx.stdout, /line 101: rejected by ingest — data\.country:/);
    assert.match(tx.stdout, /line 202: rejected by ingest — data\.occurredAt:/);
    // risk asked for before any label: the run fails, and the command says what to send
    const early = await flywheel(
      ['train', '--model', 'risk', '--since', '2026-10-01T00:00:00Z', '--wait', '--timeout', '300'],
      env,
    );
    assert.equal(early.code, 1, early.stdout + early.stderr);
    assert.match(early.stdout, /risk: failed — /);
    assert.match(
      early.stdout,
      /risk learns from fraud labels: send them before asking \(npx flywheel send labels\.csv\)/,
    );
    assert.doesNotMatch(early.stdout, /promoted/);
    const labels = await flywheel(['send', 'examples/labels.csv'], env);
    assert.equal(labels.code, 0, labels.stdout + labels.stderr);
    assert.match(labels.stdout, new RegExp(`accepted ${LABELS}, duplicate 0`));
    // the loop saw each accepted event once: the terminal's progress line counts them
    await eventually(async () => {
      const s = await snapshot();
      return s.totals.ingested === TRANSACTIONS && s.totals.labels === LABELS ? true : undefined;
    }, 30_000);
    await loop.waitFor(new RegExp(`ingested ${TRANSACTIONS} `), 10_000);
  });

  it('trains risk and segment through the loop on request, and score serves both champions', async () => {
    for (const model of ['risk', 'segment'] as const) {
      const r = await flywheel(
        ['train', '--model', model, '--since', '2026-10-01T00:00:00Z', '--wait', '--timeout', '300'],
        env,
      );
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, new RegExp(`${model}: launched`));
      // the run that failed for want of labels registered nothing: this one is v1
      assert.match(r.stdout, new RegExp(`${model}: promoted v1`));
      assert.match(r.stdout, new RegExp(`${model}: score serves champion v1`));
    }
    const res = await fetch(`http://127.0.0.1:${base + PORT_OFFSETS.score}/v1/score`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ customerIds: ['cust-00001', 'cust-00017'] }),
    });
    assert.equal(res.status, 200);
    const { results } = (await res.json()) as {
      results: {
        customerId: string;
        risk: number;
        defaults?: boolean;
        model: { version: number };
        segmentModel: { version: number };
      }[];
    };
    assert.equal(results.length, 2);
    for (const r of results) {
      assert.equal(r.defaults, undefined, `${r.customerId} has features in the store`);
      assert.ok(r.risk >= 0 && r.risk <= 1);
      assert.equal(r.model.version, 1);
      assert.equal(r.segmentModel.version, 1);
    }
  });

  it('stops cleanly on SIGTERM', async () => {
    assert.equal(await loop.stop(), 0);
    assert.match(loop.output(), /stopped\./);
  });
});
