/**
 * The batched apply: several inbox rows claimed together are applied per tenant in one transaction of a
 * few set-based statements. Rows are put in the inbox already leased (so the running consumer leaves
 * them alone) and handed to processInboxRows directly, which makes the batch composition exact.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { startTestApp, type TestApp, type TestClient } from '../../test/harness.ts';
import { quoteIdent } from '../platform/db/pool.ts';
import type { RealtimeEvent } from '../platform/events.ts';
import { tenantDbById } from '../tenants/index.ts';
import type { ClaimedInboxRow } from './inbox.repo.ts';
import { processInboxRows } from './process-inbox-row.ts';

const PHONES = { a: '100000000000011', b: '100000000000012', c: '100000000000013' };
/** Failed rows come due again only after an hour: the running consumer never retries them during a test. */
const POLICY = { maxAttempts: 3, retryBaseMs: 3_600_000 };

let h: TestApp;
const clients: Record<'a' | 'b' | 'c', TestClient> = {} as never;
const dbs: Record<'a' | 'b' | 'c', pg.Pool> = {} as never;
const events: RealtimeEvent[] = [];
let seq = 0;

interface Msg { from: string; id: string; text?: string; name?: string; ts?: number }
interface Entry { phone: string; messages?: Msg[]; statuses?: Array<{ id: string; status: string; recipient?: string }> }

function body(...entries: Entry[]): object {
  return {
    object: 'whatsapp_business_account',
    entry: entries.map((e) => ({
      id: `waba-${e.phone}`,
      changes: [{
        field: 'messages',
        value: {
          messaging_product: 'whatsapp',
          metadata: { display_phone_number: '15550100000', phone_number_id: e.phone },
          ...(e.messages ? {
            contacts: [...new Map(e.messages.map((m) => [m.from, { profile: { name: m.name ?? `Person ${m.from}` }, wa_id: m.from }])).values()],
            messages: e.messages.map((m) => ({
              from: m.from, id: m.id, timestamp: String(m.ts ?? 1_760_000_000 + seq++), type: 'text', text: { body: m.text ?? `text of ${m.id}` },
            })),
          } : {}),
          ...(e.statuses ? {
            statuses: e.statuses.map((s) => ({ id: s.id, status: s.status, timestamp: String(1_760_000_000 + seq++), recipient_id: s.recipient ?? '15559990000' })),
          } : {}),
        },
      }],
    })),
  };
}

/** Stores the bodies as inbox rows already leased for an hour, as a consumer's claim would return them. */
async function claimed(...bodies: object[]): Promise<ClaimedInboxRow[]> {
  const { rows } = await h.ctx.controlDb.query<ClaimedInboxRow>(
    `INSERT INTO whatsapp_inbox (body, state, attempts, locked_until)
     SELECT b, 'processing', 1, now() + interval '1 hour' FROM unnest($1::bytea[]) WITH ORDINALITY AS t(b, n) ORDER BY n
     RETURNING id::text, body, verified_for::text[], attempts, done_client_ids::text[], received_at`,
    [bodies.map((b) => Buffer.from(JSON.stringify(b)))],
  );
  return rows;
}

/** Leases failed rows again (as a later claim would) and returns them with their attempts and done clients. */
async function reclaim(ids: string[]): Promise<ClaimedInboxRow[]> {
  const { rows } = await h.ctx.controlDb.query<ClaimedInboxRow>(
    `UPDATE whatsapp_inbox SET state = 'processing', attempts = attempts + 1, locked_until = now() + interval '1 hour'
     WHERE id = ANY($1::bigint[]) RETURNING id::text, body, verified_for::text[], attempts, done_client_ids::text[], received_at`,
    [ids],
  );
  return rows.sort((x, y) => Number(x.id) - Number(y.id));
}

async function inboxRow(id: string) {
  const { rows: [row] } = await h.ctx.controlDb.query(
    'SELECT state, last_error, client_ids::text[], done_client_ids::text[] FROM whatsapp_inbox WHERE id = $1', [id]);
  return row as { state: string; last_error: string | null; client_ids: string[]; done_client_ids: string[] };
}

/** Events this feature publishes (scoring publishes its own, asynchronously). */
const INBOUND_EVENTS = ['message.created', 'message.updated', 'conversation.updated', 'lead.created', 'lead.updated'];
const created = (clientId: string) => events.filter((e) => e.event === 'message.created' && e.clientId === clientId)
  .map((e) => (e.payload as { message: { waMessageId: string } }).message.waMessageId);

