/** Admin use cases on an existing client: show, list, rotate key, delete. */
import type { AppContext } from '../context.ts';
import { recordAudit } from '../audit/record-audit.ts';
import { generateApiKey, hashApiKey, keyHint } from '../platform/crypto/api-keys.ts';
import { withTransaction } from '../platform/db/pool.ts';
import { AppError } from '../platform/errors.ts';
import { deleteClientRow, findClientByCode, listClientRows, updateApiKey, type ClientAuthRow } from './clients.repo.ts';
import { describeDatasource } from './datasource.ts';
import { runOffboarding } from './offboarding.ts';
import { presentClient } from './present-client.ts';
import { describeSecrets } from './secrets.ts';

export interface Actor { actor: string; ip?: string; requestId?: string }

/** The client with this code (case-insensitive) or CLIENT_NOT_FOUND. */
export async function requireClient(ctx: Pick<AppContext, 'controlDb'>, code: string): Promise<ClientAuthRow> {
  const row = await findClientByCode(ctx.controlDb, code);
  if (!row) throw new AppError('CLIENT_NOT_FOUND', { message: 'ClientCode not found' });
  return row;
}

export async function showClient(ctx: AppContext, code: string) {
  const row = await requireClient(ctx, code);
  const [secrets, datasource] = await Promise.all([describeSecrets(ctx.controlDb, row.id), describeDatasource(ctx, row.id)]);
  return { ...presentClient(row), secrets, datasource };
}

export async function listClients(ctx: AppContext, options: { limit: number; cursor?: string }) {
  const rows = await listClientRows(ctx.controlDb, { limit: options.limit + 1, after: options.cursor });
  const page = rows.slice(0, options.limit);
  return { items: page.map(presentClient), nextCursor: rows.length > options.limit ? String(page.at(-1)!.id) : null };
}

/** Issues a new API key; the old one stops working at once. */
export async function rotateClientKey(ctx: AppContext, code: string, actor: Actor) {
  const row = await requireClient(ctx, code);
  const apiKey = generateApiKey();
  await withTransaction(ctx.controlDb, async (tx) => {
    await updateApiKey(tx, row.id, hashApiKey(apiKey), keyHint(apiKey));
    await recordAudit(tx, { ...actor, action: 'client.rotate-key', clientId: row.id, clientCode: row.code });
  });
  return { clientCode: row.code, apiKey, apiKeyHint: keyHint(apiKey) };
}

/**
 * Offboards a client: what it holds elsewhere is released first (its Google grant is revoked;
 * see src/offboarding.ts), then the control rows go; the tenant database is left in place.
 * A failed release never blocks the deletion; it is logged, audited and returned in `offboarding`.
 */
export async function deleteClient(ctx: AppContext, code: string, actor: Actor) {
  const row = await requireClient(ctx, code);
  // Loaded lazily: the steps live in domains that import this one.
  const { offboardingSteps } = await import('../offboarding.ts');
  const offboarding = await runOffboarding(ctx, { id: row.id, code: row.code }, offboardingSteps);
  await withTransaction(ctx.controlDb, async (tx) => {
    await deleteClientRow(tx, row.id);
    await recordAudit(tx, { ...actor, action: 'client.delete', clientId: row.id, clientCode: row.code, details: { offboarding } });
  });
  await ctx.tenantPools.evict(row.id);
  return { clientCode: row.code, deleted: true, tenantDatabaseDropped: false, offboarding };
}
