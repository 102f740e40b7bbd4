/**
 * Serves the operator/client console (`console/` at the repository root: plain
 * HTML, CSS and ES modules, so `npm install` is the only build step) at /console.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'console');
/** The browser build of socket.io-client, served to the console from the installed package. */
const SOCKET_IO_CLIENT = path.join(path.dirname(createRequire(import.meta.url).resolve('socket.io-client/package.json')), 'dist', 'socket.io.min.js');
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
};
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data: blob: https: http:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

export async function registerConsoleRoutes(app: FastifyInstance): Promise<void> {
  app.get('/console', { schema: { hide: true } }, async (_request, reply) => reply.redirect('/console/'));
  app.get('/console/*', { schema: { hide: true } }, async (request, reply) => {
    const wanted = (request.params as { '*': string })['*'] || 'index.html';
    const file = wanted === 'vendor/socket.io.min.js' ? SOCKET_IO_CLIENT : path.resolve(ROOT, wanted);
    const type = TYPES[path.extname(file)];
    // Only files inside console/ with a known type; anything else (traversal, dotfiles) is a 404.
    if ((file !== SOCKET_IO_CLIENT && !file.startsWith(`${ROOT}${path.sep}`)) || !type || wanted.split('/').some((part) => part.startsWith('.'))) {
      return reply.status(404).send({ error: { code: 'ROUTE_NOT_FOUND', message: 'Not found', requestId: request.id } });
    }
    let body: Buffer;
    try {
      body = await readFile(file);
    } catch {
      return reply.status(404).send({ error: { code: 'ROUTE_NOT_FOUND', message: 'Not found', requestId: request.id } });
    }
    reply.header('content-type', type).header('content-security-policy', CSP).header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer').header('cache-control', 'no-cache');
    return reply.send(body);
  });
}
