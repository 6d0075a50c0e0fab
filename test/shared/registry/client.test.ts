// The registry client over real sockets: artifact bytes checked against the ETag, a store that is down is exit 3.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Hono } from 'hono';
import { promoteFunction } from '../../../functions/promote/function.ts';
import { defaultConfig } from '../../../shared/config/index.ts';
import { EXIT, runModelsCli, runStatusCli } from '../../../shared/registry/cli.ts';
import { registryClient } from '../../../shared/registry/client.ts';
import { ModelRegistry } from '../../../shared/registry/index.ts';
import {
  type AppServer,
  createLogger,
  listenApp,
  type RunningFunction,
  serve,
} from '../../../shared/runtime/index.ts';
import { createMemoryStore, type OnlineStore } from '../../../shared/store/index.ts';
import { lineage, riskOnnx } from '../../support/models.ts';

const log = createLogger({ name: 'test', level: 'silent' });
const TOKEN = 'read-token';
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

describe('registry client', () => {
  let store: OnlineStore;
  let promote: RunningFunction;
  const artifact = riskOnnx({ bias: 0.25 });
  before(async () => {
    store = createMemoryStore();
    await new ModelRegistry({ store }).register({ name: 'risk', artifact, lineage: lineage() });
    promote = await serve(
      promoteFunction({ store, config: defaultConfig({ REGISTRY_READ_TOKEN: TOKEN }), log }),
      { port: 0, host: '127.0.0.1', log, maxBodyBytes: 65_536, shutdownGraceMs: 1_000 },
    );
  });
  after(() => promote.close());

  it('downloads the registered ONNX bytes, their SHA-256 equal to the record', async () => {
    const client = registryClient({ url: promote.url, readToken: TOKEN });
    const got = await client.artifact('risk', 1);
    assert.equal(got.sha256, sha256(artifact));
    assert.deepEqual(got.bytes, new Uint8Array(artifact));
    assert.equal((await client.version('risk', 1)).artifact.sha256, got.sha256);
  });

  it('refuses bytes that do not match the ETag the server sent', async () => {
    const app = new Hono();
    app.get('/v1/models/risk/versions/1/artifact', (c) =>
      c.body(Buffer.from('tampered'), 200, { etag: `"${sha256(artifact)}"` }),
    );
    const server: AppServer = await listenApp(app, { name: 'fake', port: 0, host: '127.0.0.1' });
    try {
      const { port } = server.address() as { port: number };
      const client = registryClient({ url: `http://127.0.0.1:${port}`, readToken: TOKEN });
      await assert.rejects(client.artifact('risk', 1), { kind: 'unavailable', message: /arrived damaged/ });
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it('exits 3 with the problem when the registry answers 503 because its store is down', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const io = {
      out: (l: string) => out.push(l),
      err: (l: string) => err.push(l),
      config: defaultConfig({ FLYWHEEL_URL: promote.url, FLYWHEEL_TOKEN: TOKEN }),
      cwd: '/nonexistent',
    };
    assert.equal(await runModelsCli(['list', 'risk'], io), EXIT.ok);
    await store.close();
    assert.equal(await runStatusCli([], io), EXIT.unavailable);
    assert.match(err.join('\n'), /error: 503 memory: store is closed/);
    assert.equal(await runModelsCli(['show', 'risk', '1'], io), EXIT.unavailable);
  });
});
