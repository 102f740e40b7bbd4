/** `POST /api/saas/realtime/token`: a short-lived Socket.io handshake token for dashboards. */
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { AuthHooks } from '../auth/auth-hooks.ts';
import type { AppContext } from '../context.ts';
import { issueRealtimeToken } from './issue-token.ts';

export async function registerRealtimeRoutes(app: FastifyInstance, ctx: AppContext, auth: AuthHooks): Promise<void> {
  app.post('/api/saas/realtime/token', {
    preHandler: auth.tenant,
    schema: {
      tags: ['realtime'],
      summary: 'Issue a short-lived token for the Socket.io handshake (auth: { token })',
      security: [{ apiKey: [], clientCode: [] }],
      response: {
        200: Type.Object({
          token: Type.String({ description: 'Pass as `auth: { token }` when connecting with socket.io-client' }),
          expiresAt: Type.String({ format: 'date-time', description: 'Connect before this time; an open socket stays open after it' }),
        }),
      },
    },
  }, async (request) => issueRealtimeToken(ctx, request.client!));
}
