// `flywheel send` against a real ingest: every row answered (accepted, duplicate, or rejected with line and field),
// nothing lost or doubled in the event log, a re-send all duplicates, 503s and dead ports retried or reported.
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EventTypes } from '../../../shared/events/index.ts';
import { freePort } from '../../support/ports.ts';
import { flywheel, type Ingest, startIngest } from './support.ts';

const GOOD_EXTRA = 40;
/** Lines 1–10 by hand (line 3's quoted field spans lines 3–4), then GOOD_EXTRA valid rows. */
const CSV = [
  'transactionId,customerId,amount,currency,merchantCategory,channel,country,deviceId,occurredAt',
  't-1,c-1,12.50,EUR,"food, drink",pos,DE,"dev ""A""",2026-10-01T10:00:00Z',
  't-2,c-1,7,eur,"books',
  'and more",online,fr,,1790000000000',
  't-3,c-2,-5,EUR,grocery,pos,DE,,2026-10-01T11:00:00Z',
  't-4,c-2,10,XXQ,grocery,pos,DE,,2026-10-01T11:05:00Z',
  't-5,c-3,10,EUR,grocery,bike,DE,,2026-10-01T11:10:00Z',
  't-6,c-3,10,EUR,gro"cery,pos,DE,,2026-10-01T11:15:00Z',
  ',c-4,10,EUR,grocery,pos,DE,,2026-10-01T11:20:00Z',
  't-8,c-4,10,EUR,grocery,pos',
  ...Array.from(
    { length: GOOD_EXTRA },
    (_, i) =>
      `g-${i},c-${i % 5},${(i + 1) * 3}.25,EUR,grocery,pos,NL,,${new Date(Date.UTC(2026, 9, 2, 0, i)).toISOString()}`,
  ),
].join('\r\n');
const GOOD = 2 + GOOD_EXTRA;

const accepted = async (ingest: Ingest) =>
  (await ingest.records()).filter((r) => r.type === EventTypes.transactionAccepted);

