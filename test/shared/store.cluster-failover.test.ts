// Failover on a real Redis Cluster: a master killed under a featurize stream; calls fail retriably and bounded, the
// replica takes over, and every event retried until it succeeded is in its customer's history exactly once. Redis
// replicates asynchronously: what the master acknowledged in its last moments may be missing on the promoted
// replica. The stream waits for the replica before the round it kills in, so only what the master acknowledged
// from then until the kill took effect can be lost.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DependencyError } from '../../shared/errors/index.ts';
import { createLogger } from '../../shared/runtime/logger.ts';
import { type CustomerEventInput, createRedisStore, type OnlineStore } from '../../shared/store/index.ts';
import { customerKeys } from '../../shared/store/keys.ts';
import { hashSlot } from '../../shared/store/slot.ts';
import { type RedisCluster, startRedisCluster } from '../support/redis-cluster.ts';
import { customerEvent, storedHistory, T0, unique } from './store/contract-support.ts';

const log = createLogger({ name: 'store-cluster-failover', level: 'silent' });
/** The store's dependency timeout, as DEPENDENCY_TIMEOUT_MS defaults. */
const TIMEOUT_MS = 1000;
/** A call that has not settled by then hangs: the store promised to answer or fail within about TIMEOUT_MS. */
const HANG_GUARD_MS = 10_000;
/** Bounds the whole stream (a failure only): the cluster fails over in seconds, the machine may be slow. */
const STREAM_DEADLINE_MS = 90_000;
const CUSTOMERS = 48;
const ROUNDS_BEFORE_KILL = 8;
const ROUNDS_AFTER_RECOVERY = 5;
const DAY_MS = 86_400_000;

type Outcome = { ok: true; kind: string } | { ok: false; error: unknown };

/** Settles like the call, or rejects with 'hung' when it does not settle within HANG_GUARD_MS. */
async function settle(p: Promise<{ kind: string }>): Promise<Outcome> {
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`hung: no answer within ${HANG_GUARD_MS} ms`)), HANG_GUARD_MS);
  });
  try {
    return await Promise.race([p.then((r) => ({ ok: true as const, kind: r.kind })), guard]);
  } catch (error) {
    if (error instanceof Error && error.message.startsWith('hung')) throw error;
    return { ok: false, error };
  } finally {
    clearTimeout(timer);
  }
}

/** The round-th event of a customer: times increase by round, lateness and retention roomy enough for retries. */
function eventOf(customerId: string, round: number): CustomerEventInput {
  return customerEvent({
    customerId,
    eventKey: `${customerId}/e-${round}`,
    record: `e-${String(round).padStart(4, '0')}`,
    eventTime: T0 + round * 1000,
    value: round,
    retentionMs: DAY_MS,
    windowsMs: [DAY_MS],
    allowedLatenessMs: DAY_MS,
    maxEvents: 10_000,
  });
}

