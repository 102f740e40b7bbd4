/**
 * Which client a webhook change belongs to: `metadata.phone_number_id` → client
 * through the blind index (O(1), no decryption), `entry[].id` (WABA) → client
 * for fields without metadata, and each client's own app secret. Cached per
 * process; the cache is dropped whenever client secrets change (a trigger on
 * client_secrets notifies every process) and entries expire after a while anyway.
 */
import type { AppContext } from '../context.ts';
import { findClientIdsBySecret, readSecrets } from '../tenants/index.ts';
import { controlListener } from './control-listener.ts';

const TTL_MS = 30_000;
export const SECRETS_CHANGED_CHANNEL = 'ecodrix_client_secrets_changed';

interface Cached<T> { value: Promise<T>; at: number }

export class ClientRouting {
  private readonly ctx: AppContext;
  private readonly byPhone = new Map<string, Cached<string[]>>();
  private readonly byWaba = new Map<string, Cached<string[]>>();
  private readonly secrets = new Map<string, Cached<string | undefined>>();
  private generation = 0;

  constructor(ctx: AppContext) {
    this.ctx = ctx;
  }

  /** Forgets everything (secrets changed). */
  invalidate(): void {
    this.generation++;
    this.byPhone.clear();
    this.byWaba.clear();
    this.secrets.clear();
  }

  private cached<T>(map: Map<string, Cached<T>>, key: string, load: () => Promise<T>): Promise<T> {
    const hit = map.get(key);
    const now = Date.now();
    if (hit && now - hit.at < TTL_MS) return hit.value;
    const generation = this.generation;
    const value = load();
    const entry = { value, at: now };
    map.set(key, entry);
    value.then(() => {
      if (generation !== this.generation && map.get(key) === entry) map.delete(key);
    }, () => {
      if (map.get(key) === entry) map.delete(key);
    });
    return value;
  }

  /** Clients owning a business phone number id (normally one). */
  clientsForPhoneNumber(phoneNumberId: string): Promise<string[]> {
    return this.cached(this.byPhone, phoneNumberId, () => findClientIdsBySecret(this.ctx, 'whatsappPhoneNumberId', phoneNumberId));
  }

  /** Clients whose whatsappBusinessId is this WABA id. */
  clientsForWaba(wabaId: string): Promise<string[]> {
    return this.cached(this.byWaba, wabaId, async () => {
      const { rows } = await this.ctx.controlDb.query<{ client_id: string }>(
        `SELECT client_id FROM client_secrets WHERE name = 'whatsappBusinessId' AND hint = $1`, [wabaId],
      );
      return rows.map((r) => r.client_id);
    });
  }

  /** The client's own Meta app secret, if it has one. */
  appSecretOf(clientId: string): Promise<string | undefined> {
    return this.cached(this.secrets, clientId, async () => (await readSecrets(this.ctx, clientId, ['whatsappAppSecret'])).whatsappAppSecret);
  }
}

const routings = new WeakMap<AppContext, ClientRouting>();

/** The process's routing cache for this context (invalidated through LISTEN while a listener runs). */
export function clientRouting(ctx: AppContext): ClientRouting {
  let routing = routings.get(ctx);
  if (!routing) {
    const created = new ClientRouting(ctx);
    controlListener(ctx).on(SECRETS_CHANGED_CHANNEL, () => created.invalidate());
    routings.set(ctx, created);
    routing = created;
  }
  return routing;
}
