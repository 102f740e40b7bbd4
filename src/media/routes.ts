/** Media routes: signed access to archived media, and the local-disk file server behind it. */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { AuthHooks } from '../auth/auth-hooks.ts';
import type { AppContext } from '../context.ts';
import { contentDisposition } from '../platform/storage/index.ts';
import { getMediaLink } from './get-media-link.ts';
import { openSignedLocalFile } from './serve-local-file.ts';

const MediaLinkSchema = Type.Object({
  url: Type.String({ description: 'Signed URL, valid until expiresAt (presigned S3/R2 URL or this server\'s /api/saas/media/files/<token>)' }),
  expiresAt: Type.String({ format: 'date-time' }),
  mimeType: Type.String(),
  size: Type.Integer({ description: 'Bytes of the stored file (images are resized and re-encoded)' }),
  filename: Type.Union([Type.String(), Type.Null()], { description: 'Sender\'s document filename (data only)' }),
});

function absolute(request: FastifyRequest, url: string): string {
  return url.startsWith('/') ? `${request.protocol}://${request.host}${url}` : url;
}

export async function registerMediaRoutes(app: FastifyInstance, ctx: AppContext, auth: AuthHooks): Promise<void> {
  app.get('/api/saas/media/:id', {
    preHandler: auth.tenant,
    schema: {
      tags: ['media'],
      summary: 'Short-lived signed link to a message\'s archived media (?redirect=1 answers 302)',
      security: [{ apiKey: [], clientCode: [] }],
      params: Type.Object({ id: Type.String({ description: 'Message id', maxLength: 64 }) }),
      querystring: Type.Object({ redirect: Type.Optional(Type.Union([Type.Literal('1'), Type.Literal('true'), Type.Literal('0'), Type.Literal('false')])) }),
      response: { 200: MediaLinkSchema },
    },
  }, async (request, reply) => {
    const { id } = request.params as { id: string };
    const { redirect } = request.query as { redirect?: string };
    const link = await getMediaLink(ctx, await request.tenantDb(), id);
    const body = { ...link, url: absolute(request, link.url) };
    reply.header('cache-control', 'no-store');
    if (redirect === '1' || redirect === 'true') return reply.redirect(body.url, 302);
    return body;
  });

  // A wildcard, not `:token`: tokens are longer than the router's 100-character parameter limit.
  app.get('/api/saas/media/files/*', {
    schema: {
      tags: ['media'],
      summary: 'Serves a locally stored media file by the signed token from GET /api/saas/media/:id (path: /api/saas/media/files/<token>)',
      params: Type.Object({ '*': Type.String({ maxLength: 4096 }) }),
    },
  }, async (request, reply) => {
    const token = (request.params as { '*': string })['*'];
    const file = await openSignedLocalFile(ctx, token);
    const remaining = Math.max(0, Math.floor((file.expiresAt.getTime() - Date.now()) / 1000));
    reply
      .header('content-type', file.contentType)
      .header('content-disposition', contentDisposition(file.filename))
      .header('x-content-type-options', 'nosniff')
      .header('content-security-policy', "default-src 'none'; sandbox")
      .header('cache-control', `private, max-age=${remaining}`);
    if (file.size !== undefined) reply.header('content-length', file.size);
    return reply.send(file.body);
  });
}
