/**
 * A lean RFC 5322 / MIME builder for the messages we send (one recipient, a
 * text and/or an HTML body, a few headers; no attachments). nodemailer's
 * general composer costs ~4× more CPU per message than handing it the finished
 * bytes as `raw`, which bounded campaign throughput (see README figures); the
 * encoding helpers (encoded words, quoted-printable, folding) are nodemailer's own.
 */
import { randomBytes } from 'node:crypto';
import addressparser from 'nodemailer/lib/addressparser';
import { encodeWords, foldLines, isPlainText } from 'nodemailer/lib/mime-funcs';
import { encode as qpEncode, wrap as qpWrap } from 'nodemailer/lib/qp';
import type { OutgoingMail } from './mailer.ts';

/** What the mailer sends, plus an optional Date header value (tests). */
export type MimeInput = OutgoingMail & { date?: Date };

export interface BuiltMime {
  /** SMTP envelope: bare addresses. */
  envelope: { from: string; to: string[] };
  raw: string;
}

const CRLF = '\r\n';
/** Boundaries: an unguessable random prefix per process plus a counter (cheaper than random bytes per message). */
const boundaryPrefix = `--_ecx_${randomBytes(9).toString('hex')}_`;
let boundaryCounter = 0;

/** Header values never carry line breaks (header injection through a subject or a name). */
function oneLine(value: string): string {
  return value.replace(/[\r\n]+/g, ' ');
}

function unstructured(name: string, value: string): string {
  const v = oneLine(value);
  return foldLines(`${name}: ${isPlainText(v) ? v : encodeWords(v, 'Q', 52)}`, 76);
}

/** `Name <addr>` with the name quoted or encoded as needed; the bare address for the envelope. */
function address(value: string): { header: string; address: string } {
  const parsed = addressparser(oneLine(value))[0] as { address?: string; name?: string } | undefined;
  const addr = parsed?.address?.trim() || oneLine(value).trim();
  const name = parsed?.name?.trim();
  if (!name) return { header: addr, address: addr };
  const shown = isPlainText(name) ? `"${name.replace(/["\\]/g, '\\$&')}"` : encodeWords(name, 'Q', 52, true);
  return { header: `${shown} <${addr}>`, address: addr };
}

function rfc2822Date(date: Date): string {
  return date.toUTCString().replace(/GMT$/, '+0000');
}

function part(contentType: string, body: string): string {
  return `Content-Type: ${contentType}; charset=utf-8${CRLF}Content-Transfer-Encoding: quoted-printable${CRLF}${CRLF}${qpWrap(qpEncode(body), 76)}`;
}

export function buildMime(mail: MimeInput): BuiltMime {
  const from = address(mail.from);
  const to = address(mail.to);
  const lines = [
    foldLines(`From: ${from.header}`, 76),
    foldLines(`To: ${to.header}`, 76),
  ];
  if (mail.replyTo) lines.push(foldLines(`Reply-To: ${address(mail.replyTo).header}`, 76));
  lines.push(unstructured('Subject', mail.subject));
  lines.push(`Message-ID: ${oneLine(mail.messageId)}`, `Date: ${rfc2822Date(mail.date ?? new Date())}`, 'MIME-Version: 1.0');
  for (const [name, value] of Object.entries(mail.headers ?? {})) lines.push(`${name.replace(/[^\x21-\x39\x3b-\x7e]/g, '')}: ${oneLine(value)}`);

  const text = mail.text ?? '';
  let body: string;
  if (mail.html && text) {
    const boundary = `${boundaryPrefix}${(boundaryCounter++).toString(36)}`;
    lines.push(`Content-Type: multipart/alternative; boundary="${boundary}"`);
    body = `${CRLF}--${boundary}${CRLF}${part('text/plain', text)}${CRLF}--${boundary}${CRLF}${part('text/html', mail.html)}${CRLF}--${boundary}--${CRLF}`;
  } else {
    const [type, content] = mail.html ? ['text/html', mail.html] : ['text/plain', text];
    lines.push(`Content-Type: ${type}; charset=utf-8`, 'Content-Transfer-Encoding: quoted-printable');
    body = `${CRLF}${qpWrap(qpEncode(content), 76)}`;
  }
  // SMTP wants CRLF everywhere: bodies arrive with bare LFs, and the encoders fold with LF.
  return { envelope: { from: from.address, to: [to.address] }, raw: `${lines.join(CRLF)}${CRLF}${body}`.replace(/\r?\n/g, CRLF) };
}
