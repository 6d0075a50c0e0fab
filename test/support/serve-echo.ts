// Runs the echo function as its own process (for the SIGTERM test): prints its port, handles signals like main.ts.
import { createLogger, serve } from '../../shared/runtime/index.ts';
import { echoControls, echoFunction } from './echo-function.ts';

const controls = echoControls();
controls.delayMs = Number(process.env.ECHO_DELAY_MS ?? '0');
const fn = echoFunction(controls);
const log = createLogger({ name: 'echo', level: 'silent' });
const running = await serve(
  {
    ...fn,
    close: async () => {
      process.stdout.write('clients closed\n');
    },
  },
  { port: 0, host: '127.0.0.1', log, maxBodyBytes: 1 << 20, shutdownGraceMs: 5_000, handleSignals: true },
);
process.stdout.write(`port ${running.port}\n`);
