// Free loopback ports for tests that start the whole local loop (its servers take a block of ports after a base).
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

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}
