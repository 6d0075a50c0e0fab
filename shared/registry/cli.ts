// `flywheel models …` and `flywheel status`: the registry through promote's HTTP API (register: straight to the store).
import { readFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { type Config, loadConfig } from '../config/index.ts';
import { MODEL_NAMES, type ModelName } from '../events/index.ts';
import type { VersionView } from './api.ts';
import { historyRows, moveLine, statusBlock, versionBlock, versionRows } from './cli-format.ts';
import { type FailureKind, type RegistryClient, RegistryRequestError, registryClient } from './client.ts';
import { findLoopAccess, localPromoteUrl, pointedUrl } from './local-access.ts';
import { AliasSchema } from './schemas.ts';

/** Exit codes scripts can rely on. */
export const EXIT = { ok: 0, refused: 1, usage: 2, unavailable: 3, unauthorised: 4 } as const;

const EXIT_TEXT = `Exit codes: 0 done; 1 refused (unknown model or version, no champion, a lost compare-and-set,
nothing to roll back to, a version that cannot serve live rows); 2 usage; 3 the registry unreachable or
unavailable (no answer, 5xx, 503 when its store is down: retry); 4 unauthorised (401: a missing or wrong token).`;

const CONNECTION = `Connection: --url URL or FLYWHEEL_URL (default: the local loop's promote, the URL in
.flywheel/current.json, else http://127.0.0.1:<FLYWHEEL_PORT_BASE+6>); reads use --token or FLYWHEEL_TOKEN
(REGISTRY_READ_TOKEN or PROMOTE_TOKEN), promote and rollback FLYWHEEL_PROMOTE_TOKEN; without them the tokens the
local loop wrote to <data-dir>/tokens.json are used. --json prints the API's JSON instead of tables.`;

const USAGE = `usage: flywheel models <command> [--url URL] [--token TOKEN] [--json]

  list [name]                         versions of risk and segment (or one model) with aliases and metrics
  show <name> [version]               one version's lineage, metrics, signature, artifact (default: the champion)
  history <name>                      alias moves, oldest first
  promote <name> <version> [--alias champion|challenger] [--expected N] [--reason TEXT]
                                      points the alias at the version (needs the promote token)
  rollback <name> [--reason TEXT]     champion back to the version it replaced (needs the promote token)
  register <name> <file.onnx> [--metrics '{"rocAuc":0.9}'] [--from ISO --to ISO] [--code-version V]
                                      not over HTTP: writes straight to the store in REDIS_URL (it needs the file);
                                      checks it with onnxruntime-node against the live feature set

${CONNECTION}

${EXIT_TEXT}`;

const STATUS_USAGE = `usage: flywheel status [--url URL] [--token TOKEN] [--json]

Champions and challengers per model, version counts, the last alias move, and whether the registry is reachable.

${CONNECTION}

${EXIT_TEXT}`;

export interface CliIo {
  out: (line: string) => void;
  err: (line: string) => void;
  /** Defaults to loadConfig() (the environment). */
  config?: Config;
  cwd?: string;
}

class UsageError extends Error {}

const OPTIONS = {
  url: { type: 'string' },
  token: { type: 'string' },
  json: { type: 'boolean' },
  alias: { type: 'string', default: 'champion' },
  expected: { type: 'string' },
  reason: { type: 'string' },
  metrics: { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  'code-version': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

const EXIT_OF: Record<FailureKind, number> = {
  refused: EXIT.refused,
  unavailable: EXIT.unavailable,
  unauthorised: EXIT.unauthorised,
};

/** Parses argv, runs `fn`, and turns every failure into a line on stderr and its exit code. */
async function main(
  argv: readonly string[],
  io: Partial<CliIo>,
  usage: string,
  fn: (positionals: string[], values: Values, io: CliIo) => Promise<number>,
): Promise<number> {
  const full: CliIo = { out: console.log, err: console.error, ...io };
  let parsed: { positionals: string[]; values: Values };
  try {
    parsed = parseArgs({ args: [...argv], allowPositionals: true, options: OPTIONS });
  } catch (err) {
    full.err(`error: ${(err as Error).message}`);
    full.err(usage);
    return EXIT.usage;
  }
  if (parsed.values.help) {
    full.out(usage);
    return EXIT.ok;
  }
  try {
    return await fn(parsed.positionals, parsed.values, full);
  } catch (err) {
    const noAnswer = err instanceof RegistryRequestError && err.status === undefined;
    full.err(
      `error: ${(err as Error).message}${noAnswer ? ' — is `npm start` running, and --url / FLYWHEEL_URL right?' : ''}`,
    );
    if (err instanceof UsageError) return EXIT.usage;
    if (err instanceof RegistryRequestError) return EXIT_OF[err.kind];
    return EXIT.refused;
  }
}

/** The client for the registry the user means: flags, then the environment, then the local loop's files. */
async function connect(values: Values, io: CliIo): Promise<RegistryClient> {
  const config = io.config ?? loadConfig();
  const cwd = io.cwd ?? process.cwd();
  const url = values.url ?? config.FLYWHEEL_URL ?? (await pointedUrl(cwd)) ?? localPromoteUrl(config);
  try {
    new URL(url);
  } catch {
    throw new UsageError(`--url ${url} is not a URL`);
  }
  const local = await findLoopAccess({ url, dataDir: config.FLYWHEEL_DATA_DIR, cwd });
  const readToken =
    values.token ?? config.FLYWHEEL_TOKEN ?? local?.readToken ?? config.FLYWHEEL_PROMOTE_TOKEN;
  const promoteToken = config.FLYWHEEL_PROMOTE_TOKEN ?? local?.promoteToken ?? readToken;
  return registryClient({ url, readToken, promoteToken });
}

function modelName(raw: string | undefined): ModelName {
  if (!raw) throw new UsageError(`a model name is needed: ${MODEL_NAMES.join(' or ')}`);
  const name = MODEL_NAMES.find((m) => m === raw);
  if (!name) throw new UsageError(`model must be one of ${MODEL_NAMES.join(', ')}, got ${raw}`);
  return name;
}

function version(raw: string | undefined, what = 'version'): number {
  if (raw === undefined) throw new UsageError(`a ${what} is needed`);
  const v = Number(raw.replace(/^v/, ''));
  if (!/^v?[1-9]\d*$/.test(raw) || !Number.isSafeInteger(v))
    throw new UsageError(`${what} must be a positive integer, got ${raw}`);
  return v;
}

const json = (io: CliIo, value: unknown) => io.out(JSON.stringify(value, null, 2));
const actor = (): string => `cli:${userInfo().username || 'unknown'}`;

/** Runs one `flywheel models` command and returns the process exit code. */
export function runModelsCli(argv: readonly string[], io: Partial<CliIo> = {}): Promise<number> {
  return main(argv, io, USAGE, async ([command, ...rest], values, io) => {
    const lines = (text: string[]) => {
      for (const l of text) io.out(l);
    };
    switch (command) {
      case undefined:
        io.err(USAGE);
        return EXIT.usage;
      case 'list': {
        const client = await connect(values, io);
        const names = rest[0] ? [modelName(rest[0])] : MODEL_NAMES;
        const versions: VersionView[] = [];
        for (const name of names) versions.push(...(await client.versions(name)).versions);
        if (values.json) json(io, { versions });
        else if (versions.length === 0) io.out(`no versions registered${rest[0] ? ` for ${rest[0]}` : ''}`);
        else lines(versionRows(versions));
        return EXIT.ok;
      }
      case 'show': {
        const name = modelName(rest[0]);
        const v = rest[1] === undefined ? undefined : version(rest[1]);
        const client = await connect(values, io);
        const view = v === undefined ? await client.alias(name, 'champion') : await client.version(name, v);
        if (values.json) json(io, view);
        else lines(versionBlock(view));
        return EXIT.ok;
      }
      case 'history': {
        const name = modelName(rest[0]);
        const history = await (await connect(values, io)).history(name);
        if (values.json) json(io, history);
        else if (history.entries.length === 0) io.out(`${name}: no alias has moved yet`);
        else lines(historyRows(history.entries));
        return EXIT.ok;
      }
      case 'promote': {
        const name = modelName(rest[0]);
        const to = version(rest[1]);
        const alias = AliasSchema.safeParse(values.alias);
        if (!alias.success)
          throw new UsageError(`--alias must be champion or challenger, got ${values.alias}`);
        const expected = values.expected === undefined ? undefined : version(values.expected, '--expected');
        const answer = await (await connect(values, io)).promote(name, {
          version: to,
          alias: alias.data,
          ...(expected === undefined ? {} : { expected }),
          actor: actor(),
          reason: values.reason ?? 'promoted with flywheel models promote',
        });
        if (values.json) json(io, answer);
        else io.out(moveLine(answer.entry));
        return EXIT.ok;
      }
      case 'rollback': {
        const name = modelName(rest[0]);
        const answer = await (await connect(values, io)).rollback(name, {
          actor: actor(),
          reason: values.reason ?? 'rolled back with flywheel models rollback',
        });
        if (values.json) json(io, answer);
        else io.out(moveLine(answer.entry));
        return EXIT.ok;
      }
      case 'register':
        return register(modelName(rest[0]), rest[1], values, io);
      default:
        io.err(`error: unknown command ${command}`);
        io.err(USAGE);
        return EXIT.usage;
    }
  });
}

/** Runs `flywheel status` and returns the process exit code (3 when the registry cannot be read). */
export function runStatusCli(argv: readonly string[], io: Partial<CliIo> = {}): Promise<number> {
  return main(argv, io, STATUS_USAGE, async (positionals, values, io) => {
    if (positionals.length > 0)
      throw new UsageError(`flywheel status takes no arguments, got ${positionals[0]}`);
    const client = await connect(values, io);
    const status = await client.status();
    if (values.json) json(io, { url: client.url, ...status });
    else for (const line of statusBlock(status, client.url)) io.out(line);
    return EXIT.ok;
  });
}

/** `register`: straight to the store (REDIS_URL), since the ONNX file is on this machine. */
async function register(
  name: ModelName,
  file: string | undefined,
  values: Values,
  io: CliIo,
): Promise<number> {
  if (!file) throw new UsageError('register needs a file');
  const [{ customerFeatures }, { createLogger }, { storeFromConfig }, { ModelRegistry }] = await Promise.all([
    import('../features/index.ts'),
    import('../runtime/logger.ts'),
    import('../store/index.ts'),
    import('./registry.ts'),
  ]);
  const config = io.config ?? loadConfig();
  const log = createLogger({ name: 'flywheel-models', level: 'warn' });
  if (!config.REDIS_URL) io.err('REDIS_URL is not set: using an embedded store that ends with this command');
  const store = storeFromConfig(config, log);
  try {
    const registry = new ModelRegistry({ store, artifactDir: `${config.FLYWHEEL_DATA_DIR}/models` });
    const now = Date.now();
    const record = await registry.register({
      name,
      artifact: new Uint8Array(await readFile(file)),
      lineage: {
        featureSet: {
          name: customerFeatures.name,
          version: customerFeatures.version,
          columns: [...customerFeatures.columns],
        },
        dataRange: {
          from: values.from ? Date.parse(values.from) : now,
          to: values.to ? Date.parse(values.to) : now,
        },
        metrics: values.metrics ? (JSON.parse(values.metrics) as Record<string, number>) : {},
        hyperParameters: {},
        codeVersion: values['code-version'] ?? 'external',
        backend: { name: 'external', reason: `registered from ${file}` },
        trainedBy: actor(),
      },
    });
    if (values.json) json(io, record);
    else
      io.out(
        `registered ${name} v${record.version} (${record.artifact.bytes} bytes, ${record.signature.width} inputs)`,
      );
    return EXIT.ok;
  } finally {
    await store.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.exitCode = await runModelsCli(process.argv.slice(2));
}
