// Publishing to K_SINK: binary mode, retries with backoff on 429/5xx/connection errors, a retriable error when it stays down.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { DependencyError, InvalidInputError } from '../../../shared/errors/index.ts';
import { EventTypes, makeEvent } from '../../../shared/events/index.ts';
import { createHttpSink } from '../../../shared/runtime/index.ts';
import { transaction } from '../../support/events.ts';

/** A real HTTP peer that answers with the given statuses in turn and records what it got. */
async function peer(statuses: number[]) {
  const got: { headers: IncomingMessage['headers']; body: string }[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      got.push({ headers: req.headers, body });
      res.statusCode = statuses[Math.min(got.length - 1, statuses.length - 1)] ?? 202;
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  return { url, got, close: () => new Promise<void>((r) => server.close(() => r())) };
}

const event = makeEvent({ type: EventTypes.transaction, source: 'test', id: 'sink-1', data: transaction() });
const opts = { retries: 3, backoffMs: 5, timeoutMs: 1000 };

describe('createHttpSink', () => {
  it('posts in binary mode and retries 503 and 429 until accepted', async () => {
    const p = await peer([503, 429, 202]);
    await createHttpSink({ url: p.url, ...opts }).publish(event);
    await p.close();
    assert.equal(p.got.length, 3);
    assert.equal(p.got[2]?.headers['ce-id'], 'sink-1');
    assert.equal(p.got[2]?.headers['ce-type'], EventTypes.transaction);
    assert.deepEqual(JSON.parse(p.got[2]?.body ?? ''), transaction());
  });

  it('gives up with a retriable DependencyError after its bounded retries', async () => {
    const p = await peer([500]);
    await assert.rejects(createHttpSink({ url: p.url, ...opts }).publish(event), (err: unknown) => {
      assert.ok(err instanceof DependencyError);
      assert.equal(err.retriable, true);
      return true;
    });
    await p.close();
    assert.equal(p.got.length, 4);
  });

  it('fails fast with a retriable error when nothing listens', async () => {
    const p = await peer([202]);
    await p.close();
    await assert.rejects(createHttpSink({ url: p.url, ...opts }).publish(event), DependencyError);
  });

  it('does not retry a 400: the event itself is wrong', async () => {
    const p = await peer([400]);
    await assert.rejects(createHttpSink({ url: p.url, ...opts }).publish(event), InvalidInputError);
    await p.close();
    assert.equal(p.got.length, 1);
  });
});
