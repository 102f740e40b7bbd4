/**
 * Delivery of one rendered message for a client: through its own SMTP server
 * (settings from its encrypted secrets) or, when it has none, into the sandbox
 * mail catcher (tenant table `email_sandbox_messages`). Also builds the signed
 * links and the RFC 8058 one-click unsubscribe headers.
 */
import { randomUUID } from 'node:crypto';
import type { AppContext } from '../context.ts';
import type { Db } from '../platform/db/pool.ts';
import type { OutgoingMail, SendResult, SmtpSettings } from '../platform/mail/mailer.ts';
import { readSecrets } from '../tenants/index.ts';
import { createLinkToken, type LinkToken } from './tokens.ts';

export interface Sender {
  /** undefined: sandbox (mail goes to the catcher). */
  smtp?: SmtpSettings;
  /** Address used in From (smtpFrom, or a sandbox address). */
  from: string;
}

const SANDBOX_FROM = 'sandbox@ecodrix.invalid';

/** Reads the client's SMTP settings; no smtpHost means the sandbox. */
export async function loadSender(ctx: AppContext, clientId: string): Promise<Sender> {
  const secrets = await readSecrets(ctx, clientId, ['smtpHost', 'smtpPort', 'smtpUser', 'smtpPass', 'smtpFrom']);
  if (!secrets.smtpHost) return { from: secrets.smtpFrom ?? SANDBOX_FROM };
  const port = Number(secrets.smtpPort ?? 587);
  return {
    smtp: { host: secrets.smtpHost, port: Number.isInteger(port) ? port : 587, user: secrets.smtpUser, pass: secrets.smtpPass },
    from: secrets.smtpFrom ?? secrets.smtpUser ?? SANDBOX_FROM,
  };
}

/** `"Name" <addr>` when a display name is given. */
export function formatFrom(from: string, displayName?: string | null): string {
  if (!displayName) return from;
  const address = /<([^>]+)>/.exec(from)?.[1] ?? from;
  return `"${displayName.replace(/["\\\r\n]/g, '')}" <${address}>`;
}

export function domainOf(from: string): string {
  const address = /<([^>]+)>/.exec(from)?.[1] ?? from;
  return address.split('@')[1]?.trim().toLowerCase() || 'ecodrix.invalid';
}

export function newMessageId(from: string, local: string = randomUUID()): string {
  return `<${local}@${domainOf(from)}>`;
}

export interface TrackingLinks {
  unsubscribeUrl: string;
  openPixelUrl: string;
  trackLink: (url: string) => string;
  headers: Record<string, string>;
}

/** Signed unsubscribe/open/click links and the List-Unsubscribe headers for one recipient. */
export function trackingLinks(ctx: AppContext, base: Omit<LinkToken, 't' | 'u'>): TrackingLinks {
  const root = `${ctx.config.publicUrl}/api/saas/email`;
  const unsubscribeToken = createLinkToken(ctx.keyring, { ...base, t: 'u' });
  const unsubscribeUrl = `${root}/unsubscribe?token=${unsubscribeToken}`;
  const mailto = ctx.config.mail.unsubscribeMailto;
  let listUnsubscribe = `<${unsubscribeUrl}>`;
  if (mailto) {
    const [local, domain] = mailto.split('@');
    listUnsubscribe += `, <mailto:${local}+${unsubscribeToken.slice(-22)}@${domain}?subject=unsubscribe>`;
  }
  return {
    unsubscribeUrl,
    openPixelUrl: `${root}/open?t=${createLinkToken(ctx.keyring, { ...base, t: 'o' })}`,
    trackLink: (url) => `${root}/click?t=${createLinkToken(ctx.keyring, { ...base, t: 'c', u: url })}`,
    headers: { 'List-Unsubscribe': listUnsubscribe, 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' },
  };
}

/** Sends through the client's SMTP pool, or stores in the sandbox catcher. */
export async function deliver(ctx: AppContext, db: Db, clientId: string, sender: Sender, mail: OutgoingMail, meta: { kind: 'campaign' | 'test' | 'transactional'; campaignId?: string }): Promise<SendResult> {
  if (sender.smtp) return ctx.mailer.send(clientId, sender.smtp, mail, ctx.config.mail.concurrency);
  const raw = await ctx.mailer.render(mail);
  await db.query(
    `INSERT INTO email_sandbox_messages (kind, campaign_id, message_id, from_address, to_address, subject, text_body, html, headers, raw)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
    [meta.kind, meta.campaignId ?? null, mail.messageId, mail.from, mail.to, mail.subject, mail.text ?? null, mail.html ?? null, mail.headers ?? {}, raw],
  );
  return { messageId: mail.messageId, response: '250 stored by the sandbox mail catcher' };
}
