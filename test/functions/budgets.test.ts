// Claims and locks against the retry budget of whoever must get past them, read from the delivery specs in eventing/.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { FEATURIZE_CLAIM_TTL_MS } from '../../functions/featurize/function.ts';
import { CLAIM_MAX_HOLD_TTLS } from '../../functions/ingest/function.ts';
import { DEFAULT_DEDUPE_TTL_MS } from '../../functions/ingest/handler.ts';
import {
  PROMOTE_LEASE_MAX_HOLD_MS,
  PROMOTE_LEASE_TTL_MS,
  promoteFunction,
} from '../../functions/promote/function.ts';
import { backoffMs, type Delivery, loadTriggers, parseTriggers } from '../../local/broker/index.ts';
import { ConfigError, defaultConfig, loadConfig } from '../../shared/config/index.ts';
import { EventTypes, makeEvent, ModelTrainedSchema } from '../../shared/events/index.ts';
import { createLogger, createMetrics } from '../../shared/runtime/index.ts';
import { createMemoryStore, type OnlineStore } from '../../shared/store/index.ts';
import { registerRisk, trainedRisk } from '../support/risk-candidates.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const EVENTING = path.join(ROOT, 'eventing');

/**
 * The least time a sender spends retrying before it dead-letters: the sum of its backoffs (Knative's schedule,
 * as the local broker computes it), as if every attempt failed at once.
 */
function budgetMs(d: Pick<Delivery, 'retry' | 'backoffPolicy' | 'backoffDelayMs'>): number {
  let total = 0;
  for (let r = 1; r <= d.retry; r++) total += backoffMs(d, r);
  return total;
}

/** How many of the sender's retries start after `ms` from its first failure (at the earliest). */
function retriesAfter(d: Pick<Delivery, 'retry' | 'backoffPolicy' | 'backoffDelayMs'>, ms: number): number {
  let at = 0;
  let n = 0;
  for (let r = 1; r <= d.retry; r++) {
    at += backoffMs(d, r);
    if (at > ms) n++;
  }
  return n;
}

interface Sender {
  /** The manifest object that delivers, e.g. `Trigger ingest-transaction`. */
  name: string;
  delivery: Delivery;
}

/** Every sender that delivers to the Service `service`: its Triggers and the sources whose sink it is. */
async function sendersTo(service: string): Promise<Sender[]> {
  const triggers = (await loadTriggers(EVENTING))
    .filter((t) => t.subscriber.kind === 'service' && t.subscriber.service === service)
    .map((t) => ({ name: `Trigger ${t.name}`, delivery: t.delivery }));
  const sources: Sender[] = [];
  for (const file of readdirSync(EVENTING, { recursive: true, encoding: 'utf8' })) {
    if (!/\.ya?ml$/.test(file)) continue;
    for (const doc of parseAllDocuments(readFileSync(path.join(EVENTING, file), 'utf8'))) {
      const obj = doc.toJS() as {
        kind?: string;
        metadata?: { name?: string };
        spec?: { sink?: { ref?: { kind?: string; name?: string } }; delivery?: unknown };
      } | null;
      if (!obj?.kind?.endsWith('Source')) continue;
      const ref = obj.spec?.sink?.ref;
      if (ref?.kind !== 'Service' || ref.name !== service) continue;
      // a source's delivery spec has the Trigger's shape: read it with the broker's own parser
      const [parsed] = parseTriggers([
        {
          file,
          text: JSON.stringify({
            apiVersion: 'eventing.knative.dev/v1',
            kind: 'Trigger',
            metadata: { name: obj.metadata?.name ?? '?' },
            spec: { broker: 'none', subscriber: { uri: 'http://x/' }, delivery: obj.spec?.delivery ?? {} },
          }),
        },
      ]);
      assert.ok(parsed);
      sources.push({ name: `${obj.kind} ${obj.metadata?.name ?? '?'}`, delivery: parsed.delivery });
    }
  }
  return [...triggers, ...sources];
}

/** Every YAML document under `dir` (relative to ROOT), parsed. */
function yamlDocs(dir: string): { file: string; value: unknown }[] {
  const out: { file: string; value: unknown }[] = [];
  for (const file of readdirSync(path.join(ROOT, dir), { recursive: true, encoding: 'utf8' })) {
    if (!/\.ya?ml$/.test(file)) continue;
    for (const doc of parseAllDocuments(readFileSync(path.join(ROOT, dir, file), 'utf8')))
      out.push({ file: path.join(dir, file), value: doc.toJS() });
  }
  return out;
}

/** Every value a manifest gives the variable `name`: ConfigMap data and container or func.yaml env entries. */
function valuesOf(name: string, value: unknown, found: string[] = []): string[] {
  if (Array.isArray(value)) for (const v of value) valuesOf(name, v, found);
  else if (value !== null && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    if (name in obj) found.push(String(obj[name]));
    if (obj.name === name && 'value' in obj) found.push(String(obj.value));
    for (const v of Object.values(obj)) valuesOf(name, v, found);
  }
  return found;
}

/** The TTLs promote, as it is wired, takes its per-version lock with while it judges a model. */
async function promoteLockTtls(): Promise<number[]> {
  const store = createMemoryStore();
  const ttls: number[] = [];
  const watched: OnlineStore = {
    ...store,
    acquireLock: (name, owner, ttlMs) => {
      if (name.startsWith('promote:')) ttls.push(ttlMs);
      return store.acquireLock(name, owner, ttlMs);
    },
  };
  const log = createLogger({ name: 'budgets', level: 'silent' });
  const fn = promoteFunction({ store: watched, config: defaultConfig({ PROMOTE_TOKEN: 'token' }), log });
  const { id, source, data } = trainedRisk(await registerRisk(store, { column: 0, a: 2, b: -2 }));
  const event = makeEvent({
    type: EventTypes.modelTrained,
    id,
    source,
    data: ModelTrainedSchema.parse(data),
  });
  const outcome = await fn.handle(event, { log, metrics: createMetrics('promote') });
  assert.equal(outcome.kind, 'reply');
  return ttls;
}

