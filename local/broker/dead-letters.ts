// The local dead-letter sink: JSON lines appended to a file, and the most recent ones kept for the dashboard.
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../../shared/runtime/logger.ts';
import { type AttemptResult, isRetriable, NO_RESPONSE } from './delivery.ts';
import { type BrokerEvent, toStructuredJson } from './event.ts';
import { describeSink, type Trigger } from './triggers.ts';

/** Knative truncates knativeerrordata to 1024 characters; 768 bytes are exactly 1024 base64 characters. */
const ERROR_DATA_BYTES = 768;

/** One dead-lettered delivery, as the dashboard shows it. */
export interface DeadLetter {
  /** When it was dead-lettered (ISO-8601). */
  at: string;
  trigger: string;
  /** The dead-letter sink the Trigger names (`Service/name`, a URI, or `none`). */
  sink: string;
  /** Delivery attempts made (1 + retries). */
  attempts: number;
  /** Why: the final status and whether it was retriable. */
  reason: string;
  /** The event in structured mode with knativeerrordest, knativeerrorcode and knativeerrordata. */
  event: Record<string, unknown>;
}

export interface DeadLetterStore {
  /** Opens the file (creating its directory); until then, add() only keeps letters in memory. */
  open(): Promise<void>;
  /** Records a dead letter; resolves once its line is handed to the file. */
  add(letter: DeadLetter): Promise<void>;
  /** The most recent letters, newest last. */
  recent(): DeadLetter[];
  close(): Promise<void>;
}

/**
 * A dead-letter store writing one structured event per line to `file` (each line can be posted back to the
 * broker as `application/cloudevents+json`) and keeping the last `keep` letters in memory.
 */
export function createDeadLetterStore(opts: {
  file?: string | undefined;
  keep: number;
  log: Logger;
}): DeadLetterStore {
  const recent: DeadLetter[] = [];
  let stream: WriteStream | undefined;
  return {
    async open() {
      if (!opts.file || stream) return;
      await mkdir(path.dirname(opts.file), { recursive: true });
      stream = createWriteStream(opts.file, { flags: 'a' });
      stream.on('error', (err) => opts.log.error({ err, file: opts.file }, 'dead-letter file failed'));
    },
    add(letter) {
      recent.push(letter);
      if (recent.length > opts.keep) recent.splice(0, recent.length - opts.keep);
      const out = stream;
      if (!out) return Promise.resolve();
      return new Promise((resolve) => {
        out.write(`${JSON.stringify(letter.event)}\n`, (err) => {
          if (err) opts.log.error({ err, file: opts.file }, 'could not write a dead letter (kept in memory)');
          resolve();
        });
      });
    },
    recent: () => recent.slice(),
    async close() {
      const out = stream;
      stream = undefined;
      if (out) await new Promise<void>((resolve) => out.end(resolve));
    },
  };
}

/**
 * The dead letter for a failed delivery, with the extensions Knative's dispatcher adds: knativeerrordest (the
 * subscriber URL), knativeerrorcode (the last status, -1 without a response) and knativeerrordata (the response
 * body, base64, at most 1024 characters; the connection error's message when there was no response).
 */
export function deadLetterOf(input: {
  trigger: Trigger;
  dest: string;
  event: BrokerEvent;
  result: AttemptResult | undefined;
  attempts: number;
}): DeadLetter {
  const { result, attempts } = input;
  const code = result?.status ?? NO_RESPONSE;
  const data = result?.error && result.body === '' ? result.error : (result?.body ?? '');
  const event = toStructuredJson(input.event, {
    knativeerrordest: input.dest,
    knativeerrorcode: code,
    knativeerrordata: Buffer.from(data).subarray(0, ERROR_DATA_BYTES).toString('base64'),
  });
  const status = code === NO_RESPONSE ? `no response (${result?.error ?? 'unknown'})` : `status ${code}`;
  const why = isRetriable(code)
    ? `retries exhausted after ${attempts} attempt${attempts === 1 ? '' : 's'}`
    : 'not retriable';
  return {
    at: new Date().toISOString(),
    trigger: input.trigger.name,
    sink: describeSink(input.trigger.delivery.deadLetter),
    attempts,
    reason: `${status}, ${why}`,
    event,
  };
}
