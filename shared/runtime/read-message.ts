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
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  if (!incoming) return readFromRequest(c.req.raw, limit);
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(incoming.headers))
    if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(',') : v;
  if (Number(headers['content-length'] ?? 0) > limit) throw new PayloadTooLargeError(limit);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of incoming as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new PayloadTooLargeError(limit);
    chunks.push(chunk);
  }
  return {
    headers,
    body:
      chunks.length === 1 ? (chunks[0] as Buffer).toString('utf8') : Buffer.concat(chunks).toString('utf8'),
  };
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
