// The small roles on Redis: locks and claims (SET NX PX, compare-and-delete, compare-and-expire), records,
// the registry's versioned records and the drift windows. Key layout: keys.ts.
import type { DriftWindowStore, LockStore, RecordStore, RegistryStore } from './types.ts';
import { ALIAS_CHANNEL, claimKey, driftKeys, lockKey, recordKey, registryKeys as rk } from './keys.ts';
import type { RedisContext } from './redis-context.ts';
import { StringListSchema } from './redis-support.ts';
import { checkIncrements, checkTtl, checkVersion } from './validate.ts';

export function redisLocks({ client, call }: RedisContext): LockStore {
  return {
    claim: async (key, ttlMs) => {
      checkTtl('ttlMs', ttlMs);
      return call('claim', async () => (await client.set(claimKey(key), '1', 'PX', ttlMs, 'NX')) === 'OK');
    },
    release: (key) => call('release', async () => void (await client.del(claimKey(key)))),
    acquireLock: async (name, owner, ttlMs) => {
      checkTtl('ttlMs', ttlMs);
      return call(
        'acquireLock',
        async () => (await client.set(lockKey(name), owner, 'PX', ttlMs, 'NX')) === 'OK',
      );
    },
    releaseLock: (name, owner) =>
      call('releaseLock', async () => (await client.fwReleaseLock(lockKey(name), owner)) === 1),
    breakLock: (name) => call('breakLock', async () => (await client.del(lockKey(name))) === 1),
    renewLock: async (name, owner, ttlMs) => {
      checkTtl('ttlMs', ttlMs);
      return call('renewLock', async () => (await client.fwRenewLock(lockKey(name), owner, ttlMs)) === 1);
    },
  };
}

export function redisRecords({ client, call }: RedisContext): RecordStore {
  return {
    readRecord: (name) => call('readRecord', () => client.get(recordKey(name))),
    writeRecord: async (name, value, opts) => {
      const ttlMs = opts?.ttlMs;
      if (ttlMs !== undefined) checkTtl('ttlMs', ttlMs);
      return call('writeRecord', async () => {
        if (ttlMs === undefined) await client.set(recordKey(name), value);
        else await client.set(recordKey(name), value, 'PX', ttlMs);
      });
    },
  };
}

/** One compare-and-set (lua.ts COMPARE_AND_SET) with an optional list append and notice in the same step. */
function compareAndSet(
  ctx: RedisContext,
  op: string,
  input: {
    key: string;
    expected: string | null;
    next: string;
    list?: string;
    entry?: string;
    notice?: string;
  },
): Promise<boolean> {
  const keys = input.list === undefined ? [input.key] : [input.key, input.list];
  return ctx.call(op, async () => {
    const reply = await ctx.client.fwCompareAndSet(
      keys.length,
      ...keys,
      input.expected === null ? '0' : '1',
      input.expected ?? '',
      input.next,
      input.entry ?? '',
      input.notice === undefined ? '' : ALIAS_CHANNEL,
      input.notice ?? '',
    );
    return reply === 1;
  });
}

export function redisRegistry(ctx: RedisContext): RegistryStore {
  const { client, call, subscriptions } = ctx;
  return {
    nextModelVersion: (model) => call('nextModelVersion', () => client.incr(rk.nextVersion(model))),
    writeModelVersion: async (input) => {
      checkVersion(input.version);
      const { model, version } = input;
      return call('writeModelVersion', async () => {
        // one slot ({model}): a transaction, so a version is listed only with its record readable
        const tx = client.multi();
        if (input.artifact !== undefined)
          tx.set(
            rk.artifact(model, version),
            Buffer.from(input.artifact.buffer, input.artifact.byteOffset, input.artifact.byteLength),
          );
        if (input.holdout !== undefined) tx.set(rk.holdout(model, version), input.holdout);
        tx.set(rk.version(model, version), input.record);
        tx.zadd(rk.versions(model), version, String(version));
        for (const [err] of (await tx.exec()) ?? []) if (err) throw err;
      });
    },
    readModelVersion: (model, version) =>
      call('readModelVersion', () => client.get(rk.version(model, version))),
    listModelVersions: (model) =>
      call('listModelVersions', async () =>
        (await client.zrange(rk.versions(model), 0, -1)).map(Number).sort((a, b) => a - b),
      ),
    readModelArtifact: (model, version) =>
      call('readModelArtifact', async () => {
        const buf = await client.getBuffer(rk.artifact(model, version));
        return buf === null ? null : new Uint8Array(buf);
      }),
    readModelHoldout: (model, version) =>
      call('readModelHoldout', () => client.get(rk.holdout(model, version))),
    readAlias: (model, alias) => call('readAlias', () => client.get(rk.alias(model, alias))),
    moveAlias: (move) =>
      compareAndSet(ctx, 'moveAlias', {
        key: rk.alias(move.model, move.alias),
        expected: move.expected,
        next: move.next,
        list: rk.history(move.model),
        entry: move.historyEntry,
        notice: move.notice,
      }),
    readAliasHistory: (model) => call('readAliasHistory', () => client.lrange(rk.history(model), 0, -1)),
    watchAliases: (onNotice) => subscriptions.subscribe(ALIAS_CHANNEL, onNotice),
  };
}

export function redisDriftWindows(ctx: RedisContext): DriftWindowStore {
  const { client, call } = ctx;
  return {
    addDriftCounts: async (monitor, n, increments, ttlMs) => {
      checkIncrements(increments);
      checkTtl('ttlMs', ttlMs);
      const entries = Object.entries(increments);
      return call('addDriftCounts', async () => {
        const out: Record<string, number> = {};
        if (entries.length === 0) return out;
        const args = entries.flatMap(([field, by]) => [field, String(by)]);
        const values = StringListSchema.parse(
          await client.fwHashIncrement(driftKeys.window(monitor, n), ttlMs, ...args),
        );
        entries.forEach(([field], i) => {
          out[field] = Number(values[i]);
        });
        return out;
      });
    },
    takeDriftWindow: (monitor, n) =>
      call('takeDriftWindow', async () => {
        const key = driftKeys.window(monitor, n);
        const [[readErr, fields], [delErr]] = ((await client.multi().hgetall(key).del(key).exec()) ?? []) as [
          [Error | null, Record<string, string>],
          [Error | null, unknown],
        ];
        if (readErr) throw readErr;
        if (delErr) throw delErr;
        const out: Record<string, number> = {};
        for (const [f, v] of Object.entries(fields ?? {})) out[f] = Number(v);
        return out;
      }),
    readDriftRecord: (monitor, name) =>
      call('readDriftRecord', () => client.get(driftKeys.record(monitor, name))),
    swapDriftRecord: (monitor, name, expected, next) =>
      compareAndSet(ctx, 'swapDriftRecord', { key: driftKeys.record(monitor, name), expected, next }),
  };
}
