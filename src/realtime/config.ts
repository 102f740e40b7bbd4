/** Real-time (Socket.io) settings. */
import type { EnvReader } from '../platform/env-reader.ts';

export function readRealtimeConfig(env: EnvReader) {
  return {
    adapter: env.oneOf('REALTIME_ADAPTER', ['auto', 'postgres', 'memory'] as const, {
      default: 'auto',
      doc: 'How Socket.io events reach sockets held by other API instances: postgres (@socket.io/postgres-adapter on the control database) or memory (one instance). auto: postgres when DATABASE_URL is set, memory with the embedded database.',
    }),
    tokenTtlSeconds: env.int('REALTIME_TOKEN_TTL_SECONDS', { default: 300, min: 10, max: 86_400, doc: 'Lifetime of dashboard tokens from POST /api/saas/realtime/token (only checked at connection time).' }),
    authTimeoutMs: env.int('REALTIME_AUTH_TIMEOUT_MS', { default: 1000, min: 100, max: 60_000, doc: 'A socket that has not authenticated this long after connecting is disconnected.' }),
  };
}

export type RealtimeConfig = ReturnType<typeof readRealtimeConfig>;