describe('claims and locks vs the retry budget of who must get past them', () => {
  it('finds the senders of ingest in eventing/: both Triggers and the KafkaSource, 15.5 s of backoff each', async () => {
    const senders = await sendersTo('ingest');
    assert.deepEqual(senders.map((s) => s.name).sort(), [
      'KafkaSource transactions-raw',
      'Trigger ingest-label',
      'Trigger ingest-transaction',
    ]);
    // the figure the README states; if a delivery spec changes, this test and the README change with it
    for (const s of senders) assert.equal(budgetMs(s.delivery), 15_500, s.name);
  });

  it("lets two retries of every sender of ingest through after a failed holder's claim lapsed", async () => {
    // the default, and any value a manifest sets (ConfigMap, a Service's env, func.yaml)
    const configured = [...yamlDocs('knative'), ...yamlDocs('functions')].flatMap((d) =>
      valuesOf('INGEST_CLAIM_TTL_MS', d.value),
    );
    const ttls = [defaultConfig(), ...configured.map((v) => loadConfig({ INGEST_CLAIM_TTL_MS: v }))].map(
      (c) => c.INGEST_CLAIM_TTL_MS,
    );
    for (const ttl of ttls) {
      for (const s of await sendersTo('ingest')) {
        const budget = budgetMs(s.delivery);
        assert.ok(ttl < budget, `${s.name}: claim ${ttl} ms >= budget ${budget} ms`);
        assert.ok(
          retriesAfter(s.delivery, ttl) >= 2,
          `${s.name}: only ${retriesAfter(s.delivery, ttl)} retries after a claim of ${ttl} ms lapses`,
        );
      }
    }
  });

  it("lets a retry of every sender of ingest through after a stuck holder's claim reached its longest hold", async () => {
    const maxHold = CLAIM_MAX_HOLD_TTLS * defaultConfig().INGEST_CLAIM_TTL_MS;
    for (const s of await sendersTo('ingest')) {
      assert.ok(
        retriesAfter(s.delivery, maxHold) >= 1,
        `${s.name}: no retry after a claim held ${maxHold} ms (budget ${budgetMs(s.delivery)} ms)`,
      );
    }
  });

  it('finds the sender of promote in eventing/: its Trigger on model.trained, 15.5 s of backoff', async () => {
    const senders = await sendersTo('promote');
    assert.deepEqual(
      senders.map((s) => s.name),
      ['Trigger promote-model-trained'],
    );
    for (const s of senders) assert.equal(budgetMs(s.delivery), 15_500, s.name);
  });

  it("lets two retries of promote's Trigger through after a failed holder's lease lapsed (was: a 120 s lock)", async () => {
    // the lease promote takes as it is wired, not only the constant
    assert.deepEqual(await promoteLockTtls(), [PROMOTE_LEASE_TTL_MS]);
    for (const s of await sendersTo('promote')) {
      const budget = budgetMs(s.delivery);
      assert.ok(
        PROMOTE_LEASE_TTL_MS < budget,
        `${s.name}: lease ${PROMOTE_LEASE_TTL_MS} ms >= budget ${budget} ms`,
      );
      assert.ok(
        retriesAfter(s.delivery, PROMOTE_LEASE_TTL_MS) >= 2,
        `${s.name}: only ${retriesAfter(s.delivery, PROMOTE_LEASE_TTL_MS)} retries after a lease of ${PROMOTE_LEASE_TTL_MS} ms lapses`,
      );
    }
  });

  it("lets a retry of promote's Trigger through after a stuck holder's lease reached its longest hold", async () => {
    assert.ok(
      PROMOTE_LEASE_MAX_HOLD_MS >= PROMOTE_LEASE_TTL_MS,
      'the longest hold is shorter than one lease',
    );
    for (const s of await sendersTo('promote')) {
      assert.ok(
        retriesAfter(s.delivery, PROMOTE_LEASE_MAX_HOLD_MS) >= 1,
        `${s.name}: no retry after a lease held ${PROMOTE_LEASE_MAX_HOLD_MS} ms (budget ${budgetMs(s.delivery)} ms)`,
      );
    }
  });

  it('remembers a done event longer than any sender retries it (ingest: 7 d, featurize: 1 d)', async () => {
    for (const [service, ttl] of [
      ['ingest', DEFAULT_DEDUPE_TTL_MS],
      ['featurize', FEATURIZE_CLAIM_TTL_MS],
    ] as const) {
      const senders = await sendersTo(service);
      assert.ok(senders.length > 0, `nothing delivers to ${service}`);
      for (const s of senders) {
        assert.ok(ttl > budgetMs(s.delivery), `${service}: remembers ${ttl} ms, ${s.name} retries longer`);
      }
    }
  });

  it('refuses an ingest claim TTL too short to be renewed', () => {
    assert.throws(() => loadConfig({ INGEST_CLAIM_TTL_MS: '500' }), ConfigError);
    assert.equal(loadConfig({ INGEST_CLAIM_TTL_MS: '8000' }).INGEST_CLAIM_TTL_MS, 8000);
  });
});
