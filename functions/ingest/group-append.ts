// Group commit for the event log: concurrent appends share one append call (one fsync, one produce request).
import type { EventLog, LogRecord } from '../../shared/log/index.ts';

export interface GroupCommitOptions {
  /** Most records per append call (one Kafka produce request stays well under its 1 MiB default). */
  maxBatch?: number;
  /**
   * INGEST_LINGER_MS: how long the first record of a group waits for others when no append is in flight (0: the
   * rest of the current event-loop turn). Larger groups, fewer fsyncs, at that much more latency.
   */
  lingerMs?: number;
  /**
   * Appends in flight at once (default 2): while they are, arriving records wait and form the next group. More than
   * one, so that one slow or stuck append (a produce request before its timeout) does not hold up every later
   * event; each log keeps its own order between calls (the file log's writer queue, Kafka's one request in flight).
   */
  maxInFlight?: number;
}

interface Waiting {
  record: LogRecord;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * Wraps `log.append` in a group commit: at most maxInFlight appends run at once, and the records that arrive while
 * they do wait and go out together in the next one as soon as one returns (up to maxBatch per call). Alone, a record waits
 * one event-loop turn (or lingerMs); under load the groups grow with the append's own latency, so N concurrent
 * requests cost a few fsyncs or produce requests, not N. Each caller's promise settles with its group: it resolves
 * only once the group is durable as the log makes it, and a failed group rejects every caller in it.
 */
export function groupAppend(
  log: Pick<EventLog, 'append'>,
  opts: GroupCommitOptions = {},
): (record: LogRecord) => Promise<void> {
  const maxBatch = opts.maxBatch ?? 500;
  const lingerMs = opts.lingerMs ?? 0;
  const maxInFlight = opts.maxInFlight ?? 2;
  let pending: Waiting[] = [];
  let inFlight = 0;
  let timer: NodeJS.Immediate | NodeJS.Timeout | undefined;

  const flush = () => {
    // a flush after an append returned may come before a scheduled one: that one is no longer needed
    if (timer) {
      clearTimeout(timer as NodeJS.Timeout);
      clearImmediate(timer as NodeJS.Immediate);
      timer = undefined;
    }
    if (inFlight >= maxInFlight || pending.length === 0) return;
    const group = pending.slice(0, maxBatch);
    pending = pending.slice(group.length);
    inFlight++;
    log
      .append(group.map((w) => w.record))
      .then(
        () => {
          for (const w of group) w.resolve();
        },
        (err: unknown) => {
          for (const w of group) w.reject(err);
        },
      )
      .finally(() => {
        inFlight--;
        flush(); // whatever arrived during this append has waited long enough
      });
    schedule(); // a full group may leave records behind: they go out in the next free slot
  };
  const schedule = () => {
    if (inFlight >= maxInFlight || timer || pending.length === 0) return;
    timer = lingerMs > 0 ? setTimeout(flush, lingerMs) : setImmediate(flush);
  };

  return (record) =>
    new Promise<void>((resolve, reject) => {
      pending.push({ record, resolve, reject });
      schedule();
    });
}
