// Online features: Feast's feature server on a Redis online store beside score (reads) and featurize (writes) on the
// same redis-server, for the same customers with the same 16 feature values, driven by the same generators.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { customerFeatures } from '../../shared/features/index.ts';
import { createLogger } from '../../shared/runtime/index.ts';
import { createRedisStore, type OnlineStore } from '../../shared/store/index.ts';
import { type RedisServer, startRedis } from '../../test/support/redis.ts';
import { type ChildTarget, startChild } from '../support/child.ts';
import type { RequestParts } from '../support/load.ts';
import { acceptedBinary, progress } from '../support/workload.ts';
import {
  type Paced,
  pace,
  pacedTable,
  perSecond,
  ratio,
  type Saturation,
  saturate,
  saturationTable,
  type Target,
} from './compare.ts';
import { type FlywheelScore, type SeededCustomers, seedCustomers, startFlywheelScore } from './flywheel.ts';
import type { SectionResult, SummaryRow } from './section.ts';
import { feastRead, feastReadBody, pushBody, startFeast } from './feast.ts';
import { JSON_HEADERS, type PeerServer, post } from './server.ts';
import { frozenVersions } from './venv.ts';

const CUSTOMERS = 10_000;
const HISTORY_DAYS = 7;
const BATCH = 100;
const COLUMNS = customerFeatures.columns;

const ScoreResponse = z.object({ results: z.array(z.object({ customerId: z.string() }).loose()) });

function scoreBody(ids: readonly string[]): string {
  return JSON.stringify(ids.length === 1 ? { customerId: ids[0] } : { customerIds: ids });
}

/** Checks that Feast holds each customer's vector exactly as score computes it, and that score knows them all. */
async function checkReads(feast: string, scoreUrl: string, seeded: SeededCustomers): Promise<void> {
  const ids = seeded.customers.slice(0, BATCH);
  const features = await feastRead(feast, ids);
  ids.forEach((id, row) => {
    const expected = seeded.vectors.get(id) ?? [];
    COLUMNS.forEach((c, i) => {
      const got = features.get(c)?.[row];
      if (got !== expected[i]) throw new Error(`Feast's ${c} of ${id} is ${got}, score's ${expected[i]}`);
    });
  });
  for (const batch of [ids.slice(0, 1), ids]) {
    const r = await post(scoreUrl, scoreBody(batch));
    const results = r.status === 200 ? ScoreResponse.parse(JSON.parse(r.text)).results : [];
    if (results.length !== batch.length || r.text.includes('"defaults"')) {
      throw new Error(`score answered ${r.status}: ${r.text.slice(0, 500)}`);
    }
  }
}

interface ReadPair {
  customers: number;
  saturation: Map<string, Saturation>;
  paced: Map<string, Paced>;
  rate: number;
}

const FEAST_READ = (n: number) => `Feast get-online-features, ${n} customer${n === 1 ? '' : 's'}`;
const SCORE_READ = (n: number) => `Flywheel score by ${n === 1 ? 'customerId' : `customerIds (${n})`}`;
const FEAST_PUSH = 'Feast push, 1 row';
const FEATURIZE = 'Flywheel featurize, 1 event';

