// `flywheel models …`: list, show, register (bring your own ONNX), promote and roll back, against the shared registry.
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/index.ts';
import { MODEL_NAMES, type ModelName } from '../events/index.ts';
import { customerFeatures } from '../features/index.ts';
import { createLogger } from '../runtime/logger.ts';
import { storeFromConfig } from '../store/index.ts';
import { ModelRegistry } from './registry.ts';
import { AliasSchema } from './schemas.ts';

const USAGE = `usage: flywheel models <command>

  list [name]                         versions of risk and segment (or one model) with aliases
  show <name> <version>               one version's lineage, metrics and signature
  history <name>                      alias moves, newest last
  register <name> <file.onnx> [--metrics '{"rocAuc":0.9}'] [--from ISO --to ISO] [--code-version V]
                                      checks the file with onnxruntime-node against the live feature set
  promote <name> <version> [--alias champion|challenger] [--reason TEXT]
  rollback <name> [--reason TEXT]     champion back to the version it replaced

The registry is the one in REDIS_URL; without it the embedded store lasts only for this command.`;

/** Runs one CLI command and returns the process exit code. */
export async function runModelsCli(
  argv: readonly string[],
  out: (line: string) => void = console.log,
): Promise<number> {
  const { positionals, values } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      metrics: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      'code-version': { type: 'string' },
      alias: { type: 'string', default: 'champion' },
      reason: { type: 'string', default: 'manual' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, ...rest] = positionals;
  if (values.help || !command) {
    out(USAGE);
    return command || values.help ? 0 : 2;
  }
  const config = loadConfig();
  const log = createLogger({ name: 'flywheel-models', level: 'warn' });
  if (!config.REDIS_URL)
    log.warn('REDIS_URL is not set: using an embedded store that ends with this command');
  const store = storeFromConfig(config, log);
  const registry = new ModelRegistry({ store, artifactDir: `${config.FLYWHEEL_DATA_DIR}/models` });
  const actor = `cli:${process.env.USER ?? 'unknown'}`;
  try {
    switch (command) {
      case 'list':
        for (const name of rest[0] ? [modelName(rest[0])] : MODEL_NAMES) {
          const [versions, champion, challenger] = await Promise.all([
            registry.list(name),
            registry.alias(name, 'champion'),
            registry.alias(name, 'challenger'),
          ]);
          for (const v of versions) {
            const tags = [
              v.version === champion ? 'champion' : '',
              v.version === challenger ? 'challenger' : '',
            ].filter(Boolean);
            out(
              `${name}\tv${v.version}\t${new Date(v.createdAt).toISOString()}\t${JSON.stringify(v.lineage.metrics)}\t${tags.join(',')}`,
            );
          }
        }
        return 0;
      case 'show':
        out(JSON.stringify(await registry.get(modelName(rest[0]), version(rest[1])), null, 2));
        return 0;
      case 'history':
        for (const h of await registry.history(modelName(rest[0]))) out(JSON.stringify(h));
        return 0;
      case 'register': {
        const name = modelName(rest[0]);
        if (!rest[1]) throw new Error('register needs a file');
        const artifact = new Uint8Array(await readFile(rest[1]));
        const now = Date.now();
        const record = await registry.register({
          name,
          artifact,
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
            backend: { name: 'external', reason: `registered from ${rest[1]}` },
            trainedBy: actor,
          },
        });
        out(
          `registered ${name} v${record.version} (${record.artifact.bytes} bytes, ${record.signature.width} inputs)`,
        );
        return 0;
      }
      case 'promote': {
        const name = modelName(rest[0]);
        const alias = AliasSchema.parse(values.alias);
        const e = await registry.moveAlias({
          name,
          alias,
          to: version(rest[1]),
          actor,
          reason: values.reason ?? 'manual',
        });
        out(`${name} ${alias}: ${e.from ?? 'none'} → ${e.to}`);
        return 0;
      }
      case 'rollback': {
        const name = modelName(rest[0]);
        const e = await registry.rollback(name, { actor, reason: values.reason ?? 'manual' });
        out(`${name} champion rolled back: ${e.from ?? 'none'} → ${e.to}`);
        return 0;
      }
      default:
        out(USAGE);
        return 2;
    }
  } catch (err) {
    out(`error: ${(err as Error).message}`);
    return 1;
  } finally {
    await store.close();
  }
}

function modelName(raw: string | undefined): ModelName {
  if (!raw || !(MODEL_NAMES as readonly string[]).includes(raw))
    throw new Error(`model must be one of ${MODEL_NAMES.join(', ')}`);
  return raw as ModelName;
}

function version(raw: string | undefined): number {
  const v = Number(raw?.replace(/^v/, ''));
  if (!Number.isInteger(v) || v < 1) throw new Error(`version must be a positive integer, got ${raw}`);
  return v;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.exitCode = await runModelsCli(process.argv.slice(2));
}
