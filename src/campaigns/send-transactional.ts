/**
 * One transactional email (automation `send_email`): to an explicit address or
 * the contact with the trigger's phone; honours the suppression list, the
 * client's pace/daily cap and quota pause; at most once per idempotency key
 * (the key's row is claimed before the SMTP call; a row left `sending` by a
 * crash is reported, not re-sent).
 */
import type { AppContext } from '../context.ts';
import { withTransaction } from '../platform/db/pool.ts';
import { AppError } from '../platform/errors.ts';
import { classifySmtpError } from '../platform/mail/mailer.ts';
import { tenantDbById } from '../tenants/index.ts';
import { deliver, loadSender, newMessageId, trackingLinks } from './deliver.ts';
import { contactVars } from './recipients.repo.ts';
import { renderTemplate, escapeHtml, htmlToText } from './render.ts';
import { commitSlots, planSlots } from './send-quota.ts';
import { addSuppression, findSuppression, normaliseEmail } from './suppressions.repo.ts';

export interface SendTransactionalInput {
  clientId: string;
  to?: string;
  /** Digits; used to find the contact (and its email) when `to` is absent. */
  phone?: string;
  subject: string;
  html?: string;
  text?: string;
  /** Extra template values (e.g. outputs of earlier automation steps). */
  vars?: Record<string, string>;
  idempotencyKey: string;
}

export interface SendTransactionalResult {
  status: 'sent' | 'suppressed' | 'duplicate';
  to: string;
  messageId: string | null;
}

export async function sendTransactionalEmail(ctx: AppContext, input: SendTransactionalInput): Promise<SendTransactionalResult> {
  const db = await tenantDbById(ctx, input.clientId);
  let vars: Record<string, unknown> = {};
  let to = input.to ? normaliseEmail(input.to) : undefined;
  if (input.phone) {
    const { rows } = await db.query<{ id: string }>("SELECT id FROM contacts WHERE phone = $1 ORDER BY (email IS NOT NULL) DESC, created_at LIMIT 1", [input.phone.replace(/\D/g, '')]);
    const member = rows[0] ? await contactVars(db, rows[0].id) : undefined;
    if (member) {
      vars = member.vars;
      to ??= member.email ?? undefined;
    }
  }
  if (!to || !/^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$/.test(to)) throw new AppError('UNPROCESSABLE', { message: 'send_email needs a valid "to" address or a contact with an email for the trigger phone' });
  vars = { ...vars, ...input.vars, email: to };

  const existing = await db.query<{ status: string; message_id: string | null }>('SELECT status, message_id FROM email_transactional_sends WHERE idempotency_key = $1', [input.idempotencyKey]);
  if (existing.rows[0]) return { status: 'duplicate', to, messageId: existing.rows[0].message_id };
  if (await findSuppression(db, to)) {
    await db.query("INSERT INTO email_transactional_sends (idempotency_key, email, status) VALUES ($1, $2, 'suppressed') ON CONFLICT DO NOTHING", [input.idempotencyKey, to]);
    return { status: 'suppressed', to, messageId: null };
  }
  const sender = await loadSender(ctx, input.clientId);
  const messageId = newMessageId(sender.from);
  // Claim the key and one pace slot together, before any SMTP traffic.
  const claim = await withTransaction(db, async (tx) => {
    const plan = await planSlots(tx, 1, { perSecond: ctx.config.mail.ratePerSecond, perDay: ctx.config.mail.ratePerDay }, 60_000);
    if (plan.count === 0) return { blocked: plan.waitReason };
    const inserted = await tx.query("INSERT INTO email_transactional_sends (idempotency_key, email, status, message_id) VALUES ($1, $2, 'sending', $3) ON CONFLICT DO NOTHING", [input.idempotencyKey, to, messageId]);
    if (!inserted.rowCount) return { duplicate: true };
    const [slot] = await commitSlots(tx, plan, 1);
    return { slot };
  });
  if (claim.duplicate) return { status: 'duplicate', to, messageId: null };
  if (claim.blocked) {
    throw new AppError('RATE_LIMITED', { message: claim.blocked === 'daily_cap' ? 'The daily email limit of this client is reached' : 'Email sending of this client is paused (provider limit reached)', retryAfterSeconds: 3600 });
  }
  if (claim.slot! > Date.now()) await new Promise((r) => setTimeout(r, claim.slot! - Date.now()));

  const links = trackingLinks(ctx, { c: input.clientId, e: to });
  const all = { ...vars, unsubscribeUrl: links.unsubscribeUrl };
  const html = input.html ? renderTemplate(input.html, { ...all, unsubscribeUrl: escapeHtml(links.unsubscribeUrl) }, true) : undefined;
  const text = input.text ? renderTemplate(input.text, all, false) : html ? htmlToText(html) : '';
  try {
    await deliver(ctx, db, input.clientId, sender, {
      from: sender.from, to, subject: renderTemplate(input.subject, all, false).replace(/[\r\n]+/g, ' '), html, text, messageId, headers: links.headers,
    }, { kind: 'transactional' });
  } catch (err) {
    const failure = classifySmtpError(err);
    // Only failures where the server surely did not take the message release the key for a retry.
    const retryable = failure.kind === 'transient' || failure.kind === 'auth' || failure.kind === 'quota';
    if (failure.kind === 'bad_address') await addSuppression(db, to, 'hard_bounce', 'transactional');
    if (retryable) await db.query('DELETE FROM email_transactional_sends WHERE idempotency_key = $1', [input.idempotencyKey]);
    else await db.query("UPDATE email_transactional_sends SET status = $2, error = $3, updated_at = now() WHERE idempotency_key = $1", [input.idempotencyKey, failure.kind === 'uncertain' ? 'unknown' : 'failed', failure.reason]);
    throw new AppError('EMAIL_SEND_FAILED', { message: `Email to ${to} failed (${failure.code}): ${failure.reason}`, cause: err });
  }
  await db.query("UPDATE email_transactional_sends SET status = 'sent', updated_at = now() WHERE idempotency_key = $1", [input.idempotencyKey]);
  return { status: 'sent', to, messageId };
}
