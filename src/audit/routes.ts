/** `GET /api/admin/audit`: who did what, when, from where (admin actions, CLI actions, key rotations). */
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from 'typebox';
import type { AuthHooks } from '../auth/auth-hooks.ts';
import type { AppContext } from '../context.ts';
import { ErrorBodySchema } from '../platform/http/errors.ts';
import { findClientByCode } from '../tenants/clients.repo.ts';
import { listAudit } from './record-audit.ts';

const Query = Type.Object({
  clientCode: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  action: Type.Optional(Type.String({ minLength: 1, maxLength: 64, pattern: '^[a-z0-9._-]+$' })),
  before: Type.Optional(Type.String({ pattern: '^[0-9]{1,19}$', description: 'Cursor: the id of the last entry of the previous page' })),
  limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
});

const Entry = Type.Object({
  id: Type.String(), at: Type.String(), actor: Type.String(), action: Type.String(),
  clientId: Type.Union([Type.String(), Type.Null()]), clientCode: Type.Union([Type.String(), Type.Null()]),
  ip: Type.Union([Type.String(), Type.Null()]), requestId: Type.Union([Type.String(), Type.Null()]),
  details: Type.Record(Type.String(), Type.Unknown()),
});

/** Audit entries newest first, filtered by client code (case-insensitive) and action. */
export async function queryAudit(ctx: AppContext, query: Static<typeof Query>) {
  let clientId: string | undefined;
  if (query.clientCode) {
    const client = await findClientByCode(ctx.controlDb, query.clientCode);
    // A deleted client's entries remain: fall back to the code recorded with them.
    if (client) clientId = client.id;
    else {
      const { rows } = await ctx.controlDb.query<{ client_id: string }>('SELECT client_id FROM audit_log WHERE lower(client_code) = lower($1) AND client_id IS NOT NULL LIMIT 1', [query.clientCode]);
      clientId = rows[0]?.client_id ?? '-1';
    }
  }
  const rows = await listAudit(ctx.controlDb, { clientId, action: query.action, before: query.before, limit: query.limit });
  const items = rows.map((r) => ({ ...r, id: String(r.id), clientId: r.clientId === null ? null : String(r.clientId), at: (r.at as Date).toISOString() }));
  return { items, nextBefore: items.length === query.limit ? items.at(-1)!.id : null };
}

export async function registerAuditRoutes(app: FastifyInstance, ctx: AppContext, auth: AuthHooks): Promise<void> {
  app.get('/api/admin/audit', {
    preHandler: auth.admin,
    schema: {
      tags: ['admin: audit'], summary: 'Audit log: admin and CLI actions (never secret values)', security: [{ adminKey: [] }],
      querystring: Query,
      response: { 200: Type.Object({ items: Type.Array(Entry), nextBefore: Type.Union([Type.String(), Type.Null()]) }), 400: ErrorBodySchema, 401: ErrorBodySchema },
    },
  }, async (request) => queryAudit(ctx, request.query as Static<typeof Query>));
}
