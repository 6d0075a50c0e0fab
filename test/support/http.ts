// Small HTTP helpers for tests: JSON posts, binary-mode CloudEvents, bounded polling, a recording proxy.
import http from 'node:http';
import { CloudEvent, HTTP } from 'cloudevents';

export async function postJson(
  url: string,
  body: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

/** Posts one CloudEvent in binary mode, as a Knative broker delivers it. */
export async function postEvent(
  url: string,
  attrs: { id: string; type: string; source?: string; data: unknown; [ext: string]: unknown },
) {
  const msg = HTTP.binary(new CloudEvent({ source: 'test', datacontenttype: 'application/json', ...attrs }));
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(msg.headers)) headers[k] = String(v);
  const res = await fetch(url, { method: 'POST', headers, body: msg.body as string });
  const text = await res.text();
  const ce: Record<string, string> = {};
  res.headers.forEach((v, k) => {
    if (k.startsWith('ce-')) ce[k.slice(3)] = v;
  });
  return { status: res.status, ce, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

/** Polls `check` every 20 ms until it returns a value other than undefined, or fails after `limitMs`. */
export async function eventually<T>(
  check: () => Promise<T | undefined> | T | undefined,
  limitMs = 5000,
): Promise<T> {
  const end = Date.now() + limitMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`condition not met within ${limitMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** One request that passed through a recording proxy, with the status the target answered. */
export interface Exchange {
  method: string;
  headers: Record<string, string>;
  body: string;
  status: number;
}

/**
 * A forwarding HTTP proxy on loopback that records every exchange (a data source's posts, to know exactly which
 * events the broker took). `hold()` makes new requests wait before they are forwarded until `release()`: a sender
 * that awaits its posts pauses with them.
 */
export async function startRecordingProxy(opts: {
  target: string;
  onExchange: (exchange: Exchange) => void;
}): Promise<{ url: string; hold(): void; release(): void; close(): Promise<void> }> {
  let gate: { promise: Promise<void>; open: () => void } | undefined;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(req.headers))
          if (typeof v === 'string' && k !== 'host' && k !== 'content-length' && k !== 'connection')
            headers[k] = v;
        await gate?.promise;
        const method = req.method ?? 'POST';
        try {
          const answer = await fetch(new URL(req.url ?? '/', opts.target), {
            method,
            headers,
            ...(method === 'GET' || method === 'HEAD' ? {} : { body }),
          });
          const text = await answer.text();
          opts.onExchange({ method, headers, body, status: answer.status });
          res.writeHead(answer.status, {
            'content-type': answer.headers.get('content-type') ?? 'text/plain',
          });
          res.end(text);
        } catch (err) {
          opts.onExchange({ method, headers, body, status: 502 });
          res.writeHead(502, { 'content-type': 'text/plain' });
          res.end(String(err));
        }
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('proxy has no port');
  return {
    url: `http://127.0.0.1:${address.port}/`,
    hold() {
      if (gate) return;
      let open = () => {};
      const promise = new Promise<void>((resolve) => {
        open = resolve;
      });
      gate = { promise, open };
    },
    release() {
      gate?.open();
      gate = undefined;
    },
    async close() {
      gate?.open();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
