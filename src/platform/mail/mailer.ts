/**
 * The only code that talks SMTP. One pooled nodemailer transport per client,
 * cached by a hash of its settings, rebuilt when they change and closed when
 * idle. Port 465 = implicit TLS; any other port = STARTTLS, required (credentials
 * never travel in clear text). Every connection goes to an address checked by
 * the SSRF policy. `maxRequeues: 0`: a message whose connection died is failed,
 * never silently re-sent by the pool (the caller decides; see campaigns).
 */
import { createHash } from 'node:crypto';
import nodemailer from 'nodemailer';
import type { Transporter } from 'nodemailer';
import type { Logger } from '../logger.ts';
import { buildMime } from './mime.ts';
import { SmtpAddressPolicy, type SmtpDestination } from './smtp-destination.ts';

export interface SmtpSettings {
  host: string;
  port: number;
  user?: string;
  pass?: string;
}

export interface OutgoingMail {
  from: string;
  to: string;
  subject: string;
  html?: string;
  text?: string;
  replyTo?: string;
  /** Full Message-ID including angle brackets, chosen (and recorded) by the caller. */
  messageId: string;
  /** Extra headers; values are sent as given on one line (no folding). */
  headers?: Record<string, string>;
}

export interface SendResult {
  messageId: string;
  response: string;
}

export interface MailerOptions {
  policy: SmtpAddressPolicy;
  tlsVerify: boolean;
  connectTimeoutMs: number;
  socketTimeoutMs: number;
  idleMs: number;
  logger: Pick<Logger, 'info' | 'warn'>;
}

interface CachedTransport {
  transporter: Transporter;
  hash: string;
  lastUsed: number;
  destination: SmtpDestination;
}

export class Mailer {
  private readonly options: MailerOptions;
  private readonly cache = new Map<string, Promise<CachedTransport>>();
  private readonly sweeper: NodeJS.Timeout;
  private closed = false;

  constructor(options: MailerOptions) {
    this.options = options;
    this.sweeper = setInterval(() => this.closeIdle(), Math.min(options.idleMs, 30_000));
    this.sweeper.unref();
  }

  private transportOptions(settings: SmtpSettings, destination: SmtpDestination, extra: Record<string, unknown>) {
    const secure = settings.port === 465;
    return {
      host: destination.address,
      port: destination.port,
      secure,
      requireTLS: !secure,
      tls: { servername: destination.servername, rejectUnauthorized: this.options.tlsVerify, minVersion: 'TLSv1.2' as const },
      auth: settings.user ? { user: settings.user, pass: settings.pass ?? '' } : undefined,
      connectionTimeout: this.options.connectTimeoutMs,
      greetingTimeout: this.options.connectTimeoutMs,
      socketTimeout: this.options.socketTimeoutMs,
      dnsTimeout: this.options.connectTimeoutMs,
      ...extra,
    };
  }

  private async transport(key: string, settings: SmtpSettings, maxConnections: number): Promise<CachedTransport> {
    if (this.closed) throw new Error('mailer is closed');
    const hash = createHash('sha256').update(JSON.stringify([settings.host, settings.port, settings.user, settings.pass, maxConnections])).digest('hex');
    const existing = this.cache.get(key);
    if (existing) {
      const entry = await existing.catch(() => undefined);
      if (entry && entry.hash === hash) {
        entry.lastUsed = Date.now();
        return entry;
      }
      if (this.cache.get(key) === existing) this.cache.delete(key);
      entry?.transporter.close();
    }
    const created = (async () => {
      const destination = await this.options.policy.resolve(settings.host, settings.port);
      const transporter = nodemailer.createTransport(this.transportOptions(settings, destination, {
        pool: true, maxConnections, maxMessages: 1000, maxRequeues: 0,
      }) as Parameters<typeof nodemailer.createTransport>[0]);
      return { transporter, hash, lastUsed: Date.now(), destination };
    })();
    this.cache.set(key, created);
    created.catch(() => {
      if (this.cache.get(key) === created) this.cache.delete(key);
    });
    return created;
  }

  /**
   * Sends one message through the pooled transport of `key` (the client id).
   * Rejects with nodemailer's error (`code`, `responseCode`, `command`); see classifySmtpError.
   */
  async send(key: string, settings: SmtpSettings, mail: OutgoingMail, maxConnections = 5): Promise<SendResult> {
    const entry = await this.transport(key, settings, maxConnections);
    // The message is built by our lean composer and handed over as finished bytes (see mime.ts).
    const info = await entry.transporter.sendMail(buildMime(mail));
    entry.lastUsed = Date.now();
    return { messageId: mail.messageId, response: String(info.response ?? '') };
  }

  /** Builds the raw RFC 5322 message without sending it (the sandbox mail catcher stores it). */
  async render(mail: OutgoingMail): Promise<string> {
    return buildMime(mail).raw.replace(/\r\n/g, '\n');
  }

  /**
   * Connects, negotiates TLS and authenticates with `settings` without sending
   * anything, and says in words what failed.
   */
  async verify(settings: SmtpSettings): Promise<VerifyResult> {
    let destination: SmtpDestination;
    try {
      destination = await this.options.policy.resolve(settings.host, settings.port);
    } catch (err) {
      return describeVerifyFailure(err, settings);
    }
    const transporter = nodemailer.createTransport(this.transportOptions(settings, destination, {}) as Parameters<typeof nodemailer.createTransport>[0]);
    try {
      await transporter.verify();
      return { ok: true, stage: 'done', message: `Connected to ${settings.host}:${settings.port} (${settings.port === 465 ? 'implicit TLS' : 'STARTTLS'})${settings.user ? ' and authenticated' : ''}` };
    } catch (err) {
      return describeVerifyFailure(err, settings);
    } finally {
      transporter.close();
    }
  }

