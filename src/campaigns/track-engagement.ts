/** Open pixel and click redirects; signed tokens, so there is no open redirect. */
import type { AppContext } from '../context.ts';
import { tenantDbById } from '../tenants/index.ts';
import { readLinkToken } from './tokens.ts';

export const PIXEL_GIF = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');

/** Records an open (approximate: privacy proxies preload images). Invalid tokens are ignored. */
export async function recordOpen(ctx: AppContext, token: string): Promise<void> {
  const t = readLinkToken(ctx.keyring, token, 'o');
  if (!t?.r) return;
  const db = await tenantDbById(ctx, t.c);
  await db.query('UPDATE email_recipients SET opened_at = coalesce(opened_at, now()), open_count = open_count + 1 WHERE id = $1 AND email = $2', [t.r, t.e]);
}

/** @returns the signed target URL, or undefined for an invalid token */
export async function recordClick(ctx: AppContext, token: string): Promise<string | undefined> {
  const t = readLinkToken(ctx.keyring, token, 'c');
  if (!t?.u || !/^https?:\/\//i.test(t.u)) return undefined;
  if (t.r) {
    const db = await tenantDbById(ctx, t.c);
    await db.query(
      'UPDATE email_recipients SET clicked_at = coalesce(clicked_at, now()), click_count = click_count + 1, opened_at = coalesce(opened_at, now()) WHERE id = $1 AND email = $2',
      [t.r, t.e],
    );
  }
  return t.u;
}
