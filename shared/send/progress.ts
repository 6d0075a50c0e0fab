// The sender's progress on stderr: a bar redrawn in place on a terminal, a plain line every few seconds otherwise.

export interface Progress {
  update(done: number): void;
  /** A line of its own (a retry), without breaking the bar. */
  note(line: string): void;
  end(): void;
}

const WIDTH = 28;

/** Progress of `total` rows on `stream`; `now` is injectable so the text can be tested without a clock. */
export function progressBar(
  total: number,
  stream: NodeJS.WriteStream = process.stderr,
  now: () => number = Date.now,
): Progress {
  const tty = stream.isTTY === true;
  const started = now();
  let last = 0;
  let drawn = false;
  let done = 0;
  const text = (): string => {
    const seconds = Math.max(0.001, (now() - started) / 1000);
    const rate = done / seconds;
    const eta = rate > 0 ? (total - done) / rate : Number.NaN;
    const share = total === 0 ? 1 : done / total;
    const filled = Math.round(share * WIDTH);
    return `[${'#'.repeat(filled)}${'-'.repeat(WIDTH - filled)}] ${done}/${total} rows  ${rate.toFixed(0)} events/s  ETA ${clock(eta)}`;
  };
  const draw = (force: boolean) => {
    const t = now();
    if (tty) {
      if (!force && t - last < 100) return;
      stream.write(`\r${text()}\u001b[K`);
      drawn = true;
    } else {
      if (!force && t - last < 5000) return;
      stream.write(`${text()}\n`);
    }
    last = t;
  };
  return {
    update(n) {
      done = n;
      draw(n >= total);
    },
    note(line) {
      if (tty && drawn) stream.write('\r\u001b[K');
      stream.write(`${line}\n`);
      if (tty && drawn) draw(true);
    },
    end() {
      if (tty && drawn) stream.write('\n');
    },
  };
}

/** Seconds as m:ss (or h:mm:ss); `-` when unknown. */
export function clock(seconds: number): string {
  if (!Number.isFinite(seconds)) return '-';
  const s = Math.round(seconds);
  const mmss = `${Math.floor((s % 3600) / 60)}:${String(s % 60).padStart(2, '0')}`;
  return s >= 3600 ? `${Math.floor(s / 3600)}:${mmss.padStart(5, '0')}` : mmss;
}
