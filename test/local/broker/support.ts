// Test peers for the broker: scripted HTTP subscribers on 127.0.0.1:0 and a broker built from inline Trigger YAML.
import { mkdtemp } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { type Broker, createBroker, parseTriggers } from '../../../local/broker/index.ts';
import { createLogger } from '../../../shared/runtime/logger.ts';

export const log = createLogger({ name: 'broker-test', level: process.env.TEST_LOG_LEVEL ?? 'silent' });

/** What a subscriber saw: the request's headers (lower-case), body and path. */
export interface Received {
  path: string;
  headers: Record<string, string>;
  body: string;
}

export interface Reply {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

export interface Subscriber {
  url: string;
  received: Received[];
  /** TCP connections accepted so far (keep-alive reuse shows as few connections for many requests). */
  connections(): number;
  close(): Promise<void>;
}

/** Starts a subscriber; `respond` gets each request and its 1-based count and says what to answer (may wait). */
export async function startSubscriber(
  respond: (req: Received, n: number) => Reply | Promise<Reply> = () => ({ status: 202 }),
): Promise<Subscriber> {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
      const r: Received = { path: req.url ?? '/', headers, body: Buffer.concat(chunks).toString('utf8') };
      received.push(r);
      const reply = await respond(r, received.length);
      res.writeHead(reply.status, reply.headers ?? {});
      res.end(reply.body ?? '');
    });
  });
  let connections = 0;
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    connections: () => connections,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** A Trigger manifest for the default broker, delivering to Service `service`. */
export function triggerYaml(input: {
  name: string;
  service: string;
  filter: string;
  delivery?: string;
}): string {
  return [
    'apiVersion: eventing.knative.dev/v1',
    'kind: Trigger',
    `metadata: { name: ${input.name}, namespace: flywheel }`,
    'spec:',
    '  broker: default',
    `  ${input.filter}`,
    `  subscriber: { ref: { apiVersion: serving.knative.dev/v1, kind: Service, name: ${input.service} } }`,
    ...(input.delivery ? [`  delivery: ${input.delivery}`] : []),
  ].join('\n');
}

export interface Running {
  broker: Broker;
  url: string;
  deadLetterFile: string;
}

/** Creates and starts a broker on 127.0.0.1:0 from YAML documents, resolving services through `services`. */
export async function startBroker(input: {
  yaml: string[];
  services: Record<string, string>;
  queueCapacity?: number;
  concurrency?: number;
  attemptTimeoutMs?: number;
  maxBodyBytes?: number;
}): Promise<Running> {
  const triggers = parseTriggers([{ file: 'test.yaml', text: input.yaml.join('\n---\n') }]);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'broker-'));
  const deadLetterFile = path.join(dir, 'dead-letters.jsonl');
  const broker = createBroker({
    triggers,
    resolve: (service) => {
      const url = input.services[service];
      if (!url) throw new Error(`unknown service ${service}`);
      return url;
    },
    queueCapacity: input.queueCapacity ?? 100,
    deadLetterFile,
    log,
    ...(input.concurrency === undefined ? {} : { concurrency: input.concurrency }),
    ...(input.attemptTimeoutMs === undefined ? {} : { attemptTimeoutMs: input.attemptTimeoutMs }),
    ...(input.maxBodyBytes === undefined ? {} : { maxBodyBytes: input.maxBodyBytes }),
  });
  const { url } = await broker.listen({ port: 0 });
  return { broker, url, deadLetterFile };
}

/** A binary-mode POST of one event (attributes as ce-* headers) to the broker. */
export function postBinary(url: string, attrs: Record<string, string>, data: unknown): Promise<Response> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  for (const [k, v] of Object.entries(attrs)) headers[`ce-${k}`] = v;
  return fetch(url, { method: 'POST', headers, body: JSON.stringify(data) });
}

/** A structured-mode (or batch, for an array) POST to the broker. */
export function postStructured(url: string, event: unknown): Promise<Response> {
  const type = Array.isArray(event) ? 'application/cloudevents-batch+json' : 'application/cloudevents+json';
  return fetch(url, { method: 'POST', headers: { 'content-type': type }, body: JSON.stringify(event) });
}

/** Minimal required attributes for an event of `type`. */
export function ce(type: string, id: string, extra: Record<string, string> = {}): Record<string, string> {
  return { specversion: '1.0', id, source: 'test/source', type, ...extra };
}

/** Waits until `cond()` holds (checked every 5 ms), failing after `limitMs`; for states that have no event. */
export async function until(cond: () => boolean, what: string, limitMs = 5000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Resolves when the broker has delivered or dead-lettered everything; a delivery that never ends fails the test. */
export async function idleWithin(broker: Broker, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the broker was not idle within ${ms} ms`)), ms);
  });
  try {
    await Promise.race([broker.whenIdle(), guard]);
  } finally {
    clearTimeout(timer);
  }
}
