// Test support for the backfill: ingest → featurize and score over real HTTP on one store and log, key snapshots, the CLI.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { featurizeFunction } from '../../functions/featurize/function.ts';
import { ingestFunction } from '../../functions/ingest/function.ts';
import { scoreFunction } from '../../functions/score/function.ts';
import type { Generated } from '../../local/demo/generator.ts';
import { EventTypes, type FlywheelEvent } from '../../shared/events/index.ts';
import { customerFeatures, type FeatureSet } from '../../shared/features/index.ts';
import type { EventLog } from '../../shared/log/index.ts';
import type { ModelRegistry } from '../../shared/registry/index.ts';
import { createLogger, type RunningFunction, serve, toStructured } from '../../shared/runtime/index.ts';
import type { OnlineStore } from '../../shared/store/index.ts';
import { postEvent, postJson } from './http.ts';
import { redisCommand } from './redis.ts';

const log = createLogger({ name: 'backfill-test', level: 'silent' });
const opts = { port: 0, host: '127.0.0.1', log, maxBodyBytes: 1 << 20, shutdownGraceMs: 500 };

/** ingest, featurize and score serving on one store and log; ingest's sink hands transactions to featurize. */
export interface Pipeline {
  ingest: RunningFunction;
  featurize: RunningFunction;
  score: RunningFunction;
  /** features.updated replies featurize gave (applied or duplicate), by event id. */
  replies: Map<string, number>;
  close(): Promise<void>;
}

export async function startPipeline(p: {
  store: OnlineStore;
  eventLog: EventLog;
  registry: ModelRegistry;
  allowedLatenessMs: number;
  /** featurize's feature set (default the code's); score always reads the code's. */
  featureSet?: FeatureSet;
}): Promise<Pipeline> {
  const config = { ALLOWED_LATENESS_MS: p.allowedLatenessMs };
  const featurize = await serve(
    {
      ...featurizeFunction({ store: p.store, config, ...(p.featureSet ? { featureSet: p.featureSet } : {}) }),
      close: async () => {},
    },
    opts,
  );
  const replies = new Map<string, number>();
  const sink = {
    async publish(event: FlywheelEvent) {
      if (event.type !== EventTypes.transactionAccepted) return;
      const res = await postEvent(featurize.url, {
        ...toStructured(event),
        id: event.id,
        type: event.type,
        data: event.data,
      } as never);
      if (res.status !== 200) throw new Error(`featurize answered ${res.status}`);
      replies.set(event.id, (replies.get(event.id) ?? 0) + 1);
    },
  };
  const ingest = await serve(
    {
      ...ingestFunction({
        store: p.store,
        eventLog: p.eventLog,
        sink,
        config: { MAX_CLOCK_SKEW_MS: 60_000 },
      }),
      close: async () => {},
    },
    opts,
  );
  const { def, models } = scoreFunction({
    store: p.store,
    registry: p.registry,
    config: { MODEL_ALIAS_TTL_MS: 60_000, MODEL_LOAD_TIMEOUT_MS: 5_000 },
    log,
    ownsStore: false,
  });
  await models.start();
  const score = await serve(def, opts);
  return {
    ingest,
    featurize,
    score,
    replies,
    // score's close also closes its models; the store and log are the caller's
    close: async () => void (await Promise.all([ingest.close(), featurize.close(), score.close()])),
  };
}

/** Posts transactions (and their labels) to ingest: each customer's in order, customers side by side. */
export async function send(ingestUrl: string, generated: readonly Generated[]): Promise<void> {
  const lanes = new Map<string, Generated[]>();
  for (const g of generated) {
    const lane = lanes.get(g.transaction.customerId) ?? [];
    lane.push(g);
    lanes.set(g.transaction.customerId, lane);
  }
  await Promise.all(
    [...lanes.values()].map(async (lane) => {
      for (const g of lane) {
        const tx = await postEvent(ingestUrl, {
          id: `tx-${g.transaction.transactionId}`,
          type: EventTypes.transaction,
          data: g.transaction,
        });
        if (tx.status !== 202) throw new Error(`ingest answered ${tx.status}: ${JSON.stringify(tx.body)}`);
        if (g.label) {
          const label = await postEvent(ingestUrl, {
            id: `label-${g.transaction.transactionId}`,
            type: EventTypes.label,
            data: g.label,
          });
          if (label.status !== 202) throw new Error(`ingest answered ${label.status} to a label`);
        }
      }
    }),
  );
}

/** score's answer for each customer by id (risk, band, segment, versions, or defaults when it has no features). */
export async function scoresById(scoreUrl: string, ids: readonly string[]): Promise<unknown[]> {
  const res = await postJson(`${scoreUrl}/v1/score`, { customerIds: ids });
  if (res.status !== 200) throw new Error(`score answered ${res.status}: ${JSON.stringify(res.json)}`);
  return res.json.results as unknown[];
}

/** Every key matching `pattern` with its content (by type, exact), read straight from Redis: key → content. */
export async function snapshot(port: number, pattern: string): Promise<Map<string, string>> {
  const keys = await redisCommand(port, ['KEYS', pattern]);
  if (!Array.isArray(keys)) throw new Error(`KEYS answered ${String(keys)}`);
  const out = new Map<string, string>();
  for (const key of keys.map(String).sort()) {
    const type = await redisCommand(port, ['TYPE', key]);
    const read: Record<string, string[]> = {
      string: ['GET', key],
      hash: ['HGETALL', key],
      zset: ['ZRANGE', key, '0', '-1', 'WITHSCORES'],
      list: ['LRANGE', key, '0', '-1'],
    };
    const command = read[String(type)];
    if (!command) throw new Error(`${key} has type ${String(type)}`);
    let value = await redisCommand(port, command);
    if (type === 'hash' && Array.isArray(value)) value = pairs(value).sort().flat();
    out.set(key, `${String(type)} ${JSON.stringify(value)}`);
  }
  return out;
}

function pairs<T>(flat: T[]): [T, T][] {
  const out: [T, T][] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push([flat[i] as T, flat[i + 1] as T]);
  return out;
}

/** Deletes every key matching `pattern`; returns how many. */
export async function deleteKeys(port: number, pattern: string): Promise<number> {
  const keys = await redisCommand(port, ['KEYS', pattern]);
  if (!Array.isArray(keys)) throw new Error(`KEYS answered ${String(keys)}`);
  for (const key of keys) await redisCommand(port, ['DEL', String(key)]);
  return keys.length;
}

/** Runs `flywheel <args>` as a user would (bin/flywheel.js in a child process), with `env` added to ours. */
export function runFlywheel(
  args: readonly string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const bin = path.resolve(import.meta.dirname, '../../bin/flywheel.js');
  const child = spawn(process.execPath, [bin, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

export const DAY = 86_400_000;
/** ALLOWED_LATENESS_MS of the backfill tests' pipeline. */
export const LATENESS_MS = 3_600_000;
/** The history: 30 days ago for 10 days (ingest refuses only future times). */
export const FROM = Math.floor(Date.now() / DAY) * DAY - 30 * DAY;
/** The range the tests backfill: the history with a day on each side. */
export const RANGE = { from: FROM - DAY, to: FROM + 11 * DAY };
/** The feature-set version the code defines, whose keys are rebuilt. */
export const V = customerFeatures.version;

/** Only a customer's state (history, first sightings, latest) among snapshot keys: claims left out. */
export const stateOf = (all: Map<string, string>): Map<string, string> =>
  new Map([...all].filter(([k]) => /:(events|firstseen|latest)$/.test(k)));
