// Starting a server on a free port: a port taken after it was found free costs one more start, not the wait's bound;
// a server that exits for another reason fails the start at once, with what it printed.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePort } from './ports.ts';
import { spawnWatched, startOnFreePort } from './watched-process.ts';

/** A node HTTP server on the port in argv (an uncaught EADDRINUSE when it is taken). */
const HTTP_SERVER = `require('node:http').createServer((q, s) => s.end('ok')).listen(Number(process.argv[1]))`;

describe('startOnFreePort', () => {
  let dir: string;
  let taken: net.Server;
  let takenPort: number;
  const held = new Set<net.Socket>();
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'watched-'));
    // Holds the port, and holds every connection to it unanswered (as a foreign server may).
    taken = net.createServer((socket) => held.add(socket));
    takenPort = await freePort();
    await new Promise<void>((resolve) => taken.listen(takenPort, resolve));
  });
  after(async () => {
    for (const socket of held) socket.destroy();
    await new Promise((resolve) => taken.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  const ready = async (url: string) => (await fetch(url)).status === 200;

  it('starts again on another port when the first was taken meanwhile', async () => {
    const given: number[] = [];
    const ports = [takenPort, await freePort()];
    const { server, url } = await startOnFreePort({
      start: (port) => spawnWatched(dir, [process.execPath, '-e', HTTP_SERVER, String(port)]),
      ready,
      limitMs: 60_000,
      port: async () => {
        const port = ports[given.length] ?? 0;
        given.push(port);
        return port;
      },
    });
    try {
      assert.deepEqual(given, ports);
      assert.equal(url, `http://127.0.0.1:${ports[1]}`);
      assert.equal(await (await fetch(url)).text(), 'ok');
    } finally {
      await server.kill();
    }
  });

  it('fails at once with the output of a server that exits for another reason', async () => {
    let starts = 0;
    await assert.rejects(
      startOnFreePort({
        start: () => {
          starts++;
          return spawnWatched(dir, [
            process.execPath,
            '-e',
            `console.error('no REDIS_URL'); process.exit(2)`,
          ]);
        },
        ready,
        limitMs: 600_000,
      }),
      /exited while starting:\n[\s\S]*no REDIS_URL/,
    );
    assert.equal(starts, 1);
  });
});
