// Free ports for tests: a block for the whole local loop (its servers take ports after a base), or a few.
import net from 'node:net';
import { PORT_OFFSETS } from '../../local/loop.ts';

/**
 * Ports are drawn below Linux's ephemeral range (32768–60999), where no client connection of this machine takes
 * its local port: a port found free there stays free until a test's server takes it.
 */
const LOWEST = 20_000;
const SPAN = 12_000;

/** A base port with every port the loop takes after it (PORT_OFFSETS) free too. */
export async function freeBlock(): Promise<number> {
  const size = Math.max(...Object.values(PORT_OFFSETS)) + 1;
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = LOWEST + Math.floor(Math.random() * (SPAN - size));
    const ok = await Promise.all(Array.from({ length: size }, (_, i) => isFree(base + i)));
    if (ok.every(Boolean)) return base;
  }
  throw new Error(`no block of ${size} free ports`);
}

/** One free port (a server's, or one where nothing listens, to be refused). */
export async function freePort(): Promise<number> {
  const [port = 0] = await freePorts(1);
  return port;
}

/** `count` distinct free ports (for servers that take several, like a Redis Cluster's client and bus ports). */
export async function freePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  for (let attempt = 0; ports.size < count; attempt++) {
    if (attempt >= count * 50) throw new Error(`no ${count} free ports`);
    const port = LOWEST + Math.floor(Math.random() * SPAN);
    if (!ports.has(port) && (await isFree(port))) ports.add(port);
  }
  return [...ports];
}

/** Whether `port` can be listened on by every address (as the functions listen), not only loopback. */
function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, () => s.close(() => resolve(true)));
  });
}