describe('flywheel send', () => {
  let ingest: Ingest;
  let dir: string;
  let file: string;

  before(async () => {
    ingest = await startIngest();
    dir = await mkdtemp(path.join(tmpdir(), 'send-files-'));
    file = path.join(dir, 'transactions.csv');
    await writeFile(file, CSV);
  });
  after(async () => {
    await ingest?.stop();
  });

  it('reports each rejected or unreadable row with its line and field, accepts every good row, and logs each once', async () => {
    const { code, stdout } = await flywheel(['send', file, '--url', ingest.url, '--batch', '7']);
    assert.equal(code, 1, stdout);
    assert.match(stdout, new RegExp(`accepted ${GOOD}, duplicate 0, rejected 3, not sent 3`));
    const lines = stdout.split('\n').filter((l) => l.startsWith('  line '));
    assert.deepEqual(
      lines.map((l) => /^ {2}line (\d+): (rejected by ingest|not sent) — ([\w.]+):/.exec(l)?.slice(1)),
      [
        ['5', 'rejected by ingest', 'data.amount'],
        ['6', 'rejected by ingest', 'data.currency'],
        ['7', 'rejected by ingest', 'data.channel'],
        ['8', 'not sent', 'csv'],
        ['9', 'not sent', 'transactionId'],
        ['10', 'not sent', 'csv'],
      ],
    );
    const logged = await accepted(ingest);
    assert.equal(logged.length, GOOD);
    assert.equal(new Set(logged.map((r) => r.id)).size, GOOD);
    assert.equal(ingest.published.length, GOOD);
    // quoted commas, doubled quotes and a line break inside quotes arrive as written
    const byId = new Map(
      ingest.published.map((e) => {
        const data = e.data as Record<string, unknown>;
        return [data.transactionId, data];
      }),
    );
    assert.equal(byId.get('t-1')?.merchantCategory, 'food, drink');
    assert.equal(byId.get('t-1')?.deviceId, 'dev "A"');
    assert.equal(byId.get('t-2')?.merchantCategory, 'books\r\nand more'); // RFC 4180: kept as written
    assert.equal(byId.get('t-2')?.occurredAt, 1790000000000);
    assert.equal(byId.get('t-2')?.currency, 'EUR');
  });

  it('answers a second send of the same file with duplicates only, and logs nothing more', async () => {
    const { code, stdout } = await flywheel(['send', file, '--url', ingest.url]);
    assert.equal(code, 1, stdout);
    assert.match(stdout, new RegExp(`accepted 0, duplicate ${GOOD}, rejected 3, not sent 3`));
    assert.equal((await accepted(ingest)).length, GOOD);
  });

  it('sends a labels file as labels without --type (it has isFraud), and mixed JSON Lines by their type key', async () => {
    const labels = path.join(dir, 'labels.csv');
    await writeFile(
      labels,
      'transactionId,customerId,isFraud,labelledAt\nt-1,c-1,true,2026-10-02T10:00:00Z\ng-0,c-0,0,1790000000000\n',
    );
    const l = await flywheel(['send', labels, '--url', ingest.url]);
    assert.equal(l.code, 0, l.stdout);
    assert.match(l.stdout, /accepted 2, duplicate 0, rejected 0, not sent 0/);
    const mixed = path.join(dir, 'mixed.jsonl');
    await writeFile(
      mixed,
      [
        JSON.stringify({
          type: 'transaction',
          transactionId: 'j-1',
          customerId: 'c-9',
          amount: 5,
          currency: 'EUR',
          merchantCategory: 'cafe',
          channel: 'pos',
          country: 'DE',
          occurredAt: '2026-10-03T08:00:00Z',
        }),
        JSON.stringify({
          type: 'label',
          transactionId: 'j-1',
          customerId: 'c-9',
          isFraud: false,
          labelledAt: '2026-10-04T08:00:00Z',
        }),
        '{"transactionId": "j-2",',
      ].join('\n'),
    );
    const m = await flywheel(['send', mixed, '--url', ingest.url]);
    assert.equal(m.code, 1, m.stdout);
    assert.match(m.stdout, /accepted 2, duplicate 0, rejected 0, not sent 1/);
    assert.match(m.stdout, /line 3: not sent — json:/);
    const labelsLogged = (await ingest.records()).filter((r) => r.type === EventTypes.labelAccepted);
    assert.equal(labelsLogged.length, 3);
  });

  it('sends a batch answered 503 again whole: ingest answers what it took as duplicates, nothing lost or doubled', async () => {
    const fresh = await startIngest();
    const rows = Array.from(
      { length: 30 },
      (_, i) =>
        `r-${i},c-${i % 3},${i + 1},EUR,grocery,pos,DE,,${new Date(Date.UTC(2026, 9, 5, 0, i)).toISOString()}`,
    );
    const retried = path.join(dir, 'retried.csv');
    await writeFile(retried, `${CSV.split('\r\n')[0]}\n${rows.join('\n')}\n`);
    // 1st request: reaches ingest, but its answer is lost (503 instead); 2nd: 503 without reaching ingest
    let requests = 0;
    const proxy = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const n = ++requests;
        const forward = () =>
          fetch(fresh.url, {
            method: 'POST',
            headers: { 'content-type': req.headers['content-type'] ?? '' },
            body: Buffer.concat(chunks),
          });
        void (async () => {
          if (n === 2) {
            res.writeHead(503).end();
            return;
          }
          const answer = await forward();
          const text = await answer.text();
          if (n === 1) res.writeHead(503).end();
          else
            res
              .writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? '' })
              .end(text);
        })();
      });
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    const port = (proxy.address() as { port: number }).port;
    try {
      const { code, stdout, stderr } = await flywheel([
        'send',
        retried,
        '--url',
        `http://127.0.0.1:${port}/`,
        '--batch',
        '10',
      ]);
      assert.equal(code, 0, stdout + stderr);
      assert.match(stdout, /accepted 20, duplicate 10, rejected 0, not sent 0 \(2 batches sent again\)/);
      assert.match(stderr, /ingest answered 503; the batch is sent again/);
      assert.equal(requests, 5);
      const logged = (await fresh.records()).filter((r) => r.type === EventTypes.transactionAccepted);
      assert.equal(logged.length, 30);
      assert.equal(new Set(logged.map((r) => r.id)).size, 30);
      assert.equal(fresh.published.length, 30);
    } finally {
      await new Promise((r) => proxy.close(r));
      await fresh.stop();
    }
  });

  it('exits 3 when nothing answers at the URL after the retries', async () => {
    const port = await freePort();
    const { code, stdout } = await flywheel([
      'send',
      file,
      '--url',
      `http://127.0.0.1:${port}/`,
      '--retries',
      '2',
    ]);
    assert.equal(code, 3, stdout);
    assert.match(
      stdout,
      /ingest unreachable: no answer from ingest \(ECONNREFUSED\), still after 2 attempts/,
    );
    assert.match(stdout, /accepted 0, duplicate 0, rejected 0, not sent 3/);
  });

  it('exits 2 on a usage error, sending nothing', async () => {
    for (const args of [
      ['send'],
      ['send', file, '--type', 'refund'],
      ['send', path.join(dir, 'x.txt')],
      ['send', file, '--batch', '0'],
    ]) {
      const { code, stderr } = await flywheel(args);
      assert.equal(code, 2, `${args.join(' ')}: ${stderr}`);
      assert.match(stderr, /usage: flywheel send/);
    }
  });
});
