// The growth benchmark's targets, in one child process: featurize and score on one Redis (champions registered there).
// Environment: BENCH_REDIS_URL.
import { featurizeFunction } from '../../functions/featurize/function.ts';
import { scoreFunction } from '../../functions/score/function.ts';
import { defaultConfig } from '../../shared/config/index.ts';
import { ModelRegistry } from '../../shared/registry/index.ts';
import { createLogger } from '../../shared/runtime/index.ts';
import { createRedisStore } from '../../shared/store/index.ts';
import { announceReady } from './child.ts';
import { targetServer } from './serve-target.ts';

const redisUrl = process.env.BENCH_REDIS_URL;
if (!redisUrl) throw new Error('BENCH_REDIS_URL is not set');
const log = createLogger({ name: 'bench-growth', level: 'warn' });
const config = defaultConfig();
const store = () => createRedisStore({ url: redisUrl, timeoutMs: config.DEPENDENCY_TIMEOUT_MS, log });
const scoreStore = store();
const { def, models } = scoreFunction({
  store: scoreStore,
  registry: new ModelRegistry({ store: scoreStore }),
  config,
  log,
});
await models.start();
if (!models.ready()) throw new Error('score: the champions did not load');
const targets = targetServer(log);
const featurize = await targets.start(featurizeFunction({ store: store(), config }));
const score = await targets.start(def);
announceReady({ featurize, score: `${score}v1/score` }, () => targets.close());
