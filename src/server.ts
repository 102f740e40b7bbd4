/**
 * Runs the roles of one process: `api` (HTTP + Socket.io), `worker` (queue
 * consumers), `cron` (schedules). All three by default.
 */
import type { FastifyInstance } from 'fastify';
import type { Booted } from './boot.ts';
import { buildHttpApp } from './http.ts';
import { cronSchedules } from './jobs.ts';
import { attachRealtimeGateway } from './realtime/index.ts';
import { startWhatsappInbox, type InboxConsumer } from './whatsapp/inbound.ts';

export type Role = 'api' | 'worker' | 'cron';
export const ROLES: readonly Role[] = ['api', 'worker', 'cron'];

export interface RunningServer {
  app?: FastifyInstance;
  /** Address the API listens on (when the api role runs). */
  url?: string;
  /** Stop accepting, finish in-flight work, close everything. */
  stop(): Promise<void>;
}

/** Hooks that run after the HTTP app is listening (the realtime gateway attaches here). */
export type ApiStartHook = (app: FastifyInstance, booted: Booted) => Promise<void> | void;
const apiStartHooks: ApiStartHook[] = [];
export function onApiStart(hook: ApiStartHook): void {
  apiStartHooks.push(hook);
}
onApiStart(attachRealtimeGateway);

export async function startRoles(booted: Booted, roles: readonly Role[], options: { port?: number; host?: string } = {}): Promise<RunningServer> {
  const { ctx } = booted;
  // The queue (pg-boss schema, queues, schedules: mostly database work) is prepared while the HTTP app is
  // built (CPU here); nothing listens or consumes before both are done.
  const queueReady = (async () => {
    await ctx.queue.start(ctx, { work: roles.includes('worker') });
    if (roles.includes('cron')) await Promise.all(cronSchedules.map(([definition, cron]) => ctx.queue.schedule(definition, cron)));
  })();
  queueReady.catch(() => {}); // awaited below
  let app: FastifyInstance | undefined;
  try {
    if (roles.includes('api')) app = await buildHttpApp(ctx);
    await queueReady;
  } catch (err) {
    await queueReady.catch(() => {});
    await app?.close().catch(() => {});
    throw err;
  }
  // Webhook inbox consumers (LISTEN/NOTIFY + SKIP LOCKED, not pg-boss: millisecond pickup).
  const inbox: InboxConsumer | undefined = roles.includes('worker') ? await startWhatsappInbox(ctx) : undefined;
  let url: string | undefined;
  if (app) {
    for (const hook of apiStartHooks) await hook(app, booted);
    url = await app.listen({ port: options.port ?? ctx.config.port, host: options.host ?? ctx.config.host });
  }
  ctx.logger.info({ roles, url }, 'ECODrIx started');
  return {
    app,
    url,
    async stop() {
      if (app) await app.close();
      await inbox?.stop();
      await booted.close();
    },
  };
}

/** Parses `--services=api,worker` (or SERVICES) into roles. */
export function parseRoles(argv: string[], fallback: string[]): Role[] {
  const flag = argv.find((a) => a.startsWith('--services='));
  const list = flag ? flag.slice('--services='.length).split(',') : fallback;
  const roles = list.map((r) => r.trim()).filter(Boolean);
  const unknown = roles.filter((r) => !ROLES.includes(r as Role));
  if (unknown.length) throw new Error(`unknown service role(s): ${unknown.join(', ')} (use ${ROLES.join(', ')})`);
  return roles as Role[];
}
