// promote's registry read API through app.request(): tokens, views, the artifact download, 404s, 503 with the store down.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { promoteFunction } from '../../functions/promote/function.ts';
import { defaultConfig } from '../../shared/config/index.ts';
import {
  HistoryViewSchema,
  ModelListSchema,
  ModelSummarySchema,
  StatusViewSchema,
  VersionListSchema,
  VersionViewSchema,
} from '../../shared/registry/api.ts';
import { ModelRegistry } from '../../shared/registry/index.ts';
import { createApp, createLogger } from '../../shared/runtime/index.ts';
import { createMemoryStore } from '../../shared/store/index.ts';
import { lineage, riskOnnx } from '../support/models.ts';

const log = createLogger({ name: 'test', level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const READ = 'read-token-1';
const ADMIN = 'promote-token-1';
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

async function setup(env: Record<string, string> = { PROMOTE_TOKEN: ADMIN, REGISTRY_READ_TOKEN: READ }) {
  const store = createMemoryStore();
  const registry = new ModelRegistry({ store });
  const artifacts = [riskOnnx({ bias: 0 }), riskOnnx({ bias: 0.5 })];
  for (const [i, artifact] of artifacts.entries())
    await registry.register({
      name: 'risk',
      artifact,
      lineage: lineage({ metrics: { rocAuc: 0.9 + i / 100 } }),
    });
  await registry.moveAlias({ name: 'risk', alias: 'champion', to: 1, actor: 'test', reason: 'first' });
  await registry.moveAlias({ name: 'risk', alias: 'champion', to: 2, actor: 'test', reason: 'better' });
  await registry.moveAlias({ name: 'risk', alias: 'challenger', to: 1, actor: 'test', reason: 'shadow' });
  const fn = promoteFunction({ store, config: defaultConfig(env), log });
  const { app } = createApp(fn, { log, maxBodyBytes: 65_536 });
  const get = (path: string, token?: string, headers: Record<string, string> = {}) =>
    app.request(path, {
      headers: token === undefined ? headers : { ...headers, authorization: `Bearer ${token}` },
    });
  return { store, registry, app, get, artifacts };
}

const READ_PATHS = [
  '/v1/status',
  '/v1/models',
  '/v1/models/risk',
  '/v1/models/risk/versions',
  '/v1/models/risk/versions/2',
  '/v1/models/risk/versions/2/artifact',
  '/v1/models/risk/aliases/champion',
  '/v1/models/risk/history',
];

describe('registry read API', () => {
  it('answers 401 with a Bearer challenge and problem+json without a token or with a wrong one', async () => {
    const { get } = await setup();
    for (const path of READ_PATHS)
      for (const token of [undefined, '', 'wrong', `${READ}x`, READ.slice(0, -1)]) {
        const res = await get(path, token);
        assert.equal(res.status, 401, `${path} with ${token}`);
        assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="flywheel-registry"');
        assert.equal(res.headers.get('content-type'), 'application/problem+json');
        assert.equal(((await res.json()) as { status: number }).status, 401);
      }
  });

  it('answers 200 to the read token and to the promote token alike', async () => {
    const { get } = await setup();
    for (const path of READ_PATHS)
      for (const token of [READ, ADMIN])
        assert.equal((await get(path, token)).status, 200, `${path} ${token}`);
  });

  it('refuses every read when neither token is configured, and reads with the promote token alone', async () => {
    const none = await setup({});
    assert.equal((await none.get('/v1/models', 'anything')).status, 401);
    const adminOnly = await setup({ PROMOTE_TOKEN: ADMIN });
    assert.equal((await adminOnly.get('/v1/models', ADMIN)).status, 200);
    assert.equal((await adminOnly.get('/v1/models', READ)).status, 401);
  });

  it('the read token cannot promote or roll back', async () => {
    const { app, registry } = await setup();
    const res = await app.request('/v1/models/risk/rollback', {
      method: 'POST',
      headers: { authorization: `Bearer ${READ}` },
    });
    assert.equal(res.status, 401);
    assert.equal(await registry.alias('risk', 'champion'), 2);
  });

  it('lists models with aliases and latest version, and versions with aliases, metrics and lineage', async () => {
    const { get } = await setup();
    const models = ModelListSchema.parse(await (await get('/v1/models', READ)).json());
    assert.deepEqual(models.models, [
      { name: 'risk', champion: 2, challenger: 1, latestVersion: 2, versionCount: 2 },
      { name: 'segment', champion: null, challenger: null, latestVersion: null, versionCount: 0 },
    ]);
    assert.deepEqual(
      ModelSummarySchema.parse(await (await get('/v1/models/risk', READ)).json()),
      models.models[0],
    );
    const list = VersionListSchema.parse(await (await get('/v1/models/risk/versions', READ)).json());
    assert.deepEqual(
      list.versions.map((v) => [v.version, v.aliases, v.metrics.rocAuc, v.lineage.backend.name]),
      [
        [1, ['challenger'], 0.9, 'cpu'],
        [2, ['champion'], 0.91, 'cpu'],
      ],
    );
    assert.deepEqual(list.versions[0]?.lineage.dataRange, { from: 0, to: 1000 });
    assert.equal(list.versions[0]?.artifact.href, '/v1/models/risk/versions/1/artifact');
    assert.equal(JSON.stringify(list).includes('"uri"'), false, 'no storage path leaks');
  });

  it('shows one version, the version an alias points at, and the alias history', async () => {
    const { get, artifacts } = await setup();
    const v1 = VersionViewSchema.parse(await (await get('/v1/models/risk/versions/1', READ)).json());
    assert.equal(v1.artifact.sha256, sha256(artifacts[0] ?? new Uint8Array()));
    assert.equal(v1.signature.width, 16);
    const champion = VersionViewSchema.parse(
      await (await get('/v1/models/risk/aliases/champion', READ)).json(),
    );
    assert.equal(champion.version, 2);
    const history = HistoryViewSchema.parse(await (await get('/v1/models/risk/history', READ)).json());
    assert.deepEqual(
      history.entries.map((e) => [e.alias, e.from, e.to, e.reason]),
      [
        ['champion', null, 1, 'first'],
        ['champion', 1, 2, 'better'],
        ['challenger', null, 1, 'shadow'],
      ],
    );
    const status = StatusViewSchema.parse(await (await get('/v1/status', READ)).json());
    assert.equal(status.registry.reachable, true);
    assert.deepEqual(
      status.models.map((m) => [m.name, m.champion, m.versionCount]),
      [
        ['risk', 2, 2],
        ['segment', null, 0],
      ],
    );
    assert.equal(status.lastMove?.reason, 'shadow');
  });

  it('downloads the registered ONNX bytes with the recorded SHA-256 as ETag and Repr-Digest, 304 when unchanged', async () => {
    const { get, registry, artifacts } = await setup();
    for (const version of [1, 2]) {
      const res = await get(`/v1/models/risk/versions/${version}/artifact`, READ);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'application/octet-stream');
      const bytes = new Uint8Array(await res.arrayBuffer());
      const expected = artifacts[version - 1] ?? new Uint8Array();
      assert.equal(sha256(bytes), sha256(expected));
      assert.deepEqual(bytes, new Uint8Array(expected));
      const recorded = (await registry.get('risk', version)).artifact.sha256;
      assert.equal(res.headers.get('etag'), `"${recorded}"`);
      assert.equal(
        res.headers.get('repr-digest'),
        `sha-256=:${Buffer.from(recorded, 'hex').toString('base64')}:`,
      );
      assert.equal(res.headers.get('content-length'), String(expected.byteLength));
      const again = await get(`/v1/models/risk/versions/${version}/artifact`, READ, {
        'if-none-match': `"${recorded}"`,
      });
      assert.equal(again.status, 304);
    }
  });

  it('answers 404 for an unknown model, version or unset alias, and 400 for a version that is not a number', async () => {
    const { get } = await setup();
    for (const path of [
      '/v1/models/fraud',
      '/v1/models/fraud/versions',
      '/v1/models/risk/versions/9',
      '/v1/models/risk/versions/9/artifact',
      '/v1/models/segment/aliases/champion',
      '/v1/models/risk/aliases/production',
      '/v1/models/fraud/history',
    ]) {
      const res = await get(path, READ);
      assert.equal(res.status, 404, path);
      assert.equal(res.headers.get('content-type'), 'application/problem+json');
    }
    for (const path of [
      '/v1/models/risk/versions/two',
      '/v1/models/risk/versions/0',
      '/v1/models/risk/versions/01',
    ]) {
      const res = await get(path, READ);
      assert.equal(res.status, 400, path);
      assert.equal(((await res.json()) as { field: string }).field, 'version');
    }
  });

  it('answers 503, retriable, when the store is down; status says the registry is not reachable', async () => {
    const { get, store } = await setup();
    await store.close();
    for (const path of READ_PATHS) {
      const res = await get(path, READ);
      assert.equal(res.status, 503, path);
      assert.equal(((await res.json()) as { retriable: boolean }).retriable, true);
    }
    const status = (await (await get('/v1/status', READ)).json()) as { registry?: { reachable: boolean } };
    assert.deepEqual(status.registry, { reachable: false });
  });

  it('moves the challenger when the admin API is asked to, leaving the champion', async () => {
    const { app, registry } = await setup();
    const res = await app.request('/v1/models/risk/promote', {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ version: 2, alias: 'challenger' }),
    });
    assert.equal(res.status, 200);
    assert.equal(await registry.alias('risk', 'challenger'), 2);
    assert.equal(await registry.alias('risk', 'champion'), 2);
    assert.equal((await registry.history('risk')).at(-1)?.alias, 'challenger');
  });
});
