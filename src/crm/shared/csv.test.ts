import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CsvReader, csvLine, parseCsv } from './csv.ts';
import { normalisePhone } from './phone.ts';
import { normaliseEmail } from './email.ts';

test('parses quoted fields, escaped quotes, embedded newlines and CRLF', () => {
  const rows = parseCsv('name,note\r\n"Smith, Jo","said ""hi""\nbye"\r\nplain,x');
  assert.deepEqual(rows, [['name', 'note'], ['Smith, Jo', 'said "hi"\nbye'], ['plain', 'x']]);
});

test('streams across arbitrary chunk boundaries', () => {
  const text = 'a,b\n"1,""2""",3\n4,5\n';
  for (let size = 1; size <= text.length; size++) {
    const reader = new CsvReader();
    const rows: string[][] = [];
    for (let i = 0; i < text.length; i += size) rows.push(...reader.push(text.slice(i, i + size)));
    rows.push(...reader.end());
    assert.deepEqual(rows, [['a', 'b'], ['1,"2"', '3'], ['4', '5']], `chunk size ${size}`);
  }
});

test('rejects an unterminated quote', () => {
  assert.throws(() => parseCsv('a,"b\n'), /unterminated/);
});

test('writes values that round-trip and neutralises formulas', () => {
  const line = csvLine(['a,b', 'say "x"', null, '=SUM(A1)', '+919812345678', 5]);
  assert.equal(line, '"a,b","say ""x""",,\'=SUM(A1),+919812345678,5\r\n');
  assert.deepEqual(parseCsv(line)[0], ['a,b', 'say "x"', '', "'=SUM(A1)", '+919812345678', '5']);
});

test('normalises phones to E.164 digits and validates emails', () => {
  assert.equal(normalisePhone('+91 98123-45678', '91'), '919812345678');
  assert.equal(normalisePhone('098123 45678', '91'), '919812345678');
  assert.equal(normalisePhone('0044 20 7946 0958', '91'), '442079460958');
  assert.equal(normalisePhone('(415) 555-2671', '1'), '14155552671');
  assert.equal(normalisePhone('12ab', '91'), null);
  assert.equal(normalisePhone('123', '91'), null);
  assert.equal(normaliseEmail(' Jo@Example.COM '), 'jo@example.com');
  assert.equal(normaliseEmail('not-an-email'), null);
  assert.equal(normaliseEmail('a@b'), null);
});
