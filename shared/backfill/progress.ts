// What a person watching a backfill sees on stderr: a redrawn bar on a terminal, a line now and then otherwise.
import type { BackfillProgress } from './backfill.ts';

/** Where progress goes: stderr, or anything with write (and isTTY when it is a terminal). */
export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

/** events/s over the run so far and the time left at the rate offsets are scanned, from a progress and elapsed ms. */
export function rates(
  p: BackfillProgress,
  elapsedMs: number,
): { eventsPerSec: number; etaMs: number | null } {
  const seconds = Math.max(elapsedMs, 1) / 1000;
  const events = p.counts.applied + p.counts.duplicates;
  const offsetsPerSec = p.scanned / seconds;
  const left = p.total - p.scanned;
  return {
    eventsPerSec: p.chunks === 0 ? 0 : events / seconds,
    etaMs: left <= 0 ? 0 : offsetsPerSec > 0 ? (left / offsetsPerSec) * 1000 : null,
  };
}

/** `1:02:03`, `4:05`, or `?` when unknown. */
export function formatDuration(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms)) return '?';
  const s = Math.round(ms / 1000);
  const [h, m, sec] = [Math.floor(s / 3600), Math.floor((s % 3600) / 60), s % 60];
  const mm = h > 0 ? String(m).padStart(2, '0') : String(m);
  return `${h > 0 ? `${h}:` : ''}${mm}:${String(sec).padStart(2, '0')}`;
}

/** One progress line; with `barWidth` it starts with a bar of that many cells. */
export function formatProgress(p: BackfillProgress, elapsedMs: number, barWidth?: number): string {
  const share = p.total === 0 ? 1 : Math.min(p.scanned / p.total, 1);
  const { eventsPerSec, etaMs } = rates(p, elapsedMs);
  const filled = barWidth === undefined ? 0 : Math.round(share * barWidth);
  const bar = barWidth === undefined ? '' : `[${'#'.repeat(filled)}${'.'.repeat(barWidth - filled)}] `;
  const c = p.counts;
  return (
    `${bar}${(share * 100).toFixed(1)}% ${p.scanned}/${p.total} records | ${c.applied} applied, ` +
    `${c.duplicates} duplicates${c.invalid > 0 ? `, ${c.invalid} invalid` : ''} | ` +
    `${Math.round(eventsPerSec)} events/s | ETA ${formatDuration(etaMs)}`
  );
}

/**
 * Reports progress on `stream`: on a terminal a bar redrawn in place (at most every `redrawMs`), otherwise a plain
 * line every `lineMs`; `finish` prints the last state on its own line.
 */
export function progressReporter(opts: {
  stream: ProgressStream;
  now?: () => number;
  redrawMs?: number;
  lineMs?: number;
}): { update(p: BackfillProgress): void; finish(p: BackfillProgress): void } {
  const now = opts.now ?? Date.now;
  const started = now();
  const tty = opts.stream.isTTY === true;
  const every = tty ? (opts.redrawMs ?? 100) : (opts.lineMs ?? 5000);
  let last = Number.NEGATIVE_INFINITY;
  const line = (p: BackfillProgress) => {
    const width = Math.max(10, Math.min(30, (opts.stream.columns ?? 80) - 90));
    return formatProgress(p, now() - started, tty ? width : undefined);
  };
  return {
    update(p) {
      if (now() - last < every) return;
      last = now();
      opts.stream.write(tty ? `\r\x1b[2K${line(p)}` : `${line(p)}\n`);
    },
    finish(p) {
      opts.stream.write(tty ? `\r\x1b[2K${line(p)}\n` : `${line(p)}\n`);
    },
  };
}
