// Reads a request's headers and body within the size limit, straight from Node's IncomingMessage when there is one.
import type { IncomingMessage } from 'node:http';
import type { Context } from 'hono';
import { PayloadTooLargeError } from '../errors/index.ts';

/**
 * Headers (lower-case) and the body as text; throws PayloadTooLargeError past `limit` bytes, from the declared
 * content-length or while reading. Reading the Node stream directly avoids building a WHATWG Request per event.
 */
export async function readMessage(
  c: Context,
  limit: number,
): Promise<{ headers: Record<string, string>; body: string }> {
  const incoming = incomingOf(c);
  if (!incoming) return readFromRequest(c.req.raw, limit);
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(incoming.headers))
    if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(',') : v;
  if (Number(headers['content-length'] ?? 0) > limit) throw new PayloadTooLargeError(limit);
  return { headers, body: await readBody(incoming, limit) };
}

/** The body as text alone, within `limit` bytes (for routes that need no headers). */
export async function readBodyText(c: Context, limit: number): Promise<string> {
  const incoming = incomingOf(c);
  if (!incoming) return (await readFromRequest(c.req.raw, limit)).body;
  if (Number(incoming.headers['content-length'] ?? 0) > limit) throw new PayloadTooLargeError(limit);
  return readBody(incoming, limit);
}

function incomingOf(c: Context): IncomingMessage | undefined {
  return (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
}

/**
 * The body as text, collected from 'data' events (an async iterator costs a promise per chunk). Past `limit` it stops
 * listening and rejects; Node discards the rest of the body once the 413 is answered.
 */
function readBody(incoming: IncomingMessage, limit: number): Promise<string> {
  if (incoming.readableEnded) return Promise.resolve('');
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const stop = () => {
      incoming.off('data', onData);
      incoming.off('end', onEnd);
      incoming.off('error', onError);
      incoming.off('close', onClose);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        stop();
        reject(new PayloadTooLargeError(limit));
      } else chunks.push(chunk);
    };
    const onEnd = () => {
      stop();
      resolve(
        chunks.length === 1 ? (chunks[0] as Buffer).toString('utf8') : Buffer.concat(chunks).toString('utf8'),
      );
    };
    const onError = (err: Error) => {
      stop();
      reject(err);
    };
    const onClose = () => {
      stop();
      reject(new Error('the request was closed before its body ended'));
    };
    incoming.on('data', onData);
    incoming.on('end', onEnd);
    incoming.on('error', onError);
    incoming.on('close', onClose);
  });
}

async function readFromRequest(
  req: Request,
  limit: number,
): Promise<{ headers: Record<string, string>; body: string }> {
  const headers: Record<string, string> = {};
  req.headers.forEach((v, k) => {
    headers[k] = v;
  });
  if (Number(headers['content-length'] ?? 0) > limit) throw new PayloadTooLargeError(limit);
  const body = await req.text();
  if (Buffer.byteLength(body) > limit) throw new PayloadTooLargeError(limit);
  return { headers, body };
}
