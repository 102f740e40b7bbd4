/**
 * One-click unsubscribe (RFC 8058): a signed token names client, address and
 * campaign; POST adds the address to the client's suppression list and marks
 * pending campaign rows `unsubscribed` (idempotent). GET only shows a page.
 */
import type { AppContext } from '../context.ts';
import { tenantDbById } from '../tenants/index.ts';
import { readLinkToken, type LinkToken } from './tokens.ts';
import { addSuppression } from './suppressions.repo.ts';

export function readUnsubscribeToken(ctx: AppContext, token: string | undefined): LinkToken | undefined {
  return token ? readLinkToken(ctx.keyring, token, 'u') : undefined;
}

export async function unsubscribe(ctx: AppContext, token: LinkToken): Promise<{ email: string; alreadySuppressed: boolean }> {
  const db = await tenantDbById(ctx, token.c);
  const added = await addSuppression(db, token.e, 'unsubscribed', token.k ? `campaign:${token.k}` : 'email');
  await db.query(
    `UPDATE email_recipients SET status = CASE WHEN status IN ('queued', 'deferred') THEN 'unsubscribed' ELSE status END,
            unsubscribed_at = CASE WHEN ($2::bigint IS NOT NULL AND id = $2) OR status IN ('queued', 'deferred') THEN coalesce(unsubscribed_at, now()) ELSE unsubscribed_at END,
            updated_at = now()
      WHERE email = $1 AND (status IN ('queued', 'deferred') OR id = $2)`,
    [token.e, token.r ?? null],
  );
  ctx.logger.info({ clientId: token.c, campaignId: token.k }, 'email address unsubscribed');
  return { email: token.e, alreadySuppressed: !added };
}

export function maskEmail(email: string): string {
  const [local, domain] = email.split('@');
  return `${local.slice(0, 2)}${'•'.repeat(Math.max(1, local.length - 2))}@${domain}`;
}

function escape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function unsubscribePage(state: 'confirm' | 'done' | 'invalid', email?: string, token?: string): string {
  const body = state === 'confirm'
    ? `<h1>Unsubscribe</h1><p>Stop all emails to <b>${escape(maskEmail(email!))}</b>?</p>
       <form method="post" action="?token=${escape(token!)}"><input type="hidden" name="List-Unsubscribe" value="One-Click"><button type="submit">Unsubscribe</button></form>`
    : state === 'done'
      ? `<h1>You are unsubscribed</h1><p><b>${escape(maskEmail(email!))}</b> will not receive these emails any more.</p>`
      : '<h1>Link not valid</h1><p>This unsubscribe link is incomplete or was changed. Use the link in the email you received.</p>';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><meta name="robots" content="noindex"><title>Unsubscribe</title></head><body style="font-family:sans-serif;max-width:32rem;margin:3rem auto">${body}</body></html>`;
}