before(async () => {
  h = await startTestApp({ env: { META_APP_SECRET: 'batch-test-app-secret-0123456789' } });
  h.ctx.realtime = { publish: (e) => events.push(e) };
  for (const key of ['a', 'b', 'c'] as const) {
    clients[key] = await h.createClient(`Batch ${key.toUpperCase()}`);
    const res = await h.app.inject({ method: 'POST', url: `/api/clients/${clients[key].code}/secrets`, headers: h.adminHeaders, payload: { whatsappPhoneNumberId: PHONES[key] } });
    assert.equal(res.statusCode, 200, res.body);
    dbs[key] = await tenantDbById(h.ctx, clients[key].id);
  }
});
after(() => h.close());

test('several messages for several tenants in one batch: each tenant gets its own, counted once per conversation', async () => {
  events.length = 0;
  const rows = await claimed(
    body({ phone: PHONES.a, messages: [{ from: '15551110001', id: 'wamid.m1', ts: 1_760_000_100 }, { from: '15551110002', id: 'wamid.m2' }] }),
    body({ phone: PHONES.b, messages: [{ from: '15551110001', id: 'wamid.b1' }] }),
    body({ phone: PHONES.a, messages: [{ from: '15551110003', id: 'wamid.m3' }] }, { phone: PHONES.c, messages: [{ from: '15551110001', id: 'wamid.c1' }] }),
    body({ phone: PHONES.a, messages: [{ from: '15551110001', id: 'wamid.m4', text: 'latest from one', ts: 1_760_000_200 }] }),
  );
  const outcomes = await processInboxRows(h.ctx, rows, POLICY);
  assert.deepEqual(outcomes, ['done', 'done', 'done', 'done']);
  assert.deepEqual((await inboxRow(rows[2].id)).done_client_ids.sort(), [clients.a.id, clients.c.id].sort());

  const wamids = async (db: pg.Pool) => (await db.query('SELECT wa_message_id FROM messages ORDER BY wa_message_id')).rows.map((r) => r.wa_message_id);
  assert.deepEqual(await wamids(dbs.a), ['wamid.m1', 'wamid.m2', 'wamid.m3', 'wamid.m4']);
  assert.deepEqual(await wamids(dbs.b), ['wamid.b1']);
  assert.deepEqual(await wamids(dbs.c), ['wamid.c1']);

  // The sender with two messages: one contact, one conversation counting both, preview of the latest, one lead.
  const { rows: [conv] } = await dbs.a.query(
    `SELECT v.unread_count, v.last_message_preview, v.last_message_at, (SELECT count(*)::int FROM messages m WHERE m.conversation_id = v.id) AS n
     FROM conversations v JOIN contacts c ON c.id = v.contact_id WHERE c.wa_id = '15551110001'`);
  assert.deepEqual([conv.unread_count, conv.n, conv.last_message_preview], [2, 2, 'latest from one']);
  assert.equal(conv.last_message_at.toISOString(), new Date(1_760_000_200_000).toISOString());
  const { rows: [counts] } = await dbs.a.query(
    `SELECT (SELECT count(*)::int FROM contacts) AS contacts, (SELECT count(*)::int FROM leads) AS leads,
       (SELECT count(*)::int FROM domain_events WHERE type = 'lead_captured') AS captured`);
  assert.deepEqual(counts, { contacts: 3, leads: 3, captured: 3 });
  const { rows: captured } = await dbs.a.query(`SELECT data FROM domain_events WHERE type = 'lead_captured' ORDER BY data->>'waId'`);
  assert.equal(captured[0].data.waId, '15551110001');
  assert.equal(captured[0].data.newContact, true);
  const { rows: [firstMessage] } = await dbs.a.query(`SELECT id, conversation_id FROM messages WHERE wa_message_id = 'wamid.m1'`);
  assert.equal(captured[0].data.messageId, firstMessage.id, 'the lead is captured from the contact\'s first message');
  assert.equal(captured[0].data.conversationId, firstMessage.conversation_id);
  // Messages of one sender keep their delivery order.
  const { rows: order } = await dbs.a.query(`SELECT wa_message_id FROM messages WHERE wa_message_id IN ('wamid.m1', 'wamid.m4') ORDER BY created_at, id`);
  assert.deepEqual(order.map((r) => r.wa_message_id), ['wamid.m1', 'wamid.m4']);

  // Events: per client, each new message once, each conversation updated once, each new lead announced once.
  assert.deepEqual(created(clients.a.id), ['wamid.m1', 'wamid.m2', 'wamid.m3', 'wamid.m4']);
  assert.deepEqual(created(clients.b.id), ['wamid.b1']);
  assert.deepEqual(created(clients.c.id), ['wamid.c1']);
  const aEvents = events.filter((e) => e.clientId === clients.a.id);
  assert.equal(aEvents.filter((e) => e.event === 'conversation.updated').length, 3);
  const convUpdate = aEvents.find((e) => e.event === 'conversation.updated' && e.conversationId === firstMessage.conversation_id)!;
  assert.equal((convUpdate.payload as { conversation: { unreadCount: number } }).conversation.unreadCount, 2);
  assert.equal(aEvents.filter((e) => e.event === 'lead.created').length, 3);
  assert.equal(events.filter((e) => e.event === 'lead.created' && e.clientId === clients.b.id).length, 1);
});

