// promote's OpenAPI document against the app: every registered route is documented, every documented one is served.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { promoteFunction } from '../../functions/promote/function.ts';
import { OPERATIONS, openApiDocument } from '../../functions/promote/openapi.ts';
import { defaultConfig } from '../../shared/config/index.ts';
import { ModelRegistry } from '../../shared/registry/index.ts';
import { createApp, createLogger } from '../../shared/runtime/index.ts';
import { createMemoryStore } from '../../shared/store/index.ts';
import { lineage, riskOnnx } from '../support/models.ts';

const log = createLogger({ name: 'test', level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const READ = 'read-token';
const ADMIN = 'admin-token';

async function app() {
  const store = createMemoryStore();
  const registry = new ModelRegistry({ store });
  await registry.register({ name: 'risk', artifact: riskOnnx({ bias: 0 }), lineage: lineage() });
  await registry.moveAlias({ name: 'risk', alias: 'champion', to: 1, actor: 'test', reason: 'first' });
  const fn = promoteFunction({
    store,
    config: defaultConfig({ PROMOTE_TOKEN: ADMIN, REGISTRY_READ_TOKEN: READ }),
    log,
  });
  return createApp(fn, { log, maxBodyBytes: 65_536 }).app;
}

type Doc = {
  openapi: string;
  paths: Record<string, Record<string, { security: unknown[]; parameters?: { name: string }[] }>>;
};

/** `GET /v1/models/{name}` for each route hono registered (middleware, registered for every method, left out). */
const served = (routes: readonly { method: string; path: string }[]): string[] =>
  [
    ...new Set(
      routes.filter((r) => r.method !== 'ALL').map((r) => `${r.method} ${r.path.replace(/:(\w+)/g, '{$1}')}`),
    ),
  ].sort();

const documented = (doc: Doc): string[] =>
  Object.entries(doc.paths)
    .flatMap(([path, item]) => Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`))
    .sort();

/** A concrete path for a template: the registered risk v1, its champion alias. */
const concrete = (template: string) =>
  template.replace('{name}', 'risk').replace('{version}', '1').replace('{alias}', 'champion');

describe('promote OpenAPI document', () => {
  it('is served at /openapi.json as OpenAPI 3.1 and equals the generated document', async () => {
    const res = await (await app()).request('/openapi.json');
    assert.equal(res.status, 200);
    const doc = (await res.json()) as Doc;
    assert.equal(doc.openapi, '3.1.0');
    assert.deepEqual(doc, JSON.parse(JSON.stringify(openApiDocument())));
  });

  it('documents every route the app registers, and the app serves every documented route', async () => {
    const a = await app();
    const doc = openApiDocument() as Doc;
    assert.deepEqual(documented(doc), served(a.routes));
    assert.ok(documented(doc).includes('GET /v1/models/{name}/versions/{version}/artifact'));
    assert.ok(documented(doc).includes('POST /v1/models/{name}/promote'));
  });

  it('declares each path parameter the template names', () => {
    const doc = openApiDocument() as Doc;
    for (const [path, item] of Object.entries(doc.paths))
      for (const op of Object.values(item)) {
        const inPath = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
        assert.deepEqual(
          (op.parameters ?? []).map((p) => p.name),
          inPath,
          path,
        );
      }
  });

  it('says which token each route needs, as the app enforces it', async () => {
    const a = await app();
    const call = (op: (typeof OPERATIONS)[number], token?: string) =>
      a.request(concrete(op.path), {
        method: op.method.toUpperCase(),
        headers: {
          'content-type': 'application/json',
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        ...(op.method === 'post' ? { body: '{}' } : {}),
      });
    for (const op of OPERATIONS) {
      if (op.path === '/') continue; // CloudEvents from the broker: no token by design
      const anonymous = await call(op);
      if (op.security === 'none') assert.notEqual(anonymous.status, 401, op.path);
      else assert.equal(anonymous.status, 401, `${op.method} ${op.path} without a token`);
      if (op.security === 'admin')
        assert.equal((await call(op, READ)).status, 401, `${op.path} with the read token`);
      if (op.security === 'read')
        assert.equal((await call(op, READ)).status, 200, `${op.path} with the read token`);
    }
  });
});