  /** Closes pools that have been idle longer than the idle timeout. */
  closeIdle(now = Date.now()): void {
    for (const [key, pending] of this.cache) {
      void pending.then((entry) => {
        if (now - entry.lastUsed >= this.options.idleMs && entry.transporter.isIdle() && this.cache.get(key) === pending) {
          this.cache.delete(key);
          entry.transporter.close();
        }
      }, () => {});
    }
  }

  /** Forgets a client's pool (settings changed or the server refused our credentials). */
  async evict(key: string): Promise<void> {
    const pending = this.cache.get(key);
    this.cache.delete(key);
    const entry = await pending?.catch(() => undefined);
    entry?.transporter.close();
  }

  get openPools(): number {
    return this.cache.size;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.sweeper);
    const entries = [...this.cache.values()];
    this.cache.clear();
    for (const pending of entries) (await pending.catch(() => undefined))?.transporter.close();
  }
}


export interface VerifyResult {
  ok: boolean;
  /** Where it stopped: `policy`, `resolve`, `connect`, `tls`, `auth`, or `done`. */
  stage: 'policy' | 'resolve' | 'connect' | 'tls' | 'auth' | 'done';
  message: string;
  code?: string;
}

function describeVerifyFailure(err: unknown, settings: SmtpSettings): VerifyResult {
  const e = err as { code?: string; message?: string; responseCode?: number; response?: string };
  const code = e.code ?? 'ERROR';
  const text = e.message ?? String(err);
  const where = `${settings.host}:${settings.port}`;
  if (code === 'EBLOCKED') return { ok: false, stage: 'policy', code, message: text };
  if (code === 'EDNS') return { ok: false, stage: 'resolve', code, message: `The SMTP host ${settings.host} could not be resolved` };
  if (code === 'EAUTH' || code === 'ENOAUTH') {
    return { ok: false, stage: 'auth', code, message: `${where} refused the username or password${e.response ? ` (${e.response})` : ''}` };
  }
  if (code === 'ETLS' || code === 'EREQUIRETLS' || /tls|ssl|certificate|self.signed|wrong version number|CERT_/i.test(text)) {
    const hint = settings.port === 465 ? 'port 465 expects implicit TLS' : 'this port expects STARTTLS';
    return { ok: false, stage: 'tls', code, message: `TLS with ${where} failed (${hint}): ${text}` };
  }
  if (/greeting never received|timeout/i.test(text) || code === 'ETIMEDOUT') {
    return { ok: false, stage: 'connect', code, message: `${where} did not answer in time (wrong port or TLS mode, or a firewall)` };
  }
  return { ok: false, stage: 'connect', code, message: `Could not connect to ${where}: ${text}` };
}

/** What a failed send means for the recipient and the sender (reference/email-campaigns.md §3). */
export type SmtpFailureKind =
  /** 4xx or a connection failure before the message was handed over: retry later. */
  | 'transient'
  /** The connection failed after the message data may have been accepted: do not resend blindly. */
  | 'uncertain'
  /** 5xx 5.1.x etc.: the address does not exist; suppress it. */
  | 'bad_address'
  /** 5xx about content/policy: fail this message, keep the contact. */
  | 'policy'
  /** Credentials or TLS refused: pause the campaign, the settings are broken. */
  | 'auth'
  /** Provider sending limit reached: pause the client's sending until the window resets. */
  | 'quota';

export interface SmtpFailure {
  kind: SmtpFailureKind;
  code: string;
  responseCode?: number;
  /** Server reply or error text, for people. */
  reason: string;
}

/** Classifies a nodemailer error (reply code first, refined by the enhanced status code). */
export function classifySmtpError(err: unknown): SmtpFailure {
  const e = err as { code?: string; responseCode?: number; response?: string; command?: string; message?: string };
  const code = e.code ?? 'ERROR';
  const reply = e.response ?? e.message ?? String(err);
  const rc = typeof e.responseCode === 'number' ? e.responseCode : undefined;
  const enhanced = /\b([245])\.(\d{1,3})\.(\d{1,3})\b/.exec(reply)?.[0];
  const base = { code, responseCode: rc, reason: reply.slice(0, 500) };
  if (code === 'EAUTH' || code === 'ENOAUTH' || code === 'ETLS' || code === 'EREQUIRETLS' || code === 'EBLOCKED' || rc === 535 || rc === 530) return { kind: 'auth', ...base };
  if (enhanced === '5.4.5' || /quota|daily (user )?sending limit|limit exceeded|too many messages/i.test(reply) && rc !== undefined && rc >= 450) return { kind: 'quota', ...base };
  if (rc === undefined) {
    // No reply: the connection failed. Only failures before a session existed are safe to retry;
    // a connection that dropped mid-session may have delivered the message (at most once wins).
    if (/certificate|self.signed|CERT_|wrong version number/i.test(reply)) return { kind: 'auth', ...base };
    if (code === 'EDNS' || /ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN|greeting never received|connection timeout|pool was closed/i.test(reply)) return { kind: 'transient', ...base };
    return { kind: 'uncertain', ...base };
  }
  if (rc >= 400 && rc < 500) return { kind: 'transient', ...base };
  if (enhanced?.startsWith('5.7.') || enhanced === '5.3.4') return { kind: 'policy', ...base };
  if (enhanced?.startsWith('5.1.') || ((rc === 550 || rc === 551 || rc === 553) && (e.command === 'RCPT TO' || code === 'EENVELOPE') && !enhanced)) return { kind: 'bad_address', ...base };
  if (enhanced === '5.2.1' || enhanced === '5.2.2') return { kind: 'transient', ...base };
  return { kind: 'policy', ...base };
}
