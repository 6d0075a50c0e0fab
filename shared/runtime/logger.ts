// Structured JSON logs (pino); every function logs through this so lines carry the function and event ids.
import { type DestinationStream, destination, type Logger, pino } from 'pino';

export type { Logger };

/** A JSON logger for one function; `destination` lets tests and the local runner capture lines. */
export function createLogger(opts: { name: string; level: string; destination?: DestinationStream }): Logger {
  const options = { name: opts.name, level: opts.level, base: { function: opts.name } };
  return opts.destination ? pino(options, opts.destination) : pino(options);
}

/** A JSON logger writing to a file (the local loop keeps the terminal for its progress lines). */
export function createFileLogger(opts: { name: string; level: string; file: string }): Logger {
  return createLogger({ ...opts, destination: destination({ dest: opts.file, mkdir: true, sync: false }) });
}
