// Benchmark peers: a sink that answers 202 (a broker's ingress, K_SINK) and a function that replies with a next event.
// GET /stats on either answers the events each has received, so a benchmark can check what got through.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { announceReady } from './child.ts';

const received = { sink: 0, replier: 0 };

function listen(handler: http.RequestListener): Promise<string> {
  const server = http.createServer({ keepAliveTimeout: 30_000 }, (req, res) => {
    if (req.method === 'GET' && req.url === '/stats') {
      const body = JSON.stringify(received);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(body.length) });
      res.end(body);
      return;
    }
    handler(req, res);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
    ),
  );
}

/** Reads and drops the body, then answers. */
function drain(req: http.IncomingMessage, done: () => void): void {
  req.on('data', () => undefined);
  req.on('end', done);
}

const sink = await listen((req, res) =>
  drain(req, () => {
    received.sink++;
    res.writeHead(202, { 'content-length': '0' });
    res.end();
  }),
);
const replier = await listen((req, res) =>
  drain(req, () => {
    received.replier++;
    const body = '{"next":true}';
    res.writeHead(200, {
      'ce-specversion': '1.0',
      'ce-id': `reply-${String(req.headers['ce-id'])}`,
      'ce-source': 'bench/replier',
      'ce-type': 'bench.c',
      'content-type': 'application/json',
      'content-length': String(body.length),
    });
    res.end(body);
  }),
);
announceReady({ sink, replier });
