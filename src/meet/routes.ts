/**
 * Google connection (browser consent, status, disconnect) and meetings
 * (`/api/saas/meet`: create, read, reschedule, cancel).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { AuthHooks } from '../auth/auth-hooks.ts';
import type { AppContext } from '../context.ts';
import { isAppError } from '../platform/errors.ts';
import { ErrorBodySchema } from '../platform/http/errors.ts';
import { cancelMeeting } from './cancel-meeting.ts';
import { completeGoogleConnection, ConnectionFailure } from './complete-google-connection.ts';
import { createMeeting } from './create-meeting.ts';
import { disconnectGoogle } from './disconnect-google.ts';
import { requireMeeting } from './find-meeting.ts';
import { googleConnectionStatus } from './google-connection-status.ts';
import { page } from './pages.ts';
import { presentMeeting } from './present-meeting.ts';
import { rescheduleMeeting } from './reschedule-meeting.ts';
import { listMeetings } from './list-meetings.ts';
import { CallbackQuery, ConnectQuery, CreateMeetingBody, EventIdParams, GoogleStatusView, ListMeetingsQuery, MeetingView, RescheduleBody } from './schema.ts';
import { issueConnectLink, startGoogleConnection, STATE_TTL_SECONDS } from './start-google-connection.ts';

const NONCE_COOKIE = 'ecx_google_oauth';
const COOKIE_PATH = '/api/auth/google';
const oauthTags = { tags: ['google'] };
const tenantGoogle = { tags: ['google'], security: [{ apiKey: [], clientCode: [] }] };
const tenantMeet = { tags: ['meet'], security: [{ apiKey: [], clientCode: [] }] };
const errors = { 400: ErrorBodySchema, 401: ErrorBodySchema, 404: ErrorBodySchema, 409: ErrorBodySchema, 429: ErrorBodySchema, 502: ErrorBodySchema };

function html(reply: FastifyReply, status: number, body: string) {
  return reply.status(status).header('content-type', 'text/html; charset=utf-8').header('cache-control', 'no-store').send(body);
}

function cookieValue(request: FastifyRequest, name: string): string | undefined {
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const at = part.indexOf('=');
    if (at > 0 && part.slice(0, at).trim() === name) return decodeURIComponent(part.slice(at + 1).trim());
  }
  return undefined;
}

export async function registerMeetRoutes(app: FastifyInstance, ctx: AppContext, auth: AuthHooks): Promise<void> {
  const secureCookie = ctx.config.publicUrl.startsWith('https:') ? '; Secure' : '';

  app.get('/api/auth/google/connect', {
    schema: { ...oauthTags, summary: 'Start a client\'s Google consent (open in a browser as the client\'s Google account)', querystring: ConnectQuery },
  }, async (request, reply) => {
    const { clientCode, t } = request.query as ConnectQuery;
    try {
      const started = await startGoogleConnection(ctx, clientCode, t);
      reply.header('set-cookie', `${NONCE_COOKIE}=${started.nonce}; Path=${COOKIE_PATH}; Max-Age=${STATE_TTL_SECONDS}; HttpOnly; SameSite=Lax${secureCookie}`);
      return reply.status(302).header('cache-control', 'no-store').redirect(started.consentUrl);
    } catch (err) {
      if (isAppError(err, 'CLIENT_NOT_FOUND')) return html(reply, 404, page('Unknown client', [`No client has the code "${clientCode}". Check the link you were given.`], 'failure'));
      if (isAppError(err, 'GOOGLE_NOT_CONFIGURED')) return html(reply, 503, page('Google is not configured', [err.message], 'failure'));
      if (isAppError(err, 'FORBIDDEN')) return html(reply, 403, page('Connect link not valid', [err.message], 'failure'));
      throw err;
    }
  });

  app.get('/api/auth/google/callback', {
    schema: { ...oauthTags, summary: 'Google redirects here after consent; stores the refresh token encrypted', querystring: CallbackQuery },
  }, async (request, reply) => {
    const query = request.query as CallbackQuery;
    reply.header('set-cookie', `${NONCE_COOKIE}=; Path=${COOKIE_PATH}; Max-Age=0; HttpOnly; SameSite=Lax${secureCookie}`);
    try {
      const done = await completeGoogleConnection(ctx, { ...query, cookieNonce: cookieValue(request, NONCE_COOKIE) });
      return html(reply, 200, page('Google account connected', [
        `${done.accountEmail ?? 'The Google account'} is now connected to ${done.clientName} (${done.clientCode}).`,
        'Appointments can now get Google Meet links. You can close this window.',
      ], 'success'));
    } catch (err) {
      if (err instanceof ConnectionFailure) return html(reply, err.status, page('Google account not connected', [err.message], 'failure'));
      request.log.error({ err }, 'Google callback failed');
      return html(reply, 500, page('Google account not connected', ['Something went wrong on our side. Try again from the connect link.'], 'failure'));
    }
  });

  app.get('/api/auth/google/status', {
    preHandler: auth.tenant,
    schema: { ...tenantGoogle, summary: 'This client\'s Google connection: connected, account, scopes, needs re-auth', response: { 200: GoogleStatusView, ...errors } },
  }, async (request) => googleConnectionStatus(ctx, request.client!));

  app.post('/api/auth/google/connect-link', {
    preHandler: auth.tenant,
    schema: { ...tenantGoogle, summary: 'A signed connect link for this client (valid 24 h; the only kind accepted when GOOGLE_CONNECT_LINK_REQUIRED=true)', response: { 200: Type.Object({ url: Type.String(), expiresAt: Type.String() }), ...errors } },
  }, async (request) => issueConnectLink(ctx, request.client!));

  app.delete('/api/auth/google/connection', {
    preHandler: auth.tenant,
    schema: { ...tenantGoogle, summary: 'Disconnect: revoke the token at Google and delete it', response: { 200: Type.Object({ disconnected: Type.Boolean(), revoked: Type.Boolean() }), ...errors } },
  }, async (request) => disconnectGoogle(ctx, request.client!, { actor: `client:${request.client!.code}`, ip: request.ip, requestId: request.id }));

  app.post('/api/saas/meet', {
    preHandler: auth.tenant,
    schema: { ...tenantMeet, summary: 'Create a meeting (calendar event with a Meet link); idempotent per idempotencyKey/appointmentId', body: CreateMeetingBody, response: { 201: MeetingView, ...errors } },
  }, async (request, reply) => {
    const body = request.body as CreateMeetingBody;
    return reply.status(201).send(await createMeeting(ctx, { ...body, clientId: request.client!.id }));
  });

  app.get('/api/saas/meet', {
    preHandler: auth.tenant,
    schema: { ...tenantMeet, summary: 'List meetings, newest first (filter by appointmentId)', querystring: ListMeetingsQuery, response: { 200: Type.Object({ items: Type.Array(MeetingView), nextCursor: Type.Union([Type.String(), Type.Null()]) }), ...errors } },
  }, async (request) => listMeetings(await request.tenantDb(), request.query as ListMeetingsQuery));

  app.get('/api/saas/meet/:eventId', {
    preHandler: auth.tenant,
    schema: { ...tenantMeet, summary: 'Show a meeting', params: EventIdParams, response: { 200: MeetingView, ...errors } },
  }, async (request) => presentMeeting(await requireMeeting(await request.tenantDb(), { eventId: (request.params as EventIdParams).eventId })));

  app.patch('/api/saas/meet/:eventId', {
    preHandler: auth.tenant,
    schema: { ...tenantMeet, summary: 'Reschedule a meeting (the Meet link stays)', params: EventIdParams, body: RescheduleBody, response: { 200: MeetingView, ...errors } },
  }, async (request) => rescheduleMeeting(ctx, { ...(request.body as RescheduleBody), clientId: request.client!.id, eventId: (request.params as EventIdParams).eventId }));

  app.delete('/api/saas/meet/:eventId', {
    preHandler: auth.tenant,
    schema: { ...tenantMeet, summary: 'Cancel a meeting (deletes the calendar event; already gone counts as done)', params: EventIdParams, response: { 200: MeetingView, ...errors } },
  }, async (request) => cancelMeeting(ctx, { clientId: request.client!.id, eventId: (request.params as EventIdParams).eventId }));
}