test('duplicates inside one batch are stored, counted and announced once', async () => {
  events.length = 0;
  const twice = body({ phone: PHONES.b, messages: [{ from: '15551110009', id: 'wamid.dup' }, { from: '15551110009', id: 'wamid.dup' }] });
  const rows = await claimed(twice, twice, body({ phone: PHONES.b, messages: [{ from: '15551110009', id: 'wamid.dup-other' }] }));
  assert.deepEqual(await processInboxRows(h.ctx, rows, POLICY), ['done', 'done', 'done']);
  const { rows: stored } = await dbs.b.query(`SELECT wa_message_id FROM messages WHERE contact_id = (SELECT id FROM contacts WHERE wa_id = '15551110009') ORDER BY 1`);
  assert.deepEqual(stored.map((r) => r.wa_message_id), ['wamid.dup', 'wamid.dup-other']);
  const { rows: [conv] } = await dbs.b.query(`SELECT unread_count FROM conversations v JOIN contacts c ON c.id = v.contact_id WHERE c.wa_id = '15551110009'`);
  assert.equal(conv.unread_count, 2);
  assert.deepEqual(created(clients.b.id), ['wamid.dup', 'wamid.dup-other']);

  // The same batch delivered again (a retried claim): nothing changes, nothing is published.
  events.length = 0;
  assert.deepEqual(await processInboxRows(h.ctx, await claimed(twice, twice), POLICY), ['done', 'done']);
  const { rows: [again] } = await dbs.b.query(`SELECT unread_count FROM conversations v JOIN contacts c ON c.id = v.contact_id WHERE c.wa_id = '15551110009'`);
  assert.equal(again.unread_count, 2);
  assert.deepEqual(events.filter((e) => INBOUND_EVENTS.includes(e.event)), []);
});

