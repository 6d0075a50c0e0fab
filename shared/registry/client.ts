// The registry's HTTP client (promote's read and admin API), with every failure sorted into what a script acts on.
import { createHash } from 'node:crypto';
import type { z } from 'zod';
import type { Alias } from './schemas.ts';
import {
  artifactPath,
  HistoryViewSchema,
  ModelListSchema,
  ModelSummarySchema,
  type MoveAnswer,
  MoveAnswerSchema,
  ProblemSchema,
  StatusViewSchema,
  VersionListSchema,
  VersionViewSchema,
} from './api.ts';

/**
 * What went wrong, as the CLI's exit codes tell it: `refused` (404, 409, 400: the registry answered no),
 * `unauthorised` (401, 403), `unavailable` (no answer, a timeout, 429, 5xx — 503 when the store is down).
 */
export type FailureKind = 'refused' | 'unauthorised' | 'unavailable';

export class RegistryRequestError extends Error {
  readonly kind: FailureKind;
  readonly status: number | undefined;
  constructor(kind: FailureKind, message: string, opts: { status?: number; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.kind = kind;
    this.status = opts.status;
  }
}

export interface ClientOptions {
  /** promote's base URL. */
  url: string;
  /** A token that may read (REGISTRY_READ_TOKEN or PROMOTE_TOKEN). */
  readToken?: string | undefined;
  /** PROMOTE_TOKEN, for promote and rollback. */
  promoteToken?: string | undefined;
  timeoutMs?: number;
}

const kindOf = (status: number): FailureKind =>
  status === 401 || status === 403
    ? 'unauthorised'
    : status === 429 || status >= 500
      ? 'unavailable'
      : 'refused';

/** A client of one promote function's registry API. */
export function registryClient(opts: ClientOptions) {
  const base = opts.url.replace(/\/+$/, '');
  const timeoutMs = opts.timeoutMs ?? 10_000;

  async function request(
    method: 'GET' | 'POST',
    route: string,
    init: { token: string | undefined; body?: unknown },
  ): Promise<Response> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (init.token) headers.authorization = `Bearer ${init.token}`;
    if (init.body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(`${base}${route}`, {
        method,
        headers,
        ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (cause) {
      const why = (cause as { cause?: { code?: string } }).cause?.code ?? (cause as Error).message;
      throw new RegistryRequestError('unavailable', `cannot reach the registry at ${base} (${why})`, {
        cause,
      });
    }
    if (res.ok) return res;
    const text = await res.text();
    let detail = text.slice(0, 300) || res.statusText;
    try {
      const problem = ProblemSchema.safeParse(JSON.parse(text));
      if (problem.success) detail = problem.data.detail;
    } catch {
      // not JSON: the raw text is the detail
    }
    if (res.status === 401 && !init.token) detail += ' (no token: set FLYWHEEL_TOKEN or pass --token)';
    throw new RegistryRequestError(kindOf(res.status), `${res.status} ${detail}`, { status: res.status });
  }

  /** The answer's JSON checked against `schema`; anything else means the URL is not a registry API. */
  async function answer<S extends z.ZodType>(res: Response, route: string, schema: S): Promise<z.infer<S>> {
    const parsed = schema.safeParse(await res.json().catch(() => undefined));
    if (!parsed.success)
      throw new RegistryRequestError(
        'unavailable',
        `${base}${route} did not answer as the registry API does`,
        { status: res.status },
      );
    return parsed.data;
  }

  async function read<S extends z.ZodType>(route: string, schema: S): Promise<z.infer<S>> {
    return answer(await request('GET', route, { token: opts.readToken }), route, schema);
  }

  async function move(route: string, body: unknown): Promise<MoveAnswer> {
    return answer(await request('POST', route, { token: opts.promoteToken, body }), route, MoveAnswerSchema);
  }

  return {
    url: base,
    status: () => read('/v1/status', StatusViewSchema),
    models: () => read('/v1/models', ModelListSchema),
    model: (name: string) => read(`/v1/models/${enc(name)}`, ModelSummarySchema),
    versions: (name: string) => read(`/v1/models/${enc(name)}/versions`, VersionListSchema),
    version: (name: string, version: number) =>
      read(`/v1/models/${enc(name)}/versions/${version}`, VersionViewSchema),
    alias: (name: string, alias: Alias) =>
      read(`/v1/models/${enc(name)}/aliases/${alias}`, VersionViewSchema),
    history: (name: string) => read(`/v1/models/${enc(name)}/history`, HistoryViewSchema),
    /** The ONNX bytes, checked against the ETag the server sent (the registry's SHA-256). */
    async artifact(name: string, version: number): Promise<{ bytes: Uint8Array; sha256: string }> {
      const res = await request('GET', artifactPath(enc(name), version), { token: opts.readToken });
      const bytes = new Uint8Array(await res.arrayBuffer());
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      if (res.headers.get('etag') !== `"${sha256}"`)
        throw new RegistryRequestError('unavailable', `the artifact of ${name} v${version} arrived damaged`);
      return { bytes, sha256 };
    },
    promote: (
      name: string,
      body: { version: number; alias?: Alias; expected?: number | null; reason?: string; actor?: string },
    ) => move(`/v1/models/${enc(name)}/promote`, body),
    rollback: (name: string, body: { reason?: string; actor?: string }) =>
      move(`/v1/models/${enc(name)}/rollback`, body),
  };
}
export type RegistryClient = ReturnType<typeof registryClient>;

const enc = encodeURIComponent;
