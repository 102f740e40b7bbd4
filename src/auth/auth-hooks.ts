/**
 * Authentication for the two kinds of routes:
 * - admin routes: `x-core-api-key` equal (in constant time) to one of CORE_API_TOKEN;
 * - tenant routes: `x-client-code` names a client (case-insensitive) and `x-api-key`
 *   hashes to its stored key hash. Unknown code → 404 `ClientCode not found`,
 *   wrong key → 401 `Invalid API key`.
 * Browser origins on tenant routes must belong to the client (or be this server's own).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type pg from 'pg';
import type { AppContext } from '../context.ts';
import { hashApiKey, isWellFormedApiKey, safeEqual } from '../platform/crypto/api-keys.ts';
import { AppError } from '../platform/errors.ts';
import { findClientByCode, touchApiKeyUse, type ClientAuthRow } from '../tenants/clients.repo.ts';
import { isClientOrigin } from '../tenants/cors.ts';
import { tenantDb } from '../tenants/datasource.ts';
import { FailureLimiter } from './failure-limiter.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated client on tenant routes. */
    client?: ClientAuthRow;
    /** The authenticated client's tenant database (created and migrated on first use). */
    tenantDb(): Promise<pg.Pool>;
  }
}

export interface AuthHooks {
  admin: (request: FastifyRequest, reply: FastifyReply) => Promise<void>;
  tenant: (request: FastifyRequest, reply: FastifyReply) => Promise<void>;
}

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

/** True when the Origin header names this server itself (the console calling its own API). */
export function isSameOrigin(request: FastifyRequest, origin: string): boolean {
  try {
    return new URL(origin).host === request.headers.host;
  } catch {
    return false;
  }
}

export function createAuthHooks(ctx: AppContext): AuthHooks {
  const limiter = new FailureLimiter({
    limit: ctx.config.authFailureLimit, windowSeconds: ctx.config.authFailureWindowSeconds, db: ctx.controlDb, logger: ctx.logger,
  });

  function rateLimited(wait: number): AppError {
    return new AppError('RATE_LIMITED', { message: 'Too many failed authentication attempts; try again later', retryAfterSeconds: wait });
  }

  /** Before authenticating: this process's view only, no I/O on the success path. */
  function guard(keys: string[]): void {
    const wait = limiter.blockedFor(keys);
    if (wait > 0) throw rateLimited(wait);
  }

  /** Counts a failure on every instance; 429 when the keys were already over the limit elsewhere. */
  async function failed(keys: string[], error: AppError): Promise<never> {
    const wait = await limiter.recordFailure(keys);
    throw wait > 0 ? rateLimited(wait) : error;
  }

  return {
    async admin(request) {
      const keys = [`ip:${request.ip}`];
      guard(keys);
      const given = header(request, 'x-core-api-key');
      const ok = given !== undefined && ctx.config.coreApiTokens.some((token) => safeEqual(token, given));
      if (!ok) await failed(keys, new AppError('UNAUTHORIZED', { message: 'Invalid or missing x-core-api-key' }));
    },

    async tenant(request) {
      const code = header(request, 'x-client-code');
      const apiKey = header(request, 'x-api-key');
      const keys = [`ip:${request.ip}`, `ip:${request.ip}|code:${(code ?? '').toLowerCase()}`];
      guard(keys);
      if (!code || !apiKey) return failed(keys, new AppError('INVALID_API_KEY', { message: 'Missing x-api-key or x-client-code header' }));
      const client = await findClientByCode(ctx.controlDb, code);
      if (!client) return failed(keys, new AppError('CLIENT_NOT_FOUND', { message: 'ClientCode not found' }));
      if (!isWellFormedApiKey(apiKey) || !safeEqual(hashApiKey(apiKey), client.api_key_hash)) {
        return failed(keys, new AppError('INVALID_API_KEY', { message: 'Invalid API key' }));
      }
      const origin = header(request, 'origin');
      if (origin && !isSameOrigin(request, origin)) {
        if (!(await isClientOrigin(ctx, client.id, origin))) {
          throw new AppError('CORS_ORIGIN_NOT_ALLOWED', { message: `Origin ${origin} is not allowed for this client` });
        }
      }
      request.client = client;
      request.log = request.log.child({ clientCode: client.code });
      void touchApiKeyUse(ctx.controlDb, client.id).catch(() => {});
      let pool: Promise<pg.Pool> | undefined;
      request.tenantDb = () => (pool ??= tenantDb(ctx, client));
    },
  };
}
