// Feast's side of the features comparison: a feature repository on the shared redis-server filled with score's
// feature values (py/feast_setup.py), `feast serve` on a free loopback port, and the JSON its API takes.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { customerFeatures } from '../../shared/features/index.ts';
import { freePort } from '../../test/support/ports.ts';
import type { RedisServer } from '../../test/support/redis.ts';
import { runToResult } from '../support/child.ts';
import { progress } from '../support/workload.ts';
import type { SeededCustomers } from './flywheel.ts';
import { type PeerServer, post, startPeerServer } from './server.ts';
import { ensureVenv } from './venv.ts';

const PY = path.join(import.meta.dirname, 'py');
const VIEW = 'customer_transactions';
const PUSH = 'customer_push';
const COLUMNS = customerFeatures.columns;
const FEATURE_REFS = COLUMNS.map((c) => `${VIEW}:${c}`);

const FeastResponse = z.object({
  metadata: z.object({ feature_names: z.array(z.string()) }),
  results: z.array(z.object({ values: z.array(z.unknown()), statuses: z.array(z.string()) })),
});

/** The body of `POST /get-online-features` for the 16 features of `ids`. */
export function feastReadBody(ids: readonly string[]): string {
  return JSON.stringify({ features: FEATURE_REFS, entities: { customer_id: ids } });
}

/** Feast's online features for `ids`, by feature name (Feast answers in an order of its own). */
export async function feastRead(url: string, ids: readonly string[]): Promise<Map<string, unknown[]>> {
  const r = await post(`${url}/get-online-features`, feastReadBody(ids));
  if (r.status !== 200) throw new Error(`Feast answered ${r.status}: ${r.text.slice(0, 500)}`);
  const body = FeastResponse.parse(JSON.parse(r.text));
  const out = new Map<string, unknown[]>();
  body.metadata.feature_names.forEach((name, i) => {
    const result = body.results[i];
    if (result?.statuses.some((s) => s !== 'PRESENT'))
      throw new Error(`Feast has no ${name} for some of ${ids}`);
    out.set(name, result?.values ?? []);
  });
  return out;
}

/** The body of a Feast push of one customer's row: its vector with the new transaction's amount, stamped now. */
export function pushBody(customerId: string, vector: readonly number[], amount: number): string {
  const df: Record<string, unknown[]> = {
    customer_id: [customerId],
    event_timestamp: [new Date().toISOString()],
  };
  COLUMNS.forEach((c, i) => {
    df[c] = [c === 'amount' ? amount : (vector[i] ?? 0)];
  });
  return JSON.stringify({ push_source_name: PUSH, df, to: 'online' });
}

export async function startFeast(
  dir: string,
  redis: RedisServer,
  seeded: SeededCustomers,
): Promise<PeerServer> {
  const python = ensureVenv('features');
  const values = path.join(dir, 'values.json');
  const rows = seeded.customers.map((id) => [id, ...(seeded.vectors.get(id) ?? [])]);
  await writeFile(values, JSON.stringify({ columns: COLUMNS, rows }));
  const repo = path.join(dir, 'feast');
  progress(`writing ${rows.length} customers' features into Feast`);
  await runToResult(
    python,
    [path.join(PY, 'feast_setup.py'), repo, `127.0.0.1:${redis.port}`, values],
    'FEAST',
  );
  const port = await freePort();
  return startPeerServer({
    name: 'Feast',
    command: path.join(path.dirname(python), 'feast'),
    // One worker, as score is one process; no access log; no worker restart every 1 000 requests (Feast's default).
    args: [
      '-c',
      repo,
      'serve',
      '-h',
      '127.0.0.1',
      '-p',
      String(port),
      '--no-access-log',
      '--max-requests',
      '0',
    ],
    // gunicorn keeps a control socket under $HOME; this server's is its own, removed with the repository.
    env: { FEAST_USAGE: 'False', HOME: dir },
    url: `http://127.0.0.1:${port}`,
    readyPath: '/health',
    logFile: path.join(dir, 'feast.log'),
  });
}