test('a status in the same batch as its message, before it, or parked from an earlier batch is applied forward only', async () => {
  // An outbound message we sent earlier, and statuses for it spread over the batch (read before delivered).
  const { rows: [contact] } = await dbs.c.query(`INSERT INTO contacts (phone, wa_id) VALUES ('15551110020', '15551110020') RETURNING id`);
  const { rows: [conv] } = await dbs.c.query(`INSERT INTO conversations (contact_id, phone_number_id) VALUES ($1, $2) RETURNING id`, [contact.id, PHONES.c]);
  await dbs.c.query(`INSERT INTO messages (conversation_id, contact_id, direction, wa_message_id, type, text, status, status_rank)
    VALUES ($1, $2, 'outbound', 'wamid.out', 'text', 'hi', 'sent', 1)`, [conv.id, contact.id]);
  // A status parked by an earlier batch, for an inbound message that arrives later.
  assert.deepEqual(await processInboxRows(h.ctx, await claimed(body({ phone: PHONES.c, statuses: [{ id: 'wamid.late', status: 'delivered' }] })), POLICY), ['done']);
  const { rows: [parked] } = await dbs.c.query(`SELECT applied FROM message_status_events WHERE wa_message_id = 'wamid.late'`);
  assert.equal(parked.applied, false);

  events.length = 0;
  const rows = await claimed(
    body({ phone: PHONES.c, statuses: [{ id: 'wamid.out', status: 'read' }, { id: 'wamid.early', status: 'read' }] }),
    body({ phone: PHONES.c, messages: [{ from: '15551110021', id: 'wamid.early' }], statuses: [{ id: 'wamid.out', status: 'delivered' }] }),
    body({ phone: PHONES.c, messages: [{ from: '15551110022', id: 'wamid.late' }] }),
    body({ phone: PHONES.c, statuses: [{ id: 'wamid.out', status: 'read' }] }),
  );
  assert.deepEqual(await processInboxRows(h.ctx, rows, POLICY), ['done', 'done', 'done', 'done']);
  const status = async (wamid: string) => (await dbs.c.query('SELECT status FROM messages WHERE wa_message_id = $1', [wamid])).rows[0]?.status;
  assert.equal(await status('wamid.out'), 'read', 'delivered after read never regresses');
  assert.equal(await status('wamid.early'), 'read', 'a status before its message in the batch is applied');
  assert.equal(await status('wamid.late'), 'delivered', 'a parked status is applied when its message arrives');
  const { rows: recorded } = await dbs.c.query(`SELECT wa_message_id, status, applied FROM message_status_events ORDER BY 1, 2`);
  assert.deepEqual(recorded.map((r) => `${r.wa_message_id}:${r.status}:${r.applied}`),
    ['wamid.early:read:true', 'wamid.late:delivered:true', 'wamid.out:delivered:true', 'wamid.out:read:true']);
  const updated = events.filter((e) => e.event === 'message.updated').map((e) => (e.payload as { waMessageId: string; status: string }));
  assert.deepEqual(updated.map((u) => `${u.waMessageId}:${u.status}`).sort(), ['wamid.early:read', 'wamid.late:delivered', 'wamid.out:read']);

  // Failed is final, within one batch too.
  events.length = 0;
  assert.deepEqual(await processInboxRows(h.ctx, await claimed(
    body({ phone: PHONES.c, statuses: [{ id: 'wamid.early', status: 'failed' }] }),
    body({ phone: PHONES.c, statuses: [{ id: 'wamid.early', status: 'played' }] }),
  ), POLICY), ['done', 'done']);
  assert.equal(await status('wamid.early'), 'failed');
});

test('a reaction in the same batch as its target message attaches to it', async () => {
  events.length = 0;
  const reaction = body({ phone: PHONES.b, messages: [{ from: '15551110041', id: 'wamid.reaction-1' }] }) as { entry: Array<{ changes: Array<{ value: { messages: Array<Record<string, unknown>> } }> }> };
  reaction.entry[0].changes[0].value.messages[0] = {
    from: '15551110041', id: 'wamid.reaction-1', timestamp: '1760000999', type: 'reaction', reaction: { message_id: 'wamid.target', emoji: '👍' },
  };
  const rows = await claimed(body({ phone: PHONES.b, messages: [{ from: '15551110041', id: 'wamid.target' }] }), reaction);
  assert.deepEqual(await processInboxRows(h.ctx, rows, POLICY), ['done', 'done']);
  const { rows: [target] } = await dbs.b.query(`SELECT reactions FROM messages WHERE wa_message_id = 'wamid.target'`);
  assert.deepEqual(target.reactions, { '15551110041': '👍' });
  assert.equal((await dbs.b.query(`SELECT 1 FROM messages WHERE wa_message_id = 'wamid.reaction-1'`)).rowCount, 0, 'a reaction is not a message');
  assert.deepEqual(created(clients.b.id), ['wamid.target']);
  assert.equal(events.filter((e) => e.event === 'message.updated' && e.clientId === clients.b.id).length, 1);
});

