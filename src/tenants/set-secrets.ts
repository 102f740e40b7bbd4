import type { AppContext } from '../context.ts';
import { recordAudit } from '../audit/record-audit.ts';
import { withTransaction } from '../platform/db/pool.ts';
import type { ClientAuthRow } from './clients.repo.ts';
import { setWhatsappStatus } from './clients.repo.ts';
import type { Actor } from './manage-client.ts';
import { describeSecrets, writeSecrets, type ClientSecrets } from './secrets.ts';

/** Sets or updates some of a client's secrets (encrypted; partial update). Returns the masked view. */
export async function setClientSecrets(ctx: AppContext, client: ClientAuthRow, secrets: ClientSecrets, actor: Actor) {
  return withTransaction(ctx.controlDb, async (tx) => {
    const written = await writeSecrets(tx, ctx.keyring, client.id, secrets);
    if (secrets.whatsappToken !== undefined) await setWhatsappStatus(tx, client.id, 'ok', null);
    await recordAudit(tx, { ...actor, action: 'secrets.set', clientId: client.id, clientCode: client.code, details: { fields: written } });
    return { clientCode: client.code, updated: written, secrets: await describeSecrets(tx, client.id) };
  });
}
