// Test support: a private Redis Cluster (three masters, one replica each) of Debian's redis-server, on free ports.
import { execFile, spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { freePorts } from './ports.ts';
import { type AppendOnly, type Instance, redisCommand, spawnServer } from './redis.ts';

/** One node as CLUSTER NODES describes it. */
export interface ClusterNodeInfo {
  id: string;
  port: number;
  role: 'master' | 'replica';
  /** The master's id, for a replica. */
  masterId: string | undefined;
  /** Flagged failing (`fail` or `fail?`) by the node asked. */
  failing: boolean;
  /** Slot ranges served, inclusive, for a master. */
  slots: [number, number][];
}

/** A running cluster: its REDIS_URL, its nodes, and the faults a failover test needs. */
export interface RedisCluster {
  /** `redis+cluster://127.0.0.1:p1,…` naming every node. */
  url: string;
  /** Client ports of the six nodes (masters and replicas as redis-cli assigned them). */
  ports: number[];
  /** CLUSTER NODES as a live node sees it now. */
  nodes(): Promise<ClusterNodeInfo[]>;
  /** The slot of a key, as the cluster itself computes it (CLUSTER KEYSLOT). */
  slotOf(key: string): Promise<number>;
  /**
   * Kills (SIGKILL) the master serving `key`'s slot (slot 0 without a key): its replica takes over after
   * cluster-node-timeout. Returns the killed node's port and the slot.
   */
  killMaster(key?: string): Promise<{ port: number; slot: number }>;
  /**
   * Waits until the replica of the master serving `key`'s slot has every write that master acknowledged so far
   * (its acknowledged offset reaches the master's); Redis replicates asynchronously, so a master killed before
   * that loses what its replica lacks.
   */
  replicated(key: string): Promise<void>;
  /** Waits until every live node says cluster_state:ok, live masters cover all 16384 slots and replicas are in sync. */
  healthy(): Promise<void>;
  /** Kills every node and removes the directories. */
  stop(): Promise<void>;
}

const exec = promisify(execFile);
const SLOTS = 16384;
/** How long the cluster may take to form or heal: bounds a failure only, the machine is often loaded. */
const DEADLINE_MS = 60_000;
/** cluster-node-timeout: a master unreachable this long is failed over to its replica. */
export const NODE_TIMEOUT_MS = 2000;

const dirs = new Set<string>();
process.on('exit', () => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/**
 * Starts six cluster-enabled redis-servers on free ports (each under startRedis' watchdog, so none outlives this
 * process), joins them with `redis-cli --cluster create … --cluster-replicas 1`, and waits until the cluster is
 * healthy. Throws with the install command when redis-server or redis-cli is missing.
 */
export async function startRedisCluster(
  opts: { appendonly?: Omit<AppendOnly, 'dir'> } = {},
): Promise<RedisCluster> {
  for (const binary of ['redis-server', 'redis-cli']) {
    if (spawnSync(binary, ['--version'], { stdio: 'ignore' }).error) {
      throw new Error(`${binary} not found: apt-get install -y redis-server (it brings redis-cli)`);
    }
  }
  const root = await mkdtemp(path.join(os.tmpdir(), 'fw-redis-cluster-'));
  dirs.add(root);
  const all = await freePorts(12);
  const ports = all.slice(0, 6);
  const instances = new Map<number, Instance>();
  const stop = async () => {
    for (const instance of instances.values()) instance.signal('SIGKILL');
    await Promise.all([...instances.values()].map((i) => i.exited));
    await rm(root, { recursive: true, force: true });
    dirs.delete(root);
  };
  try {
    await Promise.all(
      ports.map(async (port, i) => {
        const dir = path.join(root, String(port));
        await mkdir(dir);
        const persistence = opts.appendonly
          ? ['--appendonly', 'yes', '--appendfsync', opts.appendonly.fsync]
          : ['--appendonly', 'no'];
        const args = [
          '--dir',
          dir,
          ...persistence,
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          path.join(dir, 'nodes.conf'),
          '--cluster-node-timeout',
          String(NODE_TIMEOUT_MS),
          '--cluster-port',
          String(all[6 + i]),
          '--repl-diskless-sync-delay',
          '0',
        ];
        instances.set(port, await spawnServer(port, args));
      }),
    );
    await exec(
      'redis-cli',
      [
        '--cluster',
        'create',
        ...ports.map((p) => `127.0.0.1:${p}`),
        '--cluster-replicas',
        '1',
        '--cluster-yes',
      ],
      { timeout: DEADLINE_MS },
    );
  } catch (err) {
    await stop();
    throw new Error('the Redis Cluster did not form', { cause: err });
  }

  const live = () => ports.filter((p) => instances.get(p)?.alive());
  const ask = async (args: string[]) => {
    for (const port of live()) {
      try {
        return await redisCommand(port, args);
      } catch {
        // that node is going away: ask the next
      }
    }
    throw new Error(`no live node answered ${args.join(' ')}`);
  };
  const nodes = async () => parseNodes(String(await ask(['CLUSTER', 'NODES'])));
  const healthy = async () => {
    const deadline = Date.now() + DEADLINE_MS;
    let last = '';
    while (Date.now() < deadline) {
      last = await healthProblem(live());
      if (last === '') return;
      await sleep(100);
    }
    throw new Error(`the Redis Cluster was not healthy within ${DEADLINE_MS} ms: ${last}`);
  };
  const cluster: RedisCluster = {
    url: `redis+cluster://${ports.map((p) => `127.0.0.1:${p}`).join(',')}`,
    ports,
    nodes,
    slotOf: async (key) => Number(await ask(['CLUSTER', 'KEYSLOT', key])),
    killMaster: async (key) => {
      const slot = key === undefined ? 0 : await cluster.slotOf(key);
      const master = (await nodes()).find(
        (n) => n.role === 'master' && !n.failing && n.slots.some(([a, b]) => a <= slot && slot <= b),
      );
      const instance = master && instances.get(master.port);
      if (!master || !instance?.alive()) throw new Error(`no live master serves slot ${slot}`);
      instance.signal('SIGKILL');
      await instance.exited;
      return { port: master.port, slot };
    },
    replicated: async (key) => {
      const slot = await cluster.slotOf(key);
      const master = (await nodes()).find(
        (n) => n.role === 'master' && !n.failing && n.slots.some(([a, b]) => a <= slot && slot <= b),
      );
      if (!master) throw new Error(`no live master serves slot ${slot}`);
      // WAIT counts only the asking connection's own writes: compare the master's offset with its replicas' instead
      const info = async () => String(await redisCommand(master.port, ['INFO', 'replication']));
      const target = Number(/master_repl_offset:(\d+)/.exec(await info())?.[1] ?? Number.NaN);
      const deadline = Date.now() + DEADLINE_MS;
      for (;;) {
        const text = await info();
        const online = [...text.matchAll(/^slave\d+:.*state=online,offset=(\d+)/gm)].map((m) => Number(m[1]));
        if (online.some((offset) => offset >= target)) return;
        if (Date.now() > deadline) {
          throw new Error(
            `the replica of :${master.port} did not reach offset ${target} within ${DEADLINE_MS} ms:\n${text}`,
          );
        }
        await sleep(50);
      }
    },
    healthy,
    stop,
  };
  try {
    await healthy();
  } catch (err) {
    await stop();
    throw err;
  }
  return cluster;
}

/** '' when the cluster is healthy as seen from every live node, else what is not yet. */
async function healthProblem(ports: readonly number[]): Promise<string> {
  try {
    for (const port of ports) {
      const info = String(await redisCommand(port, ['CLUSTER', 'INFO']));
      if (!/^cluster_state:ok\r?$/m.test(info)) return `${port}: cluster_state is not ok`;
      if (!new RegExp(`^cluster_slots_ok:${SLOTS}\\r?$`, 'm').test(info)) return `${port}: not all slots ok`;
      const nodes = parseNodes(String(await redisCommand(port, ['CLUSTER', 'NODES'])));
      const covered = nodes
        .filter((n) => n.role === 'master' && !n.failing && ports.includes(n.port))
        .reduce((sum, n) => sum + n.slots.reduce((s, [a, b]) => s + b - a + 1, 0), 0);
      if (covered !== SLOTS) return `${port}: live masters cover ${covered} slots`;
      const me = nodes.find((n) => n.port === port);
      const master = nodes.find((n) => n.id === me?.masterId);
      if (me?.role === 'replica' && master && !master.failing && ports.includes(master.port)) {
        const replication = String(await redisCommand(port, ['INFO', 'replication']));
        if (!/^master_link_status:up\r?$/m.test(replication)) return `${port}: replica not in sync`;
      }
    }
    return '';
  } catch (err) {
    return (err as Error).message;
  }
}

/** Parses CLUSTER NODES (one line per node: id addr flags master … link-state slot…). */
export function parseNodes(text: string): ClusterNodeInfo[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const [id = '', addr = '', flags = '', master = '-', , , , , ...slots] = line.trim().split(' ');
      const flagSet = new Set(flags.split(','));
      return {
        id,
        port: Number(/:(\d+)@/.exec(addr)?.[1]),
        role: flagSet.has('master') ? 'master' : 'replica',
        masterId: master === '-' ? undefined : master,
        failing: flagSet.has('fail') || flagSet.has('fail?'),
        slots: slots
          .filter((s) => !s.startsWith('['))
          .map((s): [number, number] => {
            const [a, b = a] = s.split('-').map(Number);
            return [a ?? 0, b ?? 0];
          }),
      };
    });
}
