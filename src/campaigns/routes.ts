/**
 * Email routes: SMTP verify, campaigns (CRUD, preview, test send, schedule,
 * pause/resume/cancel, recipients), suppressions, the public unsubscribe /
 * open / click endpoints (signed tokens, no auth headers) and the sandbox mail
 * catcher.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { AuthHooks } from '../auth/auth-hooks.ts';
import type { AppContext } from '../context.ts';
import { AppError } from '../platform/errors.ts';
import { ErrorBodySchema } from '../platform/http/errors.ts';
import { listCampaigns } from './campaigns.repo.ts';
import { cancelCampaign, pauseCampaign, resumeCampaign, scheduleCampaign } from './control-campaign.ts';
import { createCampaign, editCampaign, requireCampaign } from './create-campaign.ts';
import { presentCampaign, presentRecipient } from './present.ts';
import { previewCampaign, testSendCampaign } from './preview-campaign.ts';
import { countRecipients, listRecipients } from './recipients.repo.ts';
import { listSandboxMail } from './sandbox-mail.ts';
import {
  CampaignParams, CreateCampaignBody, EditCampaignBody, ListQuery, PreviewQuery, RecipientsQuery, ScheduleBody, SuppressionBody, TestSendBody,
} from './schema.ts';
import { readClientPause } from './send-quota.ts';
import { addSuppression, listSuppressions } from './suppressions.repo.ts';
import { PIXEL_GIF, recordClick, recordOpen } from './track-engagement.ts';
import { readUnsubscribeToken, unsubscribe, unsubscribePage } from './unsubscribe.ts';
import { verifySmtp } from './verify-smtp.ts';

const tags = { tags: ['email'], security: [{ apiKey: [], clientCode: [] }] };
const errors = { 400: ErrorBodySchema, 401: ErrorBodySchema, 404: ErrorBodySchema, 409: ErrorBodySchema, 422: ErrorBodySchema, 429: ErrorBodySchema };

function encodeCursor(parts: string[]): string {
  return Buffer.from(parts.join('|')).toString('base64url');
}
function decodeCursor(cursor: string | undefined): string[] | undefined {
  if (!cursor) return undefined;
  const parts = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  if (parts.length !== 2 || Number.isNaN(Date.parse(parts[0]))) throw new AppError('BAD_REQUEST', { message: 'Invalid cursor' });
  return parts;
}

export async function registerCampaignRoutes(app: FastifyInstance, ctx: AppContext, auth: AuthHooks): Promise<void> {
  const tenant = async (request: FastifyRequest) => ({ clientId: request.client!.id, db: await request.tenantDb() });
  const id = (request: FastifyRequest) => (request.params as { id: string }).id;

  app.post('/api/saas/email/verify', {
    preHandler: auth.tenant,
    schema: { ...tags, summary: 'Test the stored SMTP settings (connect, TLS, auth) and report what failed', response: { ...errors } },
  }, async (request) => verifySmtp(ctx, request.client!.id));

  app.post('/api/saas/email/campaigns', {
    preHandler: auth.tenant,
    schema: { ...tags, summary: 'Create a campaign (draft)', body: CreateCampaignBody, response: { ...errors } },
  }, async (request, reply) => {
    const { db } = await tenant(request);
    const body = request.body as CreateCampaignBody;
    const row = await createCampaign(db, { ...body, html: body.html ?? '', text: body.text ?? '' });
    return reply.status(201).send(presentCampaign(row));
  });

  app.get('/api/saas/email/campaigns', {
    preHandler: auth.tenant,
    schema: { ...tags, summary: 'List campaigns, newest first', querystring: ListQuery, response: { ...errors } },
  }, async (request) => {
    const { db } = await tenant(request);
    const query = request.query as { limit: number; cursor?: string };
    const before = decodeCursor(query.cursor);
    const rows = await listCampaigns(db, query.limit, before ? { createdAt: before[0], id: before[1] } : undefined);
    const last = rows.at(-1);
    return { items: rows.map((r) => presentCampaign(r)), nextCursor: rows.length === query.limit && last ? encodeCursor([last.created_at.toISOString(), last.id]) : null };
  });

  app.get('/api/saas/email/campaigns/:id', {
    preHandler: auth.tenant,
    schema: { ...tags, summary: 'Show a campaign with its per-status recipient counts (progress)', params: CampaignParams, response: { ...errors } },
  }, async (request) => {
    const { db } = await tenant(request);
    const row = await requireCampaign(db, id(request));
    const [counts, clientPause] = await Promise.all([countRecipients(db, row.id), readClientPause(db)]);
    return { ...presentCampaign(row, counts), clientSendingPausedUntil: clientPause.pausedUntil?.toISOString() ?? null, clientSendingPauseReason: clientPause.reason };
  });

  app.patch('/api/saas/email/campaigns/:id', {
    preHandler: auth.tenant,
    schema: { ...tags, summary: 'Edit a campaign (the audience only before sending starts)', params: CampaignParams, body: EditCampaignBody, response: { ...errors } },
  }, async (request) => {
    const { db } = await tenant(request);
    return presentCampaign(await editCampaign(db, id(request), request.body as EditCampaignBody));
  });

  app.get('/api/saas/email/campaigns/:id/preview', {
    preHandler: auth.tenant,
    schema: { ...tags, summary: 'Render the campaign for a sample lead of its audience (or a chosen contact)', params: CampaignParams, querystring: PreviewQuery, response: { ...errors } },
  }, async (request) => {
    const { clientId, db } = await tenant(request);
    return previewCampaign(ctx, clientId, db, id(request), request.query as { contactId?: string });
  });

  app.post('/api/saas/email/campaigns/:id/test', {
    preHandler: auth.tenant,
    schema: { ...tags, summary: 'Send a [TEST] copy to up to 5 addresses (no recipient rows or counters touched)', params: CampaignParams, body: TestSendBody, response: { ...errors } },
  }, async (request) => {
    const { clientId, db } = await tenant(request);
    return testSendCampaign(ctx, clientId, db, id(request), request.body as { to: string[]; contactId?: string });
  });

  app.post('/api/saas/email/campaigns/:id/schedule', {
    preHandler: auth.tenant,
    schema: { ...tags, summary: 'Schedule at sendAt (UTC), or now when sendAt is absent or past', params: CampaignParams, body: Type.Optional(ScheduleBody), response: { ...errors } },
  }, async (request) => {
    const { clientId, db } = await tenant(request);
    const sendAt = (request.body as { sendAt?: string } | undefined)?.sendAt;
    return presentCampaign(await scheduleCampaign(ctx, clientId, db, id(request), sendAt ? new Date(sendAt) : undefined));
  });

  app.post('/api/saas/email/campaigns/:id/send', {
    preHandler: auth.tenant,
    schema: { ...tags, summary: 'Send now', params: CampaignParams, response: { ...errors } },
  }, async (request) => {
    const { clientId, db } = await tenant(request);
    return presentCampaign(await scheduleCampaign(ctx, clientId, db, id(request)));
  });

  for (const [action, fn, summary] of [
    ['pause', pauseCampaign, 'Pause sending (rows in flight finish)'],
    ['resume', resumeCampaign, 'Resume a paused campaign'],
    ['cancel', cancelCampaign, 'Cancel; recipients not yet sent become cancelled'],
  ] as const) {
    app.post(`/api/saas/email/campaigns/:id/${action}`, {
      preHandler: auth.tenant,
      schema: { ...tags, summary, params: CampaignParams, response: { ...errors } },
    }, async (request) => {
      const { clientId, db } = await tenant(request);
      return presentCampaign(await fn(ctx, clientId, db, id(request)));
    });
  }

  app.get('/api/saas/email/campaigns/:id/recipients', {
    preHandler: auth.tenant,
    schema: { ...tags, summary: 'Per-recipient delivery state (queued, sent, failed with reason, bounced, suppressed, unsubscribed, unknown, opened, clicked)', params: CampaignParams, querystring: RecipientsQuery, response: { ...errors } },
  }, async (request) => {
    const { db } = await tenant(request);
    const campaign = await requireCampaign(db, id(request));
    const query = request.query as { limit: number; cursor?: string; status?: string };
    const rows = await listRecipients(db, campaign.id, { status: query.status, limit: query.limit, afterId: query.cursor ? Number(query.cursor) : undefined });
    return { items: rows.map(presentRecipient), nextCursor: rows.length === query.limit ? rows.at(-1)!.id : null };
  });

  app.get('/api/saas/email/suppressions', {
    preHandler: auth.tenant,
    schema: { ...tags, summary: 'The suppression list (never mailed)', querystring: ListQuery, response: { ...errors } },
  }, async (request) => {
    const { db } = await tenant(request);
    const query = request.query as { limit: number; cursor?: string };
    const rows = await listSuppressions(db, query.limit, query.cursor);
    return { items: rows.map((r) => ({ email: r.email, reason: r.reason, source: r.source, createdAt: r.created_at.toISOString() })), nextCursor: rows.length === query.limit ? rows.at(-1)!.email : null };
  });

  app.post('/api/saas/email/suppressions', {
    preHandler: auth.tenant,
    schema: { ...tags, summary: 'Suppress an address manually', body: SuppressionBody, response: { ...errors } },
  }, async (request, reply) => {
    const { db } = await tenant(request);
    const added = await addSuppression(db, (request.body as { email: string }).email, 'manual', 'api');
    return reply.status(added ? 201 : 200).send({ email: (request.body as { email: string }).email.toLowerCase(), reason: 'manual', added });
  });

  app.get('/api/sandbox/mail', {
    preHandler: auth.tenant,
    schema: { tags: ['sandbox'], security: tags.security, summary: 'Mail caught by the sandbox (clients without SMTP settings), newest first', querystring: RecipientsQuery, response: { ...errors } },
  }, async (request) => {
    const { db } = await tenant(request);
    const query = request.query as { limit: number; cursor?: string };
    return listSandboxMail(db, query.limit, query.cursor ? Number(query.cursor) : undefined);
  });

  // Public endpoints reached from inside emails: no auth headers, the signed token is the credential.
  await app.register(async (scope) => {
    // One-click POSTs arrive as form data (RFC 8058); the body carries nothing we need.
    scope.addContentTypeParser(['application/x-www-form-urlencoded', 'multipart/form-data', 'text/plain'], { parseAs: 'string', bodyLimit: 16_384 }, (_req, body, done) => done(null, body));
    const TokenQuery = Type.Object({ token: Type.Optional(Type.String({ maxLength: 8000 })) });
    const publicTags = { tags: ['email (public)'] };

    scope.get('/api/saas/email/unsubscribe', {
      schema: { ...publicTags, summary: 'Unsubscribe confirmation page (does not unsubscribe: link scanners fetch URLs)', querystring: TokenQuery },
    }, async (request, reply) => {
      const token = (request.query as { token?: string }).token;
      const parsed = readUnsubscribeToken(ctx, token);
      reply.header('cache-control', 'no-store').type('text/html; charset=utf-8');
      return reply.status(parsed ? 200 : 400).send(parsed ? unsubscribePage('confirm', parsed.e, token) : unsubscribePage('invalid'));
    });

    scope.post('/api/saas/email/unsubscribe', {
      schema: { ...publicTags, summary: 'One-click unsubscribe (RFC 8058): adds the address to the client suppression list; idempotent', querystring: TokenQuery },
    }, async (request, reply) => {
      const token = (request.query as { token?: string }).token;
      const parsed = readUnsubscribeToken(ctx, token);
      if (!parsed) throw new AppError('INVALID_SIGNATURE', { message: 'Invalid unsubscribe token' });
      const result = await unsubscribe(ctx, parsed);
      reply.header('cache-control', 'no-store');
      if (/text\/html/.test(String(request.headers.accept ?? ''))) return reply.type('text/html; charset=utf-8').send(unsubscribePage('done', result.email));
      return { unsubscribed: true, alreadySuppressed: result.alreadySuppressed };
    });

    const LinkQuery = Type.Object({ t: Type.String({ maxLength: 8000 }) });
    scope.get('/api/saas/email/open', {
      schema: { ...publicTags, summary: 'Open-tracking pixel', querystring: LinkQuery },
    }, async (request, reply) => {
      await recordOpen(ctx, (request.query as { t: string }).t).catch((err: Error) => request.log.warn({ err: err.message }, 'open tracking failed'));
      return reply.header('cache-control', 'no-store, private').type('image/gif').send(PIXEL_GIF);
    });

    scope.get('/api/saas/email/click', {
      schema: { ...publicTags, summary: 'Click redirect (the target URL is inside the signed token)', querystring: LinkQuery },
    }, async (request, reply) => {
      const target = await recordClick(ctx, (request.query as { t: string }).t);
      if (!target) throw new AppError('NOT_FOUND', { message: 'Unknown or invalid link' });
      return reply.header('cache-control', 'no-store').redirect(target, 302);
    });
  });
}
