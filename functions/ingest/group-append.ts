// Group commit for the event log: appends that arrive in the same turn of the event loop go out as one batch.
import type { EventLog, LogRecord } from '../../shared/log/index.ts';

/**
 * Wraps `log.append` so concurrent callers share one batch (one produce request, one fsync): each caller's promise
 * settles with its batch. Under load this turns N appends into a few; alone, it adds one event-loop turn.
 */
export function groupAppend(
  log: Pick<EventLog, 'append'>,
  maxBatch = 500,
): (record: LogRecord) => Promise<void> {
  let pending: { record: LogRecord; resolve: () => void; reject: (err: unknown) => void }[] = [];
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    const batch = pending;
    pending = [];
    for (let i = 0; i < batch.length; i += maxBatch) {
      const slice = batch.slice(i, i + maxBatch);
      log.append(slice.map((p) => p.record)).then(
        () => {
          for (const p of slice) p.resolve();
        },
        (err: unknown) => {
          for (const p of slice) p.reject(err);
        },
      );
    }
  };
  return (record) =>
    new Promise<void>((resolve, reject) => {
      pending.push({ record, resolve, reject });
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    });
}
