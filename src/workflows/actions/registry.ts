/**
 * The action registry: every step an automation can run (`send_whatsapp`,
 * `update_lead`, `webhook`, and later `send_email`, `create_meet`) is an
 * ActionDefinition listed in `actions/index.ts`. The runner validates `config`
 * against `configSchema` when a definition is saved and again before running.
 */
import type pg from 'pg';
import type { TSchema } from 'typebox';
import type { AppContext } from '../../context.ts';
import type { OutboundPolicy } from '../../platform/http/safe-fetch.ts';

export interface ActionInput {
  ctx: AppContext;
  clientId: string;
  /** The client's tenant database. */
  db: pg.Pool;
  trigger: string;
  phone?: string;
  variables: string[];
  /** outputs of earlier actions in this run, e.g. meetCode, meetUrl */
  vars: Record<string, string>;
  /** Id of the workflow job being run (stable across retries). */
  runId: string;
  /** Stable across retries of this action: pass it to anything with side effects so a re-run does nothing twice. */
  idempotencyKey: string;
  callbackMetadata?: Record<string, unknown>;
  /** Conversation given with the trigger (if any). */
  conversationId?: string;
}

export interface ActionResult {
  output?: Record<string, unknown>;
  /** named values later actions can use */
  vars?: Record<string, string>;
}

export interface ActionDefinition {
  type: string;
  /** TypeBox schema of `config` */
  configSchema: TSchema;
  execute(input: ActionInput, config: any): Promise<ActionResult>;
  /**
   * Checks beyond the schema when a definition is saved (e.g. a URL against the outbound policy).
   * @returns a problem as `<.path> <what is wrong>`, or undefined
   */
  checkConfig?(config: any, env: { outbound: OutboundPolicy }): string | undefined;
}

/**
 * Thrown by an action that cannot finish yet through no fault of its own (a Meet link Google is
 * still creating): the step goes back to pending and runs again after `retryInMs`, without using
 * up one of its attempts. The action itself decides when waiting has lasted too long.
 */
export class ActionWaiting extends Error {
  readonly retryInMs: number;
  constructor(message: string, retryInMs: number) {
    super(message);
    this.name = 'ActionWaiting';
    this.retryInMs = retryInMs;
  }
}

/** Fills `{{name}}` placeholders from earlier actions' vars (unknown names are left as they are). */
export function interpolate(text: string, vars: Record<string, string>): string {
  return text.replace(/\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}/g, (whole, name: string) => (Object.hasOwn(vars, name) ? vars[name] : whole));
}
