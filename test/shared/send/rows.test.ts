// The sender's reading of files: RFC 4180 CSV records and their lines, row types, typed cells, stable event ids.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PORT_OFFSETS } from '../../../local/loop.ts';
import { parseCsv } from '../../../shared/send/csv.ts';
import { readRows } from '../../../shared/send/rows.ts';
import { LOOP_OFFSETS } from '../../../shared/send/urls.ts';

describe('parseCsv', () => {
  it('reads quoted commas, doubled quotes and line breaks, and numbers each record by the line it starts on', () => {
    const { records, errors } = parseCsv('\uFEFFa,b\n"x, y","say ""hi"""\n\n"two\nlines",z\r\nlast,');
    assert.deepEqual(errors, []);
    assert.deepEqual(records, [
      { line: 1, fields: ['a', 'b'] },
      { line: 2, fields: ['x, y', 'say "hi"'] },
      { line: 4, fields: ['two\nlines', 'z'] },
      { line: 6, fields: ['last', ''] },
    ]);
  });

  it('reports a stray quote, text after a closing quote and an unclosed quote at their lines, and reads on', () => {
    const { records, errors } = parseCsv('a,b"c\n"d"e,f\nok,1\n"open,2\n');
    assert.deepEqual(
      errors.map((e) => e.line),
      [1, 2, 4],
    );
    assert.match(errors[0]?.message ?? '', /quote inside an unquoted field/);
    assert.match(errors[1]?.message ?? '', /after the closing quote/);
    assert.match(errors[2]?.message ?? '', /not closed/);
    assert.deepEqual(records, [{ line: 3, fields: ['ok', '1'] }]);
  });
});

describe('readRows', () => {
  it('makes event ids from the rows and the source from the file name, so a re-send is the same events', () => {
    const text = 'transactionId,customerId,isFraud,labelledAt,note\nt-1,c-1,TRUE,1790000000000,x\n';
    const a = readRows(text, { format: 'csv', name: 'labels.csv' });
    const b = readRows(text, { format: 'csv', name: 'labels.csv' });
    assert.deepEqual(a, b);
    assert.deepEqual(a.unknownFields, ['note']);
    const e = a.rows[0]?.event;
    assert.equal(e?.type, 'dev.flywheel.label');
    assert.equal(e?.id, 'label-t-1');
    assert.equal(e?.source, 'file://labels.csv');
    assert.equal(e?.time, new Date(1790000000000).toISOString());
    assert.deepEqual(e?.data, {
      transactionId: 't-1',
      customerId: 'c-1',
      isFraud: true,
      labelledAt: 1790000000000,
      note: 'x',
    });
  });

  it('takes --type over a type column, and refuses an unknown type cell locally', () => {
    const text = 'type,transactionId,customerId,amount\nrefund,t-1,c-1,5\ntransaction,t-2,c-1,6\n';
    const own = readRows(text, { format: 'csv', name: 'f.csv' });
    assert.deepEqual(own.errors, [
      { line: 2, field: 'type', message: 'type "refund": expected transaction or label' },
    ]);
    assert.deepEqual(
      own.rows.map((r) => [r.line, r.event.id, r.event.data.amount]),
      [[3, 't-2', 6]],
    );
    const forced = readRows(text, { format: 'csv', name: 'f.csv', type: 'label' });
    assert.deepEqual(
      forced.rows.map((r) => r.event.id),
      ['label-t-1', 'label-t-2'],
    );
  });

  it('takes a CSV with an isFraud column for labels, even on a row whose isFraud cell is empty', () => {
    const read = readRows('transactionId,customerId,isFraud,labelledAt\nt-1,c-1,,1790000000000\n', {
      format: 'csv',
      name: 'l.csv',
    });
    assert.equal(read.rows[0]?.event.type, 'dev.flywheel.label');
    assert.equal(read.rows[0]?.event.id, 'label-t-1');
  });

  it('uses the loop ports of local/loop.ts', () => {
    for (const [name, offset] of Object.entries(LOOP_OFFSETS))
      assert.equal(offset, PORT_OFFSETS[name as keyof typeof PORT_OFFSETS], name);
  });
});
