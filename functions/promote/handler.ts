// promote: judges each model.trained with the gate, moves the champion alias by compare-and-set, replies the verdict.
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { BusyError, ConflictError } from '../../shared/errors/index.ts';
import {
  type EventTypes as ET,
  EventTypes,
  Extensions,
  type FlywheelEvent,
  type ModelName,
  ModelPromotedSchema,
  ModelRejectedSchema,
  makeEvent,
} from '../../shared/events/index.ts';
import type { ModelRegistry, ModelVersion } from '../../shared/registry/index.ts';
import type { EventOf, HandlerContext, Outcome } from '../../shared/runtime/index.ts';
import type { OnlineStore } from '../../shared/store/index.ts';
import { type HeldClaim, holdClaim } from '../../shared/store/lease.ts';
import { type GateConfig, judge, type Measurements } from './gate.ts';

export type PromoteType = typeof ET.modelTrained;

export interface PromoteDeps {
  registry: Pick<ModelRegistry, 'get' | 'alias' | 'moveAlias' | 'history'>;
  store: Pick<OnlineStore, 'readRecord' | 'writeRecord' | 'acquireLock' | 'renewLock' | 'releaseLock'>;
  /** Measures a candidate against the champion version (null: none); see measure.ts. */
  measure: (candidate: ModelVersion, championVersion: number | null) => Promise<Measurements>;
  gate: GateConfig;
  /** Recorded as the actor of the alias move in the registry history. */
  actor: string;
  /** This replica's name; each delivery's lease token starts with it. */
  owner: string;
  /**
   * The per-candidate lock is a lease (shared/store/lease.ts): taken for leaseTtlMs and renewed every third of it
   * while the gate works, so the lock of a delivery that died or lost Redis lapses within leaseTtlMs; renewed for
   * at most leaseMaxHoldMs, so a stuck delivery lets a redelivery in after that. Both stay under the retry budget
   * of promote's Trigger (test/functions/budgets.test.ts).
   */
  leaseTtlMs: number;
  leaseMaxHoldMs: number;
  source: string;
  now: () => number;
}

/** The verdict kept per version, so a redelivery replies exactly what the first delivery replied. */
const StoredVerdictSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal(EventTypes.modelPromoted),
    id: z.string(),
    time: z.string(),
    data: ModelPromotedSchema,
  }),
  z.object({
    type: z.literal(EventTypes.modelRejected),
    id: z.string(),
    time: z.string(),
    data: ModelRejectedSchema,
  }),
]);
type StoredVerdict = z.infer<typeof StoredVerdictSchema>;

/** Store names: the verdict on a version (a record, no TTL: the judgement log) and the lease held while judging it. */
export const promoteKeys = {
  verdict: (name: ModelName, version: number) => `promote:${name}:verdict:v${version}`,
  lock: (name: ModelName, version: number) => `promote:${name}:v${version}`,
};

/** Attempts at a compare-and-set before the event is handed back to the broker (409, retried). */
const MAX_ATTEMPTS = 3;

async function readVerdict(
  deps: PromoteDeps,
  name: ModelName,
  version: number,
): Promise<StoredVerdict | null> {
  const raw = await deps.store.readRecord(promoteKeys.verdict(name, version));
  return raw === null ? null : StoredVerdictSchema.parse(JSON.parse(raw));
}

function toEvent(v: StoredVerdict, deps: PromoteDeps): FlywheelEvent {
  const common = {
    source: deps.source,
    id: v.id,
    time: Date.parse(v.time),
    extensions: { [Extensions.model]: v.data.model.name },
  };
  return v.type === EventTypes.modelPromoted
    ? makeEvent({ ...common, type: v.type, data: v.data })
    : makeEvent({ ...common, type: v.type, data: v.data });
}

/**
 * Before an effect (moving the alias, storing the verdict): goes on only while this delivery holds the version's
 * lease. A lease that lapsed (renewals that could not reach Redis, a gate slower than the longest hold) is taken
 * again when no other delivery has it; then a verdict stored in between wins, and is returned. Another delivery
 * holding it: 409, and the broker retries this one into the stored reply.
 */
async function fence(lease: HeldClaim, deps: PromoteDeps, name: ModelName, version: number) {
  if (lease.isHeld()) return null;
  if (!(await lease.retake())) {
    throw new BusyError(`${name} v${version}: its lease lapsed and another delivery is judging it`);
  }
  return readVerdict(deps, name, version);
}

/**
 * Judges the candidate once: a version already judged gets the stored reply again and nothing moves (the same
 * event id, so consumers de-duplicate). Concurrent deliveries of one version are serialised by a short renewed
 * lease: the later one answers 409, which the broker retries (Knative data plane) into the stored reply, and a
 * delivery that died or lost Redis frees the version within leaseTtlMs. Different candidates race on the alias's
 * compare-and-set: the loser measures again against the new champion (README: concurrent candidates).
 */
