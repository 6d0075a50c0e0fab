// `flywheel send`: a file of transactions or labels (CSV or JSON Lines) to ingest, with progress and a receipt summary.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { ConfigError, loadConfig } from '../config/index.ts';
import { progressBar } from './progress.ts';
import { ROW_TYPES, readRows, type RowType } from './rows.ts';
import { DEFAULT_RETRY, IngestUnreachableError, type SendSummary, sendRows } from './send.ts';
import { ingestUrl } from './urls.ts';

export const USAGE = `usage: flywheel send <file.csv|file.jsonl> [--type transaction|label] [--rate N] [--batch N] [--url URL] [--retries N]

Posts the file's rows to ingest as CloudEvents batches (application/cloudevents-batch+json) and prints what ingest
answered for each: accepted, duplicate, or rejected with the line, the field and the reason. CSV: a header row
naming the catalog's fields (transactionId, customerId, amount, currency, merchantCategory, channel, country,
deviceId, occurredAt; labels: transactionId, customerId, isFraud, labelledAt); times in ISO 8601 or epoch ms.
JSON Lines: one object with those fields per line. Event ids come from the rows (transactionId, label-<transactionId>)
and the source from the file's name, so sending a file again is answered as duplicates.

  --type T      transaction or label (default: a type column, else label when the rows have isFraud)
  --rate N      at most N events per second (default: as fast as ingest answers)
  --batch N     events per request (default 500)
  --url URL     ingest (default FLYWHEEL_INGEST_URL, else the local loop's, http://127.0.0.1:<FLYWHEEL_PORT_BASE+1>/)
  --retries N   attempts per batch when ingest answers 429 or 5xx or cannot be reached (default ${DEFAULT_RETRY.attempts})

Exit status: 0 every row accepted or a duplicate, 1 some rows rejected or unreadable, 2 usage, 3 ingest unreachable.`;

const positive = (what: string) =>
  z.coerce.number({ error: `expected ${what}` }).positive(`expected ${what}`);
const OptionsSchema = z.object({
  type: z.enum(ROW_TYPES as [RowType, ...RowType[]], { error: 'expected transaction or label' }).optional(),
  rate: positive('events per second above 0').optional(),
  batch: positive('a whole number above 0').int('expected a whole number above 0').max(10_000).default(500),
  url: z.url({ error: 'expected a URL' }).optional(),
  retries: positive('a whole number above 0')
    .int('expected a whole number above 0')
    .default(DEFAULT_RETRY.attempts),
});

/** Runs `flywheel send` and returns its exit status. */
export async function runSendCli(
  argv: readonly string[],
  out: (line: string) => void = (l) => process.stdout.write(`${l}\n`),
): Promise<number> {
  const usage = (why: string) => {
    console.error(`flywheel send: ${why}\n\n${USAGE}`);
    return 2;
  };
  let values: Record<string, unknown>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        type: { type: 'string' },
        rate: { type: 'string' },
        batch: { type: 'string' },
        url: { type: 'string' },
        retries: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    return usage((err as Error).message);
  }
  if (values.help) {
    out(USAGE);
    return 0;
  }
  const parsed = OptionsSchema.safeParse(values);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const key = String(issue?.path[0] ?? '');
    return usage(`--${key} ${JSON.stringify(values[key])}: ${issue?.message ?? 'invalid'}`);
  }
  const options = parsed.data;
  const [file, ...extra] = positionals;
  if (file === undefined) return usage('which file? (a .csv or .jsonl file)');
  if (extra.length > 0) return usage(`one file at a time (also given: ${extra.join(' ')})`);
  const ext = path.extname(file).toLowerCase();
  const format = ext === '.csv' ? 'csv' : ext === '.jsonl' || ext === '.ndjson' ? 'jsonl' : undefined;
  if (!format) return usage(`${file}: expected a .csv or .jsonl file`);
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (err) {
    console.error(err instanceof ConfigError ? err.message : err);
    return 2;
  }
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    return usage(`cannot read ${file}: ${(err as Error).message}`);
  }

  const name = path.basename(file);
  const read = readRows(text, { format, name, type: options.type });
  const url = options.url ?? ingestUrl(config);
  if (read.unknownFields.length > 0)
    console.error(
      `${name}: fields the catalog does not know, ignored by ingest: ${read.unknownFields.join(', ')}`,
    );
  console.error(`${name}: sending ${read.rows.length} rows to ${url}`);
  const progress = progressBar(read.rows.length);
  let summary: SendSummary;
  let unreachable: IngestUnreachableError | undefined;
  try {
    summary = await sendRows({
      url,
      rows: read.rows,
      batchSize: options.batch,
      rate: options.rate,
      retry: { ...DEFAULT_RETRY, attempts: options.retries },
      onProgress: (done) => progress.update(done),
      onRetry: (why, ms) => progress.note(`${why}; the batch is sent again in ${(ms / 1000).toFixed(1)} s`),
    });
  } catch (err) {
    if (!(err instanceof IngestUnreachableError)) throw err;
    unreachable = err;
    summary = err.summary;
  }
  progress.end();

  const notSent = read.errors.length;
  out(
    `${name}: ${read.rows.length + notSent} rows — accepted ${summary.accepted}, duplicate ${summary.duplicate}, ` +
      `rejected ${summary.rejected.length}, not sent ${notSent}` +
      (summary.retries > 0 ? ` (${summary.retries} batches sent again)` : ''),
  );
  const lines = [
    ...summary.rejected.map((r) => ({
      line: r.line,
      text: `rejected by ingest — ${r.field || 'event'}: ${r.message}`,
    })),
    ...read.errors.map((e) => ({ line: e.line, text: `not sent — ${e.field}: ${e.message}` })),
  ].sort((a, b) => a.line - b.line);
  for (const l of lines) out(`  line ${l.line}: ${l.text}`);
  if (unreachable) {
    out(`ingest unreachable: ${unreachable.message}; ${read.rows.length - summary.sent} rows not answered`);
    return 3;
  }
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (const r of read.rows) {
    if (r.time === null) continue;
    min = Math.min(min, r.time);
    max = Math.max(max, r.time);
  }
  if (Number.isFinite(min)) {
    const first = new Date(min).toISOString();
    out(`times from ${first} to ${new Date(max).toISOString()}`);
    if (read.rows.some((r) => r.event.type.endsWith('.transaction')))
      out(`train on them through the loop: npx flywheel train --model risk|segment --since ${first} --wait`);
  }
  return summary.rejected.length > 0 || notSent > 0 ? 1 : 0;
}
