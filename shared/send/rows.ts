// A file of transactions or labels (CSV with a header row, or JSON Lines) read into raw CloudEvents with stable ids.
import { EventTypes, LabelSchema, TransactionSchema } from '../events/index.ts';
import { parseCsv } from './csv.ts';

export type RowType = 'transaction' | 'label';
export const ROW_TYPES: readonly RowType[] = ['transaction', 'label'];

/** A structured-mode CloudEvent as a data source posts it in a batch. */
export interface StructuredEvent {
  specversion: '1.0';
  id: string;
  source: string;
  type: string;
  time?: string;
  subject?: string;
  datacontenttype: 'application/json';
  data: Record<string, unknown>;
}

/** One row of the file, ready to send. */
export interface Row {
  line: number;
  event: StructuredEvent;
  /** The row's event time in epoch ms, when it reads as one (for the summary's time span). */
  time: number | null;
}

/** A row that was not sent: the file could not be read there, or it lacks what its event id is made from. */
export interface RowError {
  line: number;
  field: string;
  message: string;
}

export interface ReadRows {
  rows: Row[];
  errors: RowError[];
  /** Columns (CSV) or keys (JSON Lines) the catalog does not know: ignored by ingest. */
  unknownFields: string[];
}

const FIELDS: Record<RowType, readonly string[]> = {
  transaction: Object.keys(TransactionSchema.shape),
  label: Object.keys(LabelSchema.shape),
};
const TIME_FIELD: Record<RowType, string> = { transaction: 'occurredAt', label: 'labelledAt' };

/** The row type a `type` cell names: `transaction`, `label`, or the catalog's full type names. */
export function rowType(value: unknown): RowType | undefined {
  if (value === 'transaction' || value === EventTypes.transaction) return 'transaction';
  if (value === 'label' || value === EventTypes.label) return 'label';
  return undefined;
}

/**
 * Reads the file's rows. The events' source is `file://<name>` and their ids come from the rows (a transaction's
 * transactionId, `label-<transactionId>` for a label), so sending the same file again sends the same events and
 * ingest answers them as duplicates. A row's type is `type` when given, else its `type` column or key, else label
 * when it has `isFraud`, else transaction. CSV cells are typed as the catalog expects (numbers, epoch-ms times,
 * booleans); everything else is left to ingest, which answers each invalid row with the field at fault.
 */
export function readRows(
  text: string,
  opts: { format: 'csv' | 'jsonl'; name: string; type?: RowType | undefined },
): ReadRows {
  const source = `file://${opts.name}`;
  const errors: RowError[] = [];
  const objects: { line: number; value: Record<string, unknown>; guess?: RowType }[] = [];
  if (opts.format === 'csv') {
    const csv = parseCsv(text);
    for (const e of csv.errors) errors.push({ line: e.line, field: 'csv', message: e.message });
    const [header, ...records] = csv.records;
    if (!header) return { rows: [], errors, unknownFields: [] };
    const names = header.fields.map((f) => f.trim());
    // the header decides for every row: an empty isFraud cell is still a label's (ingest names the field)
    const guess: RowType = names.includes('isFraud') ? 'label' : 'transaction';
    for (const r of records) {
      if (r.fields.length !== names.length) {
        errors.push({
          line: r.line,
          field: 'csv',
          message: `${r.fields.length} fields where the header (line ${header.line}) has ${names.length}`,
        });
        continue;
      }
      const value: Record<string, unknown> = {};
      names.forEach((name, i) => {
        const cell = r.fields[i] ?? '';
        if (cell !== '') value[name] = cell;
      });
      objects.push({ line: r.line, value: typeCells(value), guess });
    }
  } else {
    text.split('\n').forEach((raw, index) => {
      const line = index + 1;
      if (raw.trim() === '') return;
      let value: unknown;
      try {
        value = JSON.parse(raw);
      } catch (err) {
        errors.push({ line, field: 'json', message: `not valid JSON: ${(err as Error).message}` });
        return;
      }
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        errors.push({ line, field: 'json', message: 'a row must be a JSON object' });
        return;
      }
      objects.push({ line, value: value as Record<string, unknown> });
    });
  }

  const rows: Row[] = [];
  const unknown = new Set<string>();
  for (const { line, value, guess } of objects) {
    const { type: typeCell, ...data } = value;
    const type =
      opts.type ?? (typeCell === undefined ? undefined : rowType(typeCell)) ?? guess ?? guessOf(data);
    if (opts.type === undefined && typeCell !== undefined && rowType(typeCell) === undefined) {
      errors.push({
        line,
        field: 'type',
        message: `type ${JSON.stringify(typeCell)}: expected transaction or label`,
      });
      continue;
    }
    const transactionId = data.transactionId;
    if (typeof transactionId !== 'string' || transactionId === '') {
      errors.push({
        line,
        field: 'transactionId',
        message: 'missing: every row needs a transactionId (its event id is made from it)',
      });
      continue;
    }
    for (const key of Object.keys(data)) if (!FIELDS[type].includes(key)) unknown.add(key);
    const time = instant(data[TIME_FIELD[type]]);
    const event: StructuredEvent = {
      specversion: '1.0',
      id: type === 'transaction' ? transactionId : `label-${transactionId}`,
      source,
      type: EventTypes[type],
      datacontenttype: 'application/json',
      data,
    };
    if (time !== null) event.time = new Date(time).toISOString();
    if (typeof data.customerId === 'string' && data.customerId !== '') event.subject = data.customerId;
    rows.push({ line, event, time });
  }
  errors.sort((a, b) => a.line - b.line);
  return { rows, errors, unknownFields: [...unknown].sort() };
}

/** A row without a type is a label when it carries a verdict. */
const guessOf = (data: Record<string, unknown>): RowType => ('isFraud' in data ? 'label' : 'transaction');

const NUMBER = /^-?\d+(\.\d+)?([eE][+-]?\d+)?$/;

/** CSV cells as the catalog types them: the amount as a number, epoch-ms times as numbers, isFraud as a boolean. */
function typeCells(value: Record<string, unknown>): Record<string, unknown> {
  const out = { ...value };
  for (const key of ['amount', 'occurredAt', 'labelledAt']) {
    const v = out[key];
    if (typeof v === 'string' && NUMBER.test(v.trim())) out[key] = Number(v.trim());
  }
  const fraud = out.isFraud;
  if (typeof fraud === 'string') {
    const f = fraud.trim().toLowerCase();
    if (['true', '1', 'yes'].includes(f)) out.isFraud = true;
    else if (['false', '0', 'no'].includes(f)) out.isFraud = false;
  }
  return out;
}

/** Epoch ms of an ISO time or an epoch-ms number; null for anything else. */
function instant(v: unknown): number | null {
  const ms = typeof v === 'number' ? v : typeof v === 'string' ? Date.parse(v) : Number.NaN;
  return Number.isFinite(ms) ? ms : null;
}