export async function handle(
  event: EventOf<PromoteType>,
  deps: PromoteDeps,
  ctx: HandlerContext,
): Promise<Outcome> {
  const { name, version } = event.data.model;
  const stored = await readVerdict(deps, name, version);
  if (stored) {
    ctx.metrics
      .counter('flywheel_promote_redelivered_total', 'model.trained already judged: stored verdict replied')
      .inc();
    return { kind: 'reply', event: toEvent(stored, deps) };
  }
  const lock = promoteKeys.lock(name, version);
  // one token per delivery, not per replica: a delivery must not renew, retake or release another's lease
  const owner = `${deps.owner}/${randomUUID()}`;
  const takenAt = performance.now();
  if (!(await deps.store.acquireLock(lock, owner, deps.leaseTtlMs))) {
    throw new BusyError(`${name} v${version} is being judged by another delivery`);
  }
  const lease = holdClaim({
    store: deps.store,
    name: lock,
    owner,
    ttlMs: deps.leaseTtlMs,
    maxHoldMs: deps.leaseMaxHoldMs,
    takenAt,
    what: `${name} v${version}`,
    log: ctx.log,
  });
  try {
    const judged =
      (await readVerdict(deps, name, version)) ??
      (await decide(event, deps, ctx, () => fence(lease, deps, name, version)));
    const meanwhile = await fence(lease, deps, name, version);
    if (meanwhile) return { kind: 'reply', event: toEvent(meanwhile, deps) };
    await deps.store.writeRecord(promoteKeys.verdict(name, version), JSON.stringify(judged));
    return { kind: 'reply', event: toEvent(judged, deps) };
  } finally {
    await lease.release();
  }
}

async function decide(
  event: EventOf<PromoteType>,
  deps: PromoteDeps,
  ctx: HandlerContext,
  /** Resolves while the lease is this delivery's; a verdict another delivery stored meanwhile comes back. */
  fenced: () => Promise<StoredVerdict | null>,
): Promise<StoredVerdict> {
  const { name, version } = event.data.model;
  const candidate = await deps.registry.get(name, version);
  const model = { name, version };
  const time = new Date(deps.now()).toISOString();
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const champion = await deps.registry.alias(name, 'champion');
    if (champion === version) return alreadyChampion(deps, model, time);
    const measurements = await deps.measure(candidate, champion);
    const verdict = judge(measurements, deps.gate);
    switch (verdict.kind) {
      case 'reject':
        ctx.log.info({ model, champion, reasons: verdict.reasons }, 'candidate rejected');
        return {
          type: EventTypes.modelRejected,
          id: `promote-${name}-v${version}-rejected`,
          time,
          data: { model, champion, reasons: verdict.reasons, checks: verdict.checks },
        };
      case 'promote': {
        const meanwhile = await fenced();
        if (meanwhile) return meanwhile;
        try {
          await deps.registry.moveAlias({
            name,
            alias: 'champion',
            to: version,
            expected: champion,
            actor: deps.actor,
            reason: `gate passed on model.trained ${event.id}: ${verdict.reasons[0] ?? ''}`,
          });
        } catch (err) {
          if (!(err instanceof ConflictError)) throw err;
          ctx.log.info(
            { model, expected: champion, attempt },
            'champion moved while judging: measuring again',
          );
          continue;
        }
        ctx.log.info({ model, previous: champion }, 'candidate promoted');
        return {
          type: EventTypes.modelPromoted,
          id: `promote-${name}-v${version}-promoted`,
          time,
          data: {
            model,
            alias: 'champion',
            previous: champion,
            reasons: verdict.reasons,
            checks: verdict.checks,
          },
        };
      }
      default: {
        const unreachable: never = verdict;
        return unreachable;
      }
    }
  }
  throw new BusyError(`the ${name} champion moved ${MAX_ATTEMPTS} times while v${version} was judged`);
}

/** The candidate is the champion already (an earlier delivery moved it and stopped, or an operator did). */
async function alreadyChampion(
  deps: PromoteDeps,
  model: { name: ModelName; version: number },
  time: string,
): Promise<StoredVerdict> {
  const history = await deps.registry.history(model.name);
  const entry = history.findLast((e) => e.alias === 'champion' && e.to === model.version);
  return {
    type: EventTypes.modelPromoted,
    id: `promote-${model.name}-v${model.version}-promoted`,
    time,
    data: {
      model,
      alias: 'champion',
      previous: entry?.from ?? null,
      reasons: [`already the champion (moved by ${entry?.actor ?? 'an earlier delivery'})`],
      checks: [],
    },
  };
}
