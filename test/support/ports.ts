// Free loopback ports for tests: a block for the whole local loop (its servers take ports after a base), or a few.
import net from 'node:net';
import { PORT_OFFSETS } from '../../local/loop.ts';

/** A base port with every port the loop takes after it (PORT_OFFSETS) free too. */
export async function freeBlock(): Promise<number> {
  const size = Math.max(...Object.values(PORT_OFFSETS)) + 1;
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 30_000);
    const ok = await Promise.all(Array.from({ length: size }, (_, i) => isFree(base + i)));
    if (ok.every(Boolean)) return base;
  }
  throw new Error(`no block of ${size} free ports`);
}

/** `count` distinct free loopback ports (for servers that take several, like a Redis Cluster's client and bus ports). */
export async function freePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  for (let attempt = 0; ports.size < count; attempt++) {
    if (attempt >= count * 50) throw new Error(`no ${count} free ports`);
    const port = 20_000 + Math.floor(Math.random() * 30_000);
    if (!ports.has(port) && (await isFree(port))) ports.add(port);
  }
  return [...ports];
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}
