// Serving: score's Open Inference Protocol v2 endpoint beside KServe's and MLServer's Python model servers, each
// running the same risk ONNX file, sent the same v2 requests (1 row and 64 rows) by the same generators.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { createLogger } from '../../shared/runtime/index.ts';
import { createRedisStore, type OnlineStore } from '../../shared/store/index.ts';
import { type RedisServer, startRedis } from '../../test/support/redis.ts';
import { progress } from '../support/workload.ts';
import {
  type Paced,
  pace,
  pacedTable,
  perSecond,
  ratio,
  type Saturation,
  saturate,
  saturationTable,
} from './compare.ts';
import { type FlywheelScore, onnxruntimeNodeVersion, seedCustomers, startFlywheelScore } from './flywheel.ts';
import type { SectionResult, SummaryRow } from './section.ts';
import { INFER_PATH, startKServe, startMlServer } from './model-servers.ts';
import { logTail, type PeerServer } from './server.ts';
import { ensureVenv, frozenVersions } from './venv.ts';

/** Rows per request of the two request shapes. */
const BATCHES = [1, 64] as const;
/** Customers whose feature vectors make the request rows. */
const CUSTOMERS = 512;

const V2Response = z.object({
  outputs: z
    .array(
      z.object({
        name: z.string(),
        shape: z.array(z.number()),
        data: z.array(z.union([z.number(), z.array(z.number())])),
      }),
    )
    .min(1),
});

/** v2 infer bodies of `rows` rows each, the rows taken in turn from `vectors` (one JSON line per body). */
function inferBodies(vectors: readonly number[][], rows: number): string[] {
  const count = Math.max(1, Math.floor(vectors.length / rows));
  return Array.from({ length: count }, (_, b) => {
    const data = Array.from(
      { length: rows },
      (_, r) => vectors[(b * rows + r) % vectors.length] ?? [],
    ).flat();
    const width = data.length / rows;
    return JSON.stringify({
      inputs: [{ name: 'features', shape: [rows, width], datatype: 'FP32', data }],
    });
  });
}

