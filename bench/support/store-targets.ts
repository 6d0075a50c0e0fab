// The Redis Cluster benchmark's targets, in one child process: featurize and score on each online store named.
// Environment: BENCH_REDIS_URLS, JSON of name → REDIS_URL, e.g.
// {"single":"redis://127.0.0.1:6379","cluster":"redis+cluster://127.0.0.1:7000,…"}; serves featurize-<name> and
// score-<name> (at /v1/score; the champions must be registered on the store), or only featurize with
// BENCH_SCORE=off.
import { featurizeFunction } from '../../functions/featurize/function.ts';
import { scoreFunction } from '../../functions/score/function.ts';
import { defaultConfig } from '../../shared/config/index.ts';
import { ModelRegistry } from '../../shared/registry/index.ts';
import { createLogger } from '../../shared/runtime/index.ts';
import { createRedisStore } from '../../shared/store/index.ts';
import { announceReady } from './child.ts';
import { targetServer } from './serve-target.ts';

const urls = JSON.parse(process.env.BENCH_REDIS_URLS ?? '{}') as Record<string, string>;
if (Object.keys(urls).length === 0) throw new Error('BENCH_REDIS_URLS names no store');
const withScore = process.env.BENCH_SCORE !== 'off';
const log = createLogger({ name: 'bench-store-targets', level: 'warn' });
const config = defaultConfig();
const server = targetServer(log);
const info: Record<string, string> = {};
for (const [name, url] of Object.entries(urls)) {
  // Each function owns its store and closes it (and score its models) when the server closes it.
  const store = () => createRedisStore({ url, timeoutMs: config.DEPENDENCY_TIMEOUT_MS, log });
  info[`featurize-${name}`] = await server.start(featurizeFunction({ store: store(), config }));
  if (!withScore) continue;
  const scoreStore = store();
  const { def, models } = scoreFunction({
    store: scoreStore,
    registry: new ModelRegistry({ store: scoreStore }),
    config,
    log,
  });
  await models.start();
  if (!models.ready()) throw new Error(`score on ${name}: the champions did not load`);
  info[`score-${name}`] = `${await server.start(def)}v1/score`;
}

announceReady(info, () => server.close());