describe('OnlineStore on a Redis Cluster whose master is killed', () => {
  let cluster: RedisCluster;
  let store: OnlineStore;
  before(async () => {
    cluster = await startRedisCluster();
    store = createRedisStore({ url: cluster.url, timeoutMs: TIMEOUT_MS, log });
  });
  after(async () => {
    await store?.close();
    await cluster?.stop();
  });

  it('fails calls retriably within the timeout, recovers once the replica is promoted, and applies each retried event once', async (t) => {
    const customers = Array.from({ length: CUSTOMERS }, () => unique('c'));
    const victim = customers[0] ?? '';
    const victimSlot = hashSlot(customerKeys(victim).history);
    const victimRanges =
      (await cluster.nodes()).find(
        (n) => n.role === 'master' && n.slots.some(([a, b]) => a <= victimSlot && victimSlot <= b),
      )?.slots ?? [];
    const onVictim = (customerId: string) => {
      const slot = hashSlot(customerKeys(customerId).history);
      return victimRanges.some(([a, b]) => a <= slot && slot <= b);
    };
    assert.ok(
      customers.some(onVictim) && !customers.every(onVictim),
      'customers on the killed master and others',
    );

    const sent = new Map<string, CustomerEventInput>();
    /**
     * Acknowledged by the victim's master after its replica had caught up and before the kill took effect: the
     * only events Redis may lose to the failover.
     */
    const atRisk = new Set<string>();
    let killedBy: number | undefined; // when the SIGKILLed master was gone
    const failed = new Map<string, CustomerEventInput>();
    const unexpected: unknown[] = [];
    let killedAt: number | undefined;
    let firstErrorAt: number | undefined;
    let recoveredAt: number | undefined;
    let errors = 0;

    const started = Date.now();
    let round = 0;
    let kill: Promise<{ port: number; slot: number }> | undefined;
    let roundsAfterRecovery = 0;
    while (roundsAfterRecovery < ROUNDS_AFTER_RECOVERY) {
      assert.ok(
        Date.now() - started < STREAM_DEADLINE_MS,
        'the cluster did not recover within the stream deadline',
      );
      const killRound = round === ROUNDS_BEFORE_KILL;
      const afterCatchUp = round >= ROUNDS_BEFORE_KILL;
      if (killRound) await cluster.replicated(customerKeys(victim).history);
      const events = customers.map((c) => eventOf(c, round));
      for (const e of events) sent.set(e.eventKey, e);
      const inFlight = Promise.all(
        events.map(async (e) => {
          const sentAt = Date.now();
          const outcome = await settle(store.applyCustomerEvent(e));
          const beforeKill = killedBy === undefined || sentAt < killedBy;
          if (outcome.ok && afterCatchUp && beforeKill && onVictim(e.customerId)) atRisk.add(e.eventKey);
          if (!outcome.ok) {
            errors++;
            failed.set(e.eventKey, e);
            if (!(outcome.error instanceof DependencyError && outcome.error.retriable)) {
              unexpected.push(outcome.error);
            }
            if (killedAt !== undefined) firstErrorAt ??= Date.now();
          } else if (
            firstErrorAt !== undefined &&
            recoveredAt === undefined &&
            sentAt > firstErrorAt &&
            onVictim(e.customerId)
          ) {
            recoveredAt = Date.now();
          }
        }),
      );
      if (killRound) {
        killedAt = Date.now();
        // while this round is in flight; later rounds may start before the SIGKILL lands
        kill = cluster.killMaster(customerKeys(victim).history).then((killed) => {
          killedBy = Date.now();
          return killed;
        });
      }
      await inFlight;
      if (recoveredAt !== undefined) roundsAfterRecovery++;
      round++;
    }
    const killed = await kill;

    assert.deepEqual(unexpected, [], 'every failure is a retriable DependencyError');
    assert.ok(errors > 0, 'the killed master made some calls fail');
    assert.ok(killedAt !== undefined && firstErrorAt !== undefined && recoveredAt !== undefined);
    t.diagnostic(
      `killed master :${killed?.port} (slot ${killed?.slot}); ${errors} of ${sent.size} calls failed; ` +
        `first error ${firstErrorAt - killedAt} ms after the kill, recovery ${recoveredAt - killedAt} ms after it`,
    );

    // the broker redelivers what failed until it succeeds
    await cluster.healthy();
    let pending = [...failed.values()];
    for (let pass = 0; pending.length > 0; pass++) {
      assert.ok(pass < 20, `${pending.length} events still fail after 20 passes`);
      const outcomes = await Promise.all(pending.map((e) => settle(store.applyCustomerEvent(e))));
      for (const o of outcomes) if (o.ok) assert.ok(o.kind === 'applied' || o.kind === 'duplicate', o.kind);
      pending = pending.filter((_, i) => !outcomes[i]?.ok);
    }

    let lost = 0;
    for (const customerId of customers) {
      const records = (await storedHistory(store, customerId)).map(([, record]) => record);
      const mine = [...sent.values()].filter((e) => e.customerId === customerId);
      const kept = mine.filter((e) => !atRisk.has(e.eventKey) || records.includes(e.record));
      lost += mine.length - kept.length;
      assert.deepEqual(
        records,
        kept.map((e) => e.record),
        `${customerId}: every event sent, each exactly once (only an event acknowledged as its master died may be missing)`,
      );
    }
    t.diagnostic(`${atRisk.size} events acknowledged during the kill, ${lost} of them lost to the failover`);
  });
});
