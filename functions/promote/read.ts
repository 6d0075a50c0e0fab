// The registry's read API on promote: models, versions, aliases, history, artifact downloads and a status summary.
import type { Context, Hono } from 'hono';
import { InvalidInputError, NotFoundError, UnauthorizedError } from '../../shared/errors/index.ts';
import { MODEL_NAMES, type ModelName } from '../../shared/events/index.ts';
import {
  type ModelSummary,
  type StatusView,
  type VersionView,
  versionView,
} from '../../shared/registry/api.ts';
import {
  type Alias,
  AliasSchema,
  type HistoryEntry,
  type ModelRegistry,
} from '../../shared/registry/index.ts';
import { errorStyle, type Logger } from '../../shared/runtime/index.ts';
import { authorised, modelName } from './guard.ts';

export interface ReadDeps {
  registry: Pick<ModelRegistry, 'get' | 'list' | 'alias' | 'history' | 'artifact'>;
  /** Tokens that may read (REGISTRY_READ_TOKEN and PROMOTE_TOKEN); unset ones are skipped. */
  tokens: readonly (string | undefined)[];
  log: Logger;
  now?: () => number;
}

/** The realm a read request is challenged with (RFC 6750 §3). */
export const READ_REALM = 'flywheel-registry';

const param = (c: Context, key: string): string => c.req.param(key) ?? '';

/** A version number from a path: digits only, no leading zero; anything else is a 400 naming the parameter. */
function versionParam(raw: string): number {
  if (!/^[1-9]\d{0,8}$/.test(raw))
    throw new InvalidInputError('version', `version must be a positive integer, got ${raw}`);
  return Number(raw);
}

function aliasParam(raw: string): Alias {
  const parsed = AliasSchema.safeParse(raw);
  if (!parsed.success) throw new NotFoundError(`no alias named ${raw}`);
  return parsed.data;
}

/**
 * Adds the read routes. Each checks the bearer token first (401 with a challenge), then answers 404 for an unknown
 * model, version or unset alias, 503 (retriable) when the store is down, 200 otherwise. Errors are thrown; the
 * runtime's HTTP edge answers them as problem+json.
 */
export function readRoutes(deps: ReadDeps): (app: Hono) => void {
  const tokens = deps.tokens.filter((t): t is string => t !== undefined && t !== '');
  if (tokens.length === 0)
    deps.log.warn('neither REGISTRY_READ_TOKEN nor PROMOTE_TOKEN is set: the read API refuses every request');
  const { registry } = deps;
  const now = deps.now ?? Date.now;
  const guard = (c: Context): void => {
    const header = c.req.header('authorization');
    // every token is compared, so the time taken does not tell which one matched
    const matches = tokens.map((t) => authorised(header, t));
    if (!matches.some(Boolean))
      throw new UnauthorizedError('a valid bearer token is required', { realm: READ_REALM });
  };
  const aliasesOf = async (name: ModelName): Promise<Record<Alias, number | null>> => {
    const [champion, challenger] = await Promise.all([
      registry.alias(name, 'champion'),
      registry.alias(name, 'challenger'),
    ]);
    return { champion, challenger };
  };
  const summary = async (name: ModelName): Promise<ModelSummary> => {
    const [versions, aliases] = await Promise.all([registry.list(name), aliasesOf(name)]);
    return {
      name,
      ...aliases,
      latestVersion: versions.at(-1)?.version ?? null,
      versionCount: versions.length,
    };
  };
  const view = async (name: ModelName, version: number): Promise<VersionView> => {
    const [record, aliases] = await Promise.all([registry.get(name, version), aliasesOf(name)]);
    return versionView(record, aliases);
  };
  /** A read behind the token check. */
  const read =
    (fn: (c: Context) => Promise<Response>) =>
    async (c: Context): Promise<Response> => {
      guard(c);
      return fn(c);
    };
  /** /v1/status says in its problem document when the store cannot be reached (a retriable failure). */
  const statusErrors = errorStyle({
    extra: (err) => (err.retriable ? { registry: { reachable: false } } : undefined),
  });

  return (app) => {
    app.get(
      '/v1/status',
      statusErrors,
      read(async (c) => {
        const models = await Promise.all(MODEL_NAMES.map(summary));
        const histories = await Promise.all(MODEL_NAMES.map((n) => registry.history(n)));
        let lastMove: HistoryEntry | null = null;
        for (const entry of histories.flatMap((h) => h.slice(-1)))
          if (lastMove === null || entry.at >= lastMove.at) lastMove = entry;
        const body: StatusView = { registry: { reachable: true }, models, lastMove, at: now() };
        return c.json(body, 200);
      }),
    );
    app.get(
      '/v1/models',
      read(async (c) => c.json({ models: await Promise.all(MODEL_NAMES.map(summary)) }, 200)),
    );
    app.get(
      '/v1/models/:name',
      read(async (c) => c.json(await summary(modelName(param(c, 'name'))), 200)),
    );
    app.get(
      '/v1/models/:name/versions',
      read(async (c) => {
        const name = modelName(param(c, 'name'));
        const [records, aliases] = await Promise.all([registry.list(name), aliasesOf(name)]);
        return c.json({ name, versions: records.map((r) => versionView(r, aliases)) }, 200);
      }),
    );
    app.get(
      '/v1/models/:name/versions/:version',
      read(async (c) =>
        c.json(await view(modelName(param(c, 'name')), versionParam(param(c, 'version'))), 200),
      ),
    );
    app.get(
      '/v1/models/:name/aliases/:alias',
      read(async (c) => {
        const name = modelName(param(c, 'name'));
        const alias = aliasParam(param(c, 'alias'));
        const version = await registry.alias(name, alias);
        if (version === null) throw new NotFoundError(`${name} has no ${alias}`);
        return c.json(await view(name, version), 200);
      }),
    );
    app.get(
      '/v1/models/:name/history',
      read(async (c) => {
        const name = modelName(param(c, 'name'));
        return c.json({ name, entries: await registry.history(name) }, 200);
      }),
    );
    app.get(
      '/v1/models/:name/versions/:version/artifact',
      read(async (c) => {
        const name = modelName(param(c, 'name'));
        const version = versionParam(param(c, 'version'));
        const record = await registry.get(name, version);
        const { sha256 } = record.artifact;
        const headers: Record<string, string> = {
          etag: `"${sha256}"`,
          // RFC 9530: the representation's digest, base64 inside colons
          'repr-digest': `sha-256=:${Buffer.from(sha256, 'hex').toString('base64')}:`,
          'cache-control': 'private, no-cache',
        };
        if (matchesEtag(c.req.header('if-none-match'), sha256)) return c.body(null, 304, headers);
        const bytes = await registry.artifact(name, version);
        return c.body(Buffer.from(bytes), 200, {
          ...headers,
          'content-type': 'application/octet-stream',
          'content-length': String(bytes.byteLength),
          'content-disposition': `attachment; filename="${name}-v${version}.onnx"`,
        });
      }),
    );
  };
}

/** True when an If-None-Match header names this artifact's ETag (or `*`), RFC 9110 §13.1.2 (weak comparison). */
function matchesEtag(header: string | undefined, sha256: string): boolean {
  if (!header) return false;
  return header.split(',').some((tag) => {
    const t = tag.trim().replace(/^W\//, '');
    return t === '*' || t === `"${sha256}"`;
  });
}
