// A small RFC 4180 CSV reader: quoted fields (commas, quotes, line breaks inside), CRLF or LF, each record's line.

/** One record: its fields, and the line of the file it starts on (1-based). */
export interface CsvRecord {
  line: number;
  fields: string[];
}

/** A record that could not be read, with the line it starts on and why. */
export interface CsvError {
  line: number;
  message: string;
}

/**
 * Splits `text` into records (RFC 4180 §2): fields separated by commas, a field in double quotes may hold commas,
 * line breaks and doubled quotes (`""`). A quote inside an unquoted field, text after a closing quote, or a quote
 * left open at the end of the file makes that record an error; reading goes on at the next line. Blank lines are
 * skipped. A byte-order mark at the start is dropped.
 */
export function parseCsv(text: string): { records: CsvRecord[]; errors: CsvError[] } {
  const records: CsvRecord[] = [];
  const errors: CsvError[] = [];
  const s = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  let i = 0;
  let line = 1;
  while (i < s.length) {
    const start = line;
    const fields: string[] = [];
    let error: string | undefined;
    for (;;) {
      let field = '';
      if (s[i] === '"') {
        i++;
        let closed = false;
        while (i < s.length) {
          const c = s[i];
          if (c === '"') {
            if (s[i + 1] === '"') {
              field += '"';
              i += 2;
              continue;
            }
            i++;
            closed = true;
            break;
          }
          if (c === '\n') line++;
          field += c;
          i++;
        }
        if (!closed) {
          error = 'a quoted field is not closed before the end of the file';
          break;
        }
        if (i < s.length && s[i] !== ',' && s[i] !== '\n' && s[i] !== '\r') {
          error = 'text after the closing quote of a field';
          break;
        }
      } else {
        while (i < s.length && s[i] !== ',' && s[i] !== '\n' && s[i] !== '\r') {
          if (s[i] === '"')
            error ??= 'a quote inside an unquoted field (quote the whole field and double the quote)';
          field += s[i];
          i++;
        }
      }
      fields.push(field);
      if (s[i] === ',') {
        i++;
        continue;
      }
      break;
    }
    if (error !== undefined) {
      // skip the rest of this line and report the record
      while (i < s.length && s[i] !== '\n') i++;
      errors.push({ line: start, message: error });
    } else if (!(fields.length === 1 && fields[0] === '')) {
      records.push({ line: start, fields });
    }
    if (s[i] === '\r') i++;
    if (s[i] === '\n') {
      i++;
      line++;
    }
  }
  return { records, errors };
}
