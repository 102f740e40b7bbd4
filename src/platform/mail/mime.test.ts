import assert from 'node:assert/strict';
import { test } from 'node:test';
import { simpleParser } from 'mailparser';
import { buildMime } from './mime.ts';

test('a campaign-shaped message round-trips through a MIME parser: names, subject, both bodies, headers', async () => {
  const html = `<p>Olá Ana, <a href="https://x.test/api/saas/email/click?t=${'a'.repeat(120)}">see the offer</a></p>\n<p>${'long line '.repeat(60)}</p>`;
  const built = buildMime({
    from: '"Clínica Müller" <news@clinic.test>', to: 'ana@example.com', replyTo: 'Desk <desk@clinic.test>',
    subject: 'Olá Ana — an offer with ünïcode in a subject long enough to be folded across lines',
    html, text: 'Olá Ana\n.\n.a line starting with a dot', messageId: '<c7.r42@clinic.test>',
    headers: { 'List-Unsubscribe': `<https://x.test/u?token=${'b'.repeat(150)}>`, 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' },
    date: new Date('2026-11-22T10:00:00Z'),
  });
  assert.deepEqual(built.envelope, { from: 'news@clinic.test', to: ['ana@example.com'] });
  assert.ok(!/[^\r]\n/.test(built.raw), 'CRLF line endings only');
  assert.ok(built.raw.split('\r\n').every((line) => line.length <= 998), 'no line longer than SMTP allows');
  const parsed = await simpleParser(built.raw);
  assert.equal(parsed.subject, 'Olá Ana — an offer with ünïcode in a subject long enough to be folded across lines');
  assert.deepEqual(parsed.from?.value, [{ address: 'news@clinic.test', name: 'Clínica Müller' }]);
  assert.equal(parsed.replyTo?.value[0].address, 'desk@clinic.test');
  assert.equal(parsed.messageId, '<c7.r42@clinic.test>');
  assert.equal(parsed.date?.toISOString(), '2026-11-22T10:00:00.000Z');
  assert.equal(parsed.text, 'Olá Ana\n.\n.a line starting with a dot');
  assert.equal(parsed.html, html);
  const header = (key: string) => parsed.headerLines.find((h) => h.key === key)?.line;
  assert.equal(header('list-unsubscribe-post'), 'List-Unsubscribe-Post: List-Unsubscribe=One-Click');
  assert.equal(header('list-unsubscribe'), `List-Unsubscribe: <https://x.test/u?token=${'b'.repeat(150)}>`, 'sent on one line as given');
});

test('line breaks in a subject, a name or a header value cannot inject headers', async () => {
  const built = buildMime({
    from: 'Evil\r\nBcc: victim@example.com <news@clinic.test>', to: 'ana@example.com',
    subject: 'Hello\r\nBcc: victim@example.com', text: 'hi', messageId: '<m1@clinic.test>',
    headers: { 'X-Campaign': 'a\nBcc: victim@example.com', 'X-Bad\r\nName': 'v' },
  });
  const parsed = await simpleParser(built.raw);
  assert.equal(parsed.bcc, undefined);
  assert.ok(!parsed.headerLines.some((h) => h.key === 'bcc'));
  assert.equal(parsed.subject, 'Hello Bcc: victim@example.com');
  assert.deepEqual(built.envelope.to, ['ana@example.com']);
});

test('a text-only or html-only message is a single part', async () => {
  const text = await simpleParser(buildMime({ from: 'a@b.test', to: 'c@d.test', subject: 'Plain', text: 'only text\nline 2', messageId: '<t@b.test>' }).raw);
  assert.equal(text.text, 'only text\nline 2');
  assert.equal(text.html, false);
  assert.equal(text.headerLines.find((h) => h.key === 'content-type')?.line, 'Content-Type: text/plain; charset=utf-8');
  const html = await simpleParser(buildMime({ from: 'a@b.test', to: 'c@d.test', subject: 'Html', html: '<b>bold ü</b>', messageId: '<h@b.test>' }).raw);
  assert.equal(html.html, '<b>bold ü</b>');
});
