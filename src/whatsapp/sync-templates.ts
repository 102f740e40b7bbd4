/**
 * Template sync: pages through every template of the client's WABA (all
 * statuses), upserts them with their parameter counts, and marks the ones Meta
 * no longer lists as deleted. Run on demand, daily, and after a template status
 * webhook or a 132001/132015/132016 send error.
 */
import type { AppContext } from '../context.ts';
import { withTransaction } from '../platform/db/pool.ts';
import { AppError } from '../platform/errors.ts';
import { tenantDbById } from '../tenants/index.ts';
import { GraphError, listGraphTemplates, resolveGraphTarget, toAppError, type GraphTemplate } from './graph-client.ts';
import { parameterCounts } from './template-rules.ts';
import { markMissingDeleted, upsertTemplate } from './templates.repo.ts';

const MAX_PAGES = 200;

export async function syncTemplates(ctx: AppContext, clientId: string): Promise<{ synced: number; deleted: number; pages: number }> {
  const target = await resolveGraphTarget(ctx, clientId);
  const all: GraphTemplate[] = [];
  let after: string | undefined;
  let pages = 0;
  try {
    for (;;) {
      const page = await listGraphTemplates(ctx, target, after);
      pages++;
      all.push(...page.data);
      if (!page.hasNext || !page.after || page.after === after) break;
      if (pages >= MAX_PAGES) throw new AppError('UPSTREAM_UNAVAILABLE', { message: `Template list did not end after ${MAX_PAGES} pages` });
      after = page.after;
    }
  } catch (err) {
    if (err instanceof GraphError) throw toAppError(err);
    throw err;
  }
  const db = await tenantDbById(ctx, clientId);
  const syncedAt = new Date();
  const deleted = await withTransaction(db, async (tx) => {
    for (const t of all) {
      if (typeof t.name !== 'string' || typeof t.language !== 'string') continue;
      await upsertTemplate(tx, { ...t, status: String(t.status ?? 'UNKNOWN') }, parameterCounts(t.components ?? []), syncedAt);
    }
    return markMissingDeleted(tx, syncedAt);
  });
  ctx.logger.info({ client: clientId, synced: all.length, deleted, pages }, 'WhatsApp templates synced');
  return { synced: all.length, deleted, pages };
}
