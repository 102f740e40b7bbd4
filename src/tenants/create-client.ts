import type { AppContext } from '../context.ts';
import { recordAudit } from '../audit/record-audit.ts';
import { generateApiKey, hashApiKey, keyHint } from '../platform/crypto/api-keys.ts';
import { withTransaction } from '../platform/db/pool.ts';
import { AppError } from '../platform/errors.ts';
import { codeExists, insertClient } from './clients.repo.ts';
import { presentClient, type ClientView } from './present-client.ts';

export const CLIENT_CODE_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_-]{1,39}$';
const TITLES = new Set(['dr', 'mr', 'mrs', 'ms', 'miss', 'prof', 'the']);

/**
 * Derives a client code from a business name: lower-case letters and digits,
 * leading titles dropped ("Dr. Sharma Clinic" → "sharmaclinic", as the runbook expects).
 */
export function deriveClientCode(name: string): string {
  const words = name.normalize('NFKD').toLowerCase().replace(/[^a-z0-9\s]/g, ' ').split(/\s+/).filter(Boolean);
  while (words.length > 1 && TITLES.has(words[0])) words.shift();
  const code = words.join('').slice(0, 32);
  return code.length >= 2 ? code : `client${code}`;
}

export interface CreateClientOptions {
  name: string;
  email: string;
  /** Given code (kept as written, matched case-insensitively); derived from the name when absent. */
  clientCode?: string;
  actor: string;
  ip?: string;
  requestId?: string;
}

/** Creates a client and its first API key. The key is returned once and stored only as a hash. */
export async function createClient(ctx: AppContext, options: CreateClientOptions): Promise<ClientView & { apiKey: string }> {
  const apiKey = generateApiKey();
  const row = await withTransaction(ctx.controlDb, async (tx) => {
    let code = options.clientCode;
    if (!code) {
      const base = deriveClientCode(options.name);
      code = base;
      for (let n = 2; await codeExists(tx, code); n++) code = `${base}${n}`;
    }
    if (!new RegExp(CLIENT_CODE_PATTERN).test(code)) {
      throw new AppError('VALIDATION_FAILED', { message: 'clientCode must be 2-40 letters, digits, _ or -, starting with a letter or digit' });
    }
    const inserted = await insertClient(tx, { code, name: options.name, email: options.email, keyHash: hashApiKey(apiKey), keyHint: keyHint(apiKey) });
    if (!inserted) throw new AppError('CLIENT_CODE_TAKEN', { message: `clientCode ${code} is already taken` });
    await recordAudit(tx, { actor: options.actor, action: 'client.create', clientId: inserted.id, clientCode: inserted.code, ip: options.ip, requestId: options.requestId });
    return inserted;
  });
  return { ...presentClient(row), apiKey };
}
