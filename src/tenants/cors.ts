/**
 * Per-client browser origins. Origins are normalised to scheme://host[:port];
 * paths, wildcards, credentials and non-http(s) schemes are refused.
 */
import type { AppContext } from '../context.ts';
import { AppError } from '../platform/errors.ts';

/** Normalises a URL to its origin, or throws VALIDATION_FAILED saying why. */
export function normaliseOrigin(input: string): string {
  if (input.includes('*')) throw new AppError('VALIDATION_FAILED', { message: 'Wildcard origins are not allowed' });
  let url: URL;
  try {
    url = new URL(input.trim());
  } catch {
    throw new AppError('VALIDATION_FAILED', { message: 'url must be an absolute http(s) URL such as https://example.com' });
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new AppError('VALIDATION_FAILED', { message: 'Only http and https origins are allowed' });
  if (url.username || url.password) throw new AppError('VALIDATION_FAILED', { message: 'Origins cannot contain credentials' });
  if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash) {
    throw new AppError('VALIDATION_FAILED', { message: 'An origin has no path, query or fragment (use https://example.com)' });
  }
  return url.origin;
}

export async function addCorsOrigin(ctx: AppContext, clientId: string, url: string) {
  const origin = normaliseOrigin(url);
  await ctx.controlDb.query('INSERT INTO cors_origins (client_id, origin) VALUES ($1, $2) ON CONFLICT DO NOTHING', [clientId, origin]);
  return { origin };
}

export async function listCorsOrigins(ctx: AppContext, clientId: string): Promise<string[]> {
  const { rows } = await ctx.controlDb.query<{ origin: string }>('SELECT origin FROM cors_origins WHERE client_id = $1 ORDER BY origin', [clientId]);
  return rows.map((r) => r.origin);
}

export async function removeCorsOrigin(ctx: AppContext, clientId: string, url: string): Promise<boolean> {
  const origin = normaliseOrigin(url);
  const { rowCount } = await ctx.controlDb.query('DELETE FROM cors_origins WHERE client_id = $1 AND origin = $2', [clientId, origin]);
  return (rowCount ?? 0) > 0;
}

/** True when any client registered this origin (answers preflights, which carry no client code). */
export async function isKnownOrigin(ctx: AppContext, origin: string): Promise<boolean> {
  const { rowCount } = await ctx.controlDb.query('SELECT 1 FROM cors_origins WHERE origin = $1 LIMIT 1', [origin]);
  return (rowCount ?? 0) > 0;
}

/** True when this client registered this origin. */
export async function isClientOrigin(ctx: AppContext, clientId: string, origin: string): Promise<boolean> {
  const { rowCount } = await ctx.controlDb.query('SELECT 1 FROM cors_origins WHERE client_id = $1 AND origin = $2', [clientId, origin]);
  return (rowCount ?? 0) > 0;
}