/** Posts a v2 request and returns the probabilities, or throws unless it is a 200 with a [rows, 1] output. */
async function infer(server: string, url: string, body: string, rows: number): Promise<number[]> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${server} answered ${res.status}: ${text.slice(0, 500)}`);
  const parsed = V2Response.safeParse(JSON.parse(text));
  if (!parsed.success)
    throw new Error(`${server} answered a body that is not a v2 response: ${text.slice(0, 500)}`);
  const output = parsed.data.outputs[0];
  const data = output?.data.flat() ?? [];
  if (output?.shape.join(',') !== `${rows},1` || data.length !== rows) {
    throw new Error(`${server}: expected a [${rows}, 1] output, got ${text.slice(0, 500)}`);
  }
  return data;
}

/** Checks each server's replies to every request shape against Flywheel's: same shape, same probabilities. */
async function checkReplies(servers: readonly PeerServer[], flywheel: string, bodies: Map<number, string[]>) {
  for (const [rows, list] of bodies) {
    for (const body of list.slice(0, 4)) {
      const expected = await infer('Flywheel', flywheel, body, rows);
      for (const s of servers) {
        const got = await infer(s.name, `${s.url}${INFER_PATH}`, body, rows);
        const worst = Math.max(...got.map((p, i) => Math.abs(p - (expected[i] ?? Number.NaN))));
        if (!(worst < 1e-5)) throw new Error(`${s.name}'s probabilities differ from Flywheel's by ${worst}`);
      }
    }
  }
}

interface BatchResult {
  rows: number;
  saturation: Map<string, Saturation>;
  paced: Map<string, Paced>;
  rate: number;
  /** Servers left out of the paced runs, and why. */
  notPaced: string[];
}

export async function runServingSection(opts: { seconds: number; rounds: number }): Promise<SectionResult> {
  const dir = await mkdtemp(path.join(tmpdir(), 'peers-serving-'));
  const log = createLogger({ name: 'bench-peers', level: 'warn' });
  let redis: RedisServer | null = null;
  let store: OnlineStore | null = null;
  let flywheel: FlywheelScore | null = null;
  const servers: PeerServer[] = [];
  const notes: string[] = [];
  let mlserverEnv = false;
  try {
    redis = await startRedis();
    store = createRedisStore({ url: redis.url, timeoutMs: 5_000, log });
    const seeded = await seedCustomers({ store, customers: CUSTOMERS, days: 7, seed: 41 });
    const vectors = [...seeded.vectors.values()];
    const started = await startFlywheelScore({ store, redisUrl: redis.url });
    flywheel = started;
    const onnxFile = path.join(dir, 'risk.onnx');
    await writeFile(onnxFile, started.riskOnnx);
    const flywheelUrl = `${started.base}${INFER_PATH.slice(1)}`;

    progress('starting KServe');
    servers.push(await startKServe(dir, onnxFile));
    progress('starting MLServer');
    try {
      const python = ensureVenv('mlserver');
      mlserverEnv = true;
      servers.push(await startMlServer(dir, onnxFile, python));
    } catch (err) {
      notes.push(
        `MLServer did not start, so it has no rows: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}` +
          `\n\n\`\`\`\n${logTail(path.join(dir, 'mlserver.log'), 15)}\n\`\`\``,
      );
    }

    const bodies = new Map<number, string[]>(BATCHES.map((rows) => [rows, inferBodies(vectors, rows)]));
    await checkReplies(servers, flywheelUrl, bodies);
    progress(`every server answers both request shapes with Flywheel's probabilities`);

    const results: BatchResult[] = [];
    for (const [rows, list] of bodies) {
      const targets = [
        { name: 'Flywheel score', url: flywheelUrl, bodies: list },
        ...servers.map((s) => ({ name: s.name, url: `${s.url}${INFER_PATH}`, bodies: list })),
      ];
      const saturation = await saturate(targets, opts);
      const max = (name: string) => saturation.get(name)?.median.requestsPerSecond ?? 0;
      const rate = Math.max(1, Math.floor(Math.min(max('Flywheel score'), max('KServe')) / 2));
      const notPaced = targets
        .filter((t) => max(t.name) < 1.25 * rate)
        .map((t) => `${t.name} (its maximum, ${perSecond(max(t.name))} req/s, is too close to the rate)`);
      const paced = await pace(
        targets.filter((t) => max(t.name) >= 1.25 * rate),
        rate,
        opts,
      );
      results.push({ rows, saturation, paced, rate, notPaced });
    }
    return report(results, notes, vectors.length, mlserverEnv);
  } finally {
    for (const s of servers) await s.stop();
    await flywheel?.target.stop();
    await store?.close();
    await redis?.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

function summaryRows(r: BatchResult, peer: string, target: boolean): SummaryRow[] {
  const shape = `v2 infer, ${r.rows} row${r.rows === 1 ? '' : 's'}`;
  const fSat = r.saturation.get('Flywheel score')?.median.requestsPerSecond;
  const pSat = r.saturation.get(peer)?.median.requestsPerSecond;
  const rows: SummaryRow[] = [];
  if (fSat === undefined || pSat === undefined) return rows;
  rows.push({
    comparison: `${shape}: throughput at saturation (req/s)`,
    peer,
    flywheel: perSecond(fSat),
    peerValue: perSecond(pSat),
    ratio: ratio(fSat, pSat),
    target: target ? '≥ 3×' : '',
    met: target ? fSat / pSat >= 3 : null,
  });
  const fP99 = r.paced.get('Flywheel score')?.median.p99Ms;
  const pP99 = r.paced.get(peer)?.median.p99Ms;
  if (fP99 !== undefined && pP99 !== undefined) {
    rows.push({
      comparison: `${shape}: p99 paced at ${perSecond(r.rate)} req/s (ms)`,
      peer,
      flywheel: fP99.toFixed(2),
      peerValue: pP99.toFixed(2),
      ratio: ratio(fP99, pP99),
      target: target ? '≤ ⅓' : '',
      met: target ? fP99 / pP99 <= 1 / 3 : null,
    });
  }
  return rows;
}

function versions(mlserverEnv: boolean): string {
  const kserve = frozenVersions('serving', ['kserve', 'onnxruntime', 'numpy', 'fastapi', 'uvicorn']);
  const mlserver = mlserverEnv
    ? frozenVersions('mlserver', ['mlserver', 'onnxruntime', 'numpy', 'fastapi', 'uvicorn', 'uvloop'])
    : { mlserver: 'not installed' };
  const list = (v: Record<string, string>) =>
    Object.entries(v)
      .map(([k, x]) => `${k} ${x}`)
      .join(', ');
  return [
    `- Flywheel score: onnxruntime-node ${onnxruntimeNodeVersion()}, Node ${process.version}`,
    `- KServe environment: ${list(kserve)}`,
    `- MLServer environment (its own: MLServer pins starlette below what KServe needs): ${list(mlserver)}`,
  ].join('\n');
}

function report(
  results: readonly BatchResult[],
  notes: readonly string[],
  customers: number,
  mlserverEnv: boolean,
): SectionResult {
  const parts = [
    '## Serving: v2 infer against KServe and MLServer',
    '',
    'Each server runs the same risk ONNX file (the MLP champion score serves, fetched from its registry) on the ' +
      'CPU with one intra-op and one inter-op thread, and answers the Open Inference Protocol v2 REST call ' +
      `\`POST ${INFER_PATH}\`. The requests are the same JSON for every server: one FP32 input \`[N, 16]\` with N = 1 ` +
      `or 64, the rows being the feature vectors of ${customers} seeded customers. Before any load every server ` +
      "is checked to answer each request shape with a 200, a `[N, 1]` output and Flywheel's probabilities " +
      '(within 1e-5).',
    '',
    '- **Flywheel**: the score function (one Node process, as a pod runs it): the v2 endpoint validates the ' +
      'request and runs its rows in one batched ONNX run, with no store read; the process also serves the ' +
      'function’s other routes and watches the registry.',
    '- **KServe**: `kserve.ModelServer` (one uvicorn worker, gRPC off, latency logging and access log off) with a ' +
      '`kserve.Model` whose `predict` runs the file with onnxruntime.',
    '- **MLServer**: a custom `mlserver.MLModel` runtime running the file with onnxruntime, under MLServer’s ' +
      'defaults (inference in one parallel worker process behind the HTTP process) with access logs off.',
    '',
    'Throughput at saturation: flat out with 4, 16 and 64 connections in the first round, each server keeping its ' +
      'best count in later rounds; the median round is shown with the rounds’ range. Latency: every server paced ' +
      "at the same rate, half of the slower of Flywheel's and KServe's maxima, by the open-loop generator " +
      '(bench/support/paced.ts), latency counted from each request’s scheduled time. Load generators, servers and ' +
      'Redis share the machine’s cores.',
    '',
    ...notes.flatMap((n) => [`**Note.** ${n}`, '']),
  ];
  for (const r of results) {
    parts.push(
      `### ${r.rows} row${r.rows === 1 ? '' : 's'} per request`,
      '',
      saturationTable([...r.saturation.values()]),
      '',
      `Paced at ${perSecond(r.rate)} req/s:`,
      '',
      pacedTable([...r.paced.values()]),
      '',
      ...(r.notPaced.length > 0 ? [`Not paced: ${r.notPaced.join('; ')}.`, ''] : []),
    );
  }
  parts.push('### Versions', '', versions(mlserverEnv), '');
  const summary = results.flatMap((r) => [
    ...summaryRows(r, 'KServe', true),
    ...summaryRows(r, 'MLServer', false),
  ]);
  return { name: 'serving', markdown: parts.join('\n'), summary };
}