export async function runFeaturesSection(opts: { seconds: number; rounds: number }): Promise<SectionResult> {
  const dir = await mkdtemp(path.join(tmpdir(), 'peers-features-'));
  const log = createLogger({ name: 'bench-peers', level: 'warn' });
  let redis: RedisServer | null = null;
  let store: OnlineStore | null = null;
  let score: FlywheelScore | null = null;
  let sink: ChildTarget | null = null;
  let pipeline: ChildTarget | null = null;
  let feast: PeerServer | null = null;
  try {
    redis = await startRedis();
    store = createRedisStore({ url: redis.url, timeoutMs: 5_000, log });
    const seeded = await seedCustomers({ store, customers: CUSTOMERS, days: HISTORY_DAYS, seed: 51 });
    score = await startFlywheelScore({ store, redisUrl: redis.url });
    sink = await startChild('bench/support/peers.ts');
    pipeline = await startChild('bench/support/pipeline-targets.ts', {
      env: { BENCH_REDIS_URL: redis.url, BENCH_SINK_URL: `${sink.info.sink ?? ''}/`, BENCH_LOG_DIR: dir },
    });
    feast = await startFeast(dir, redis, seeded);
    const scoreUrl = `${score.base}v1/score`;
    await checkReads(feast.url, scoreUrl, seeded);
    progress("Feast holds score's feature values for every customer checked");

    const reads: ReadPair[] = [];
    for (const n of [1, BATCH]) {
      const groups: string[][] = [];
      for (let i = 0; i + n <= seeded.customers.length; i += n) groups.push(seeded.customers.slice(i, i + n));
      const targets = [
        { name: FEAST_READ(n), url: `${feast.url}/get-online-features`, bodies: groups.map(feastReadBody) },
        { name: SCORE_READ(n), url: scoreUrl, bodies: groups.map(scoreBody) },
      ];
      const saturation = await saturate(targets, opts);
      const max = (name: string) => saturation.get(name)?.median.requestsPerSecond ?? 0;
      const rate = Math.max(1, Math.floor(Math.min(...targets.map((t) => max(t.name))) / 2));
      reads.push({ customers: n, saturation, paced: await pace(targets, rate, opts), rate });
    }

    const writes = await measureWrites(feast.url, pipeline.info.featurize ?? '', seeded, opts);
    return report(reads, writes, seeded);
  } finally {
    await feast?.stop();
    await pipeline?.stop();
    await sink?.stop();
    await score?.target.stop();
    await store?.close();
    await redis?.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Feast push of one row and featurize applying one event, flat out through autocannon with a fresh request each. */
async function measureWrites(
  feast: string,
  featurize: string,
  seeded: SeededCustomers,
  opts: { seconds: number; rounds: number },
): Promise<Map<string, Saturation>> {
  const { stream, vectors } = seeded;
  let seq = 0;
  const push = (): RequestParts => {
    const tx = stream.next();
    return {
      headers: JSON_HEADERS,
      body: pushBody(tx.customerId, vectors.get(tx.customerId) ?? [], Number(tx.amount)),
    };
  };
  const event = (): RequestParts => acceptedBinary(stream.next(), `peers-${seq++}`);
  const pushed = await post(`${feast}/push`, push().body ?? '');
  if (pushed.status !== 200)
    throw new Error(`Feast push answered ${pushed.status}: ${pushed.text.slice(0, 500)}`);
  const one = event();
  const applied = await post(featurize, one.body ?? '', one.headers);
  if (applied.status !== 200)
    throw new Error(`featurize answered ${applied.status}: ${applied.text.slice(0, 500)}`);
  const targets: Target[] = [
    { name: FEAST_PUSH, url: `${feast}/push`, next: push },
    { name: FEATURIZE, url: featurize, next: event },
  ];
  return saturate(targets, opts);
}

function readRows(r: ReadPair): SummaryRow[] {
  const feast = r.saturation.get(FEAST_READ(r.customers))?.median.requestsPerSecond ?? Number.NaN;
  const fly = r.saturation.get(SCORE_READ(r.customers))?.median.requestsPerSecond ?? Number.NaN;
  const one = r.customers === 1;
  const rows: SummaryRow[] = [
    {
      comparison: `online features for ${r.customers} customer${one ? '' : 's'}: customers/s at saturation (score reads and scores them)`,
      peer: 'Feast',
      flywheel: perSecond(fly * r.customers),
      peerValue: perSecond(feast * r.customers),
      ratio: ratio(fly, feast),
      target: one ? '≥ 3×' : '',
      met: one ? fly / feast >= 3 : null,
    },
  ];
  const fP99 = r.paced.get(SCORE_READ(r.customers))?.median.p99Ms;
  const pP99 = r.paced.get(FEAST_READ(r.customers))?.median.p99Ms;
  if (fP99 !== undefined && pP99 !== undefined) {
    rows.push({
      comparison: `online features for ${r.customers} customer${one ? '' : 's'}: p99 paced at ${perSecond(r.rate)} req/s (ms)`,
      peer: 'Feast',
      flywheel: fP99.toFixed(2),
      peerValue: pP99.toFixed(2),
      ratio: ratio(fP99, pP99),
      target: '',
      met: null,
    });
  }
  return rows;
}

function report(
  reads: readonly ReadPair[],
  writes: Map<string, Saturation>,
  seeded: SeededCustomers,
): SectionResult {
  const v = frozenVersions('features', [
    'feast',
    'redis',
    'fastapi',
    'uvicorn',
    'gunicorn',
    'pandas',
    'protobuf',
  ]);
  const parts = [
    '## Online features: Feast on Redis',
    '',
    `${seeded.customers.length} customers, with ${HISTORY_DAYS} days of history (${seeded.events} transactions) ` +
      'written through featurize. Feast’s feature view holds the same 16 features (Float64) for the same ' +
      'customers, with the values score computes from those histories, written with `write_to_online_store`; both ' +
      'live in one redis-server, under different keys. Before any load, Feast’s values for 100 customers are ' +
      'checked to equal score’s, and score to find every customer.',
    '',
    '- **Feast**: `feast serve` (one gunicorn worker, as score is one process; access log off; `--max-requests 0`, ' +
      'where Feast’s default restarts the worker every 1 000 requests), `POST /get-online-features` naming the 16 ' +
      'features for 1 or 100 customers.',
    '- **Flywheel**: `POST /v1/score` by `customerId` or `customerIds` (100). Score does more than Feast: it reads ' +
      'each customer’s history summary and computes the 16 features from it at read time (Feast returns stored ' +
      'values), then runs both models (risk and segment) on them. It is compared because it is what a Flywheel ' +
      'caller asks for where a Feast user asks for features and then calls a model server.',
    '- **Writes**: Feast `POST /push` of one row (16 values computed by the caller, stamped now) beside featurize ' +
      'applying one `transaction.accepted` CloudEvent (binary mode, new id each): featurize computes the features ' +
      'itself, deduplicates the event and updates the customer’s windows in one Lua script, so it too does more.',
    '',
    'Reads: the same customers in the same order to both; saturation flat out with 4, 16 and 64 connections in the ' +
      'first round (each keeping its best count after), then both paced at half of the slower one’s maximum ' +
      '(open loop, bench/support/paced.ts). Writes: autocannon flat out, a fresh request each time.',
    '',
  ];
  for (const r of reads) {
    const sat = [...r.saturation.values()];
    parts.push(
      `### Reads, ${r.customers} customer${r.customers === 1 ? '' : 's'} per request`,
      '',
      saturationTable(sat),
      '',
      ...(r.customers > 1
        ? ['In customers/s:', '', saturationTable(sat, 'customers/s', r.customers), '']
        : []),
      `Paced at ${perSecond(r.rate)} req/s:`,
      '',
      pacedTable([...r.paced.values()]),
      '',
    );
  }
  parts.push('### Writes, one row or event per request', '', saturationTable([...writes.values()]), '');
  parts.push(
    '### Versions',
    '',
    `- Feast environment: ${Object.entries(v)
      .map(([k, x]) => `${k} ${x}`)
      .join(', ')}`,
    '',
  );
  const feastPush = writes.get(FEAST_PUSH)?.median.requestsPerSecond ?? Number.NaN;
  const featurize = writes.get(FEATURIZE)?.median.requestsPerSecond ?? Number.NaN;
  const summary: SummaryRow[] = [
    ...reads.flatMap(readRows),
    {
      comparison: 'online features, write one row: events/s at saturation (featurize computes the features)',
      peer: 'Feast',
      flywheel: perSecond(featurize),
      peerValue: perSecond(feastPush),
      ratio: ratio(featurize, feastPush),
      target: '',
      met: null,
    },
  ];
  return { name: 'features', markdown: parts.join('\n'), summary };
}
