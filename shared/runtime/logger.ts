// Structured JSON logs (pino); every function logs through this so lines carry the function and event ids.
import { pino, type Logger } from 'pino';

export type { Logger };

/** A JSON logger for one function; `destination` lets tests and the local runner capture lines. */
export function createLogger(opts: {
  name: string;
  level: string;
  destination?: NodeJS.WritableStream;
}): Logger {
  const options = { name: opts.name, level: opts.level, base: { function: opts.name } };
  return opts.destination ? pino(options, opts.destination) : pino(options);
}
