// Benchmark peers for the broker: a sink that answers 202 and a function that replies with a next event (200).
import http from 'node:http';
import type { AddressInfo } from 'node:net';

function listen(handler: http.RequestListener): Promise<string> {
  const server = http.createServer({ keepAliveTimeout: 30_000 }, handler);
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
    res.writeHead(202, { 'content-length': '0' });
    res.end();
  }),
);
const replier = await listen((req, res) =>
  drain(req, () => {
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
process.stdout.write(`READY ${JSON.stringify({ sink, replier })}\n`);
