// The runtime benchmark's targets, started in one child process: the bare hono route and the echo function via serve().
import { createLogger, serve } from '../../shared/runtime/index.ts';
import { echoControls, echoFunction } from '../../test/support/echo-function.ts';
import { startBareRoute } from './bare-route.ts';
import { announceReady } from './child.ts';

const bare = await startBareRoute();
const fn = await serve(echoFunction(echoControls()), {
  port: 0,
  host: '127.0.0.1',
  log: createLogger({ name: 'echo', level: 'silent' }),
  maxBodyBytes: 1 << 20,
  shutdownGraceMs: 1000,
});
announceReady({ bare: bare.url, serve: `${fn.url}/` }, async () => {
  await fn.close();
  await bare.close();
});
