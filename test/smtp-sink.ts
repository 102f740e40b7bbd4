/**
 * A real SMTP server on loopback for tests and benchmarks (smtp-server): it
 * speaks STARTTLS (self-signed certificate bundled with smtp-server, so the
 * app runs with SMTP_TLS_VERIFY=false), optionally checks credentials, parses
 * every message with mailparser, and lets a test script per-recipient
 * answers (reject with a code, or hold the reply until released).
 */
import { SMTPServer, type SMTPServerAddress, type SMTPServerSession } from 'smtp-server';
import { simpleParser } from 'mailparser';
import type { AddressInfo } from 'node:net';

export interface ReceivedMail {
  to: string;
  from: string;
  subject: string;
  text: string;
  html: string;
  messageId: string;
  /** Raw header lines, e.g. { key: 'list-unsubscribe', line: 'List-Unsubscribe: <...>' }. */
  headerLines: Array<{ key: string; line: string }>;
  receivedAt: number;
}

export interface SmtpSinkOptions {
  /** Require AUTH with these credentials (otherwise auth is optional). */
  auth?: { user: string; pass: string };
  /** Parse messages (default true; benchmarks turn it off). */
  parse?: boolean;
}

type RcptRule = (address: string) => { code: number; message: string } | undefined;
type DataRule = (address: string) => Promise<{ code: number; message: string } | undefined> | { code: number; message: string } | undefined;

export interface SmtpSink {
  port: number;
  messages: ReceivedMail[];
  /** Count of accepted messages (also when not parsed). */
  accepted: number;
  /** Receive time of each accepted message (ms). */
  acceptedAt: number[];
  /** Answer RCPT TO per address (undefined = accept). */
  onRcpt: RcptRule | undefined;
  /** Decide the reply after DATA per address (may wait; undefined = accept). */
  onData: DataRule | undefined;
  /** Messages whose data arrived (before the reply). */
  dataReceived: number;
  /** Recipient of every message whose data arrived, replied to or not (worst case: all delivered). */
  dataTo: string[];
  /** Credentials accepted now (tests change them). */
  auth?: { user: string; pass: string };
  waitFor(count: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startSmtpSink(options: SmtpSinkOptions = {}): Promise<SmtpSink> {
  const parse = options.parse ?? true;
  const waiters: Array<() => void> = [];
  const sink: SmtpSink = {
    port: 0, messages: [], accepted: 0, acceptedAt: [], onRcpt: undefined, onData: undefined, dataReceived: 0, dataTo: [], auth: options.auth,
    waitFor(count, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`SMTP sink: ${sink.accepted} of ${count} messages after ${timeoutMs} ms`)), timeoutMs);
        const check = () => {
          if (sink.accepted >= count) {
            clearTimeout(timer);
            resolve();
            return true;
          }
          return false;
        };
        if (!check()) waiters.push(() => { if (!check()) waiters.push(() => void check()); });
      });
    },
    close: async () => {},
  };
  const notify = () => {
    const list = waiters.splice(0);
    for (const fn of list) fn();
  };
  const server = new SMTPServer({
    authOptional: !options.auth,
    logger: false,
    disableReverseLookup: true,
    onAuth(auth, _session, callback) {
      if (sink.auth && auth.username === sink.auth.user && auth.password === sink.auth.pass) return callback(null, { user: auth.username });
      const err = new Error('5.7.8 Authentication credentials invalid') as Error & { responseCode: number };
      err.responseCode = 535;
      return callback(err);
    },
    onRcptTo(address: SMTPServerAddress, _session: SMTPServerSession, callback: (err?: Error | null) => void) {
      const rule = sink.onRcpt?.(address.address);
      if (rule) {
        const err = new Error(rule.message) as Error & { responseCode: number };
        err.responseCode = rule.code;
        return callback(err);
      }
      callback();
    },
    onData(stream, session, callback) {
      const to = session.envelope.rcptTo[0]?.address ?? '';
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', async () => {
        sink.dataReceived++;
        sink.dataTo.push(to);
        const rule = await sink.onData?.(to);
        if (rule) {
          const err = new Error(rule.message) as Error & { responseCode: number };
          err.responseCode = rule.code;
          return callback(err);
        }
        sink.accepted++;
        sink.acceptedAt.push(Date.now());
        if (parse) {
          const parsed = await simpleParser(Buffer.concat(chunks));
          sink.messages.push({
            to, from: session.envelope.mailFrom ? (session.envelope.mailFrom as SMTPServerAddress).address : '',
            subject: parsed.subject ?? '', text: parsed.text ?? '', html: typeof parsed.html === 'string' ? parsed.html : '',
            messageId: parsed.messageId ?? '', headerLines: parsed.headerLines as Array<{ key: string; line: string }>, receivedAt: Date.now(),
          });
        }
        try {
          callback();
        } catch {
          // the client is gone (e.g. killed while we held the reply)
        }
        notify();
      });
    },
  });
  server.on('error', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  sink.port = ((server as unknown as { server: { address(): AddressInfo } }).server.address()).port;
  sink.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return sink;
}