test('one tenant database down: the others apply, its rows retry, and only its share is applied later', async () => {
  // This control database's own tenant database (other test files have clients with the same ids).
  const datname = `${h.database}_tenant_${clients.c.id}`;
  const admin = new pg.Client({ connectionString: process.env.ECODRIX_TEST_PG_URL });
  await admin.connect();
  events.length = 0;
  try {
    await admin.query(`ALTER DATABASE ${quoteIdent(datname)} ALLOW_CONNECTIONS false`);
    await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [datname]);
    // pg_terminate_backend only signals: wait until the backends are gone, or a pooled connection could still serve C.
    for (let i = 0; ; i++) {
      const { rows: [{ n }] } = await admin.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1', [datname]);
      if (n === 0) break;
      if (i > 600) assert.fail(`${n} backends of ${datname} still running`);
      await new Promise((r) => setTimeout(r, 25));
    }
    const rows = await claimed(
      body({ phone: PHONES.a, messages: [{ from: '15551110031', id: 'wamid.a-while-c-down' }] }),
      body({ phone: PHONES.c, messages: [{ from: '15551110032', id: 'wamid.c-while-down' }] }),
      body({ phone: PHONES.a, messages: [{ from: '15551110033', id: 'wamid.a-beside-c' }] }, { phone: PHONES.c, messages: [{ from: '15551110034', id: 'wamid.c-beside-a' }] }),
      body({ phone: PHONES.b, messages: [{ from: '15551110035', id: 'wamid.b-while-c-down' }] }),
    );
    assert.deepEqual(await processInboxRows(h.ctx, rows, POLICY), ['done', 'retry', 'retry', 'done']);
    assert.deepEqual(created(clients.a.id), ['wamid.a-while-c-down', 'wamid.a-beside-c']);
    assert.deepEqual(created(clients.b.id), ['wamid.b-while-c-down']);
    assert.deepEqual(created(clients.c.id), []);
    const mixed = await inboxRow(rows[2].id);
    assert.equal(mixed.state, 'pending');
    assert.deepEqual(mixed.done_client_ids, [clients.a.id]);
    assert.match(mixed.last_error ?? '', new RegExp(`client ${clients.c.id}`));
    assert.equal((await inboxRow(rows[1].id)).state, 'pending');

    await admin.query(`ALTER DATABASE ${quoteIdent(datname)} ALLOW_CONNECTIONS true`);
    events.length = 0;
    assert.deepEqual(await processInboxRows(h.ctx, await reclaim([rows[1].id, rows[2].id]), POLICY), ['done', 'done']);
    assert.deepEqual(created(clients.c.id), ['wamid.c-while-down', 'wamid.c-beside-a']);
    assert.deepEqual(created(clients.a.id), [], 'client A\'s share of the mixed row is not applied twice');
    const { rows: stored } = await dbs.c.query(`SELECT wa_message_id FROM messages WHERE wa_message_id LIKE 'wamid.c-%' ORDER BY 1`);
    assert.deepEqual(stored.map((r) => r.wa_message_id), ['wamid.c-beside-a', 'wamid.c-while-down']);
    assert.equal((await inboxRow(rows[2].id)).state, 'done');
  } finally {
    await admin.query(`ALTER DATABASE ${quoteIdent(datname)} ALLOW_CONNECTIONS true`).catch(() => {});
    await admin.end();
  }
});

test('a tenant\'s share of a batch costs the same statements for 2 messages as for 40', async () => {
  const tenantDatabase = `${h.database}_tenant_${clients.b.id}`;
  const proto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const original = proto.query;
  // Statements of the apply transactions only (from BEGIN with the contact locks to COMMIT): other work on the
  // tenant database (the domain-event dispatcher, scoring) may run meanwhile.
  let statements = 0;
  const applying = new WeakSet<pg.Client>();
  proto.query = function (this: pg.Client, ...args: unknown[]) {
    const text = typeof args[0] === 'string' ? args[0] : (args[0] as { text?: string })?.text ?? '';
    if (this.database === tenantDatabase && text.startsWith('BEGIN; SELECT pg_advisory_xact_lock')) applying.add(this);
    if (applying.has(this)) {
      statements++;
      if (text === 'COMMIT' || text === 'ROLLBACK') applying.delete(this);
    }
    return original.apply(this, args);
  };
  const count = async (n: number, prefix: string) => {
    const rows = await claimed(...Array.from({ length: n }, (_, i) => body({ phone: PHONES.b, messages: [{ from: `1555222${prefix}${String(i).padStart(3, '0')}`, id: `wamid.${prefix}-${i}` }] })));
    statements = 0;
    assert.ok((await processInboxRows(h.ctx, rows, POLICY)).every((o) => o === 'done'));
    return statements;
  };
  try {
    const small = await count(2, '1');
    const large = await count(40, '2');
    // BEGIN with the contact locks and the contact lookup, insert contacts, messages + conversations + leads, COMMIT.
    assert.equal(large, small);
    assert.ok(small <= 4, `round trips per tenant transaction: ${small}`);
  } finally {
    proto.query = original;
  }
});
