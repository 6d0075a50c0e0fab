// Serving functions as benchmark targets: serve() on a free loopback port with the default config's limits.
import { defaultConfig } from '../../shared/config/index.ts';
import type { EventType } from '../../shared/events/index.ts';
import type { FunctionDefinition, Logger, RunningFunction } from '../../shared/runtime/index.ts';
import { serve } from '../../shared/runtime/index.ts';

/** Starts functions on 127.0.0.1 (port 0) and closes them all at once; `start` resolves to `url/`. */
export function targetServer(log: Logger): {
  start<A extends EventType>(def: FunctionDefinition<A>): Promise<string>;
  close(): Promise<void>;
} {
  const config = defaultConfig();
  const running: RunningFunction[] = [];
  return {
    async start(def) {
      const fn = await serve(def, {
        port: 0,
        host: '127.0.0.1',
        log,
        maxBodyBytes: config.MAX_BODY_BYTES,
        shutdownGraceMs: 1000,
      });
      running.push(fn);
      return `${fn.url}/`;
    },
    async close() {
      for (const fn of running.splice(0)) await fn.close();
    },
  };
}
