// The score benchmark's targets, in one child process: the bare routes and score on Redis with the registered champions.
// Environment: BENCH_REDIS_URL (champions must already be registered there).
import { scoreFunction } from '../../functions/score/function.ts';
import { defaultConfig } from '../../shared/config/index.ts';
import { ModelRegistry } from '../../shared/registry/index.ts';
import { createLogger } from '../../shared/runtime/index.ts';
import { createRedisStore } from '../../shared/store/index.ts';
import { startBareRoute } from './bare-route.ts';
import { announceReady } from './child.ts';
import { targetServer } from './serve-target.ts';

const redisUrl = process.env.BENCH_REDIS_URL;
if (!redisUrl) throw new Error('BENCH_REDIS_URL is not set');
const log = createLogger({ name: 'bench-score', level: 'warn' });
const config = defaultConfig();
const store = createRedisStore({ url: redisUrl, timeoutMs: config.DEPENDENCY_TIMEOUT_MS, log });
const registry = new ModelRegistry({ store });
const { def, models } = scoreFunction({ store, registry, config, log });
await models.start();
if (!models.ready()) throw new Error('score: the champions did not load');
const targets = targetServer(log);
const score = await targets.start(def);
const bare = await startBareRoute();
announceReady({ bare: `${bare.url}v1/score`, score: `${score}v1/score` }, async () => {
  await targets.close();
  await bare.close();
});
