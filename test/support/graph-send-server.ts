/**
 * A scripted local Graph API for outbound tests: `POST /{version}/{phone}/messages`
 * answers from a queue of scripted responses (Meta's error fixtures) or with a
 * fresh success body; `GET /{version}/{waba}/message_templates` serves the two
 * template-list fixture pages, paged by cursor. Every request is recorded.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

const GRAPH_FIXTURES = path.resolve(import.meta.dirname, '../../src/whatsapp/__fixtures__/graph-responses');

export function graphFixture(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(path.join(GRAPH_FIXTURES, `${name}.json`), 'utf8'));
}

export interface ScriptedResponse { status: number; body: unknown }

export interface GraphSendServer {
  url: string;
  /** Responses for the next message sends, in order (then: success). */
  script: ScriptedResponse[];
  /** When true, the template list has one page only (page 2's templates "deleted" at Meta). */
  onlyFirstPage: boolean;
  /** Every request, with `at` = Date.now() when its body had been read. */
  requests: Array<{ method: string; path: string; authorization: string | undefined; body: unknown; at: number }>;
  close(): Promise<void>;
}

export async function startGraphSendServer(): Promise<GraphSendServer> {
  const page1 = graphFixture('template-list-page-1') as { data: unknown[]; paging: { cursors: { after: string }; next?: string } };
  const page2 = graphFixture('template-list-page-2');
  const state: GraphSendServer = {
    url: '', script: [], onlyFirstPage: false, requests: [],
    close: async () => {},
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      let body: unknown = raw;
      try {
        body = raw ? JSON.parse(raw) : undefined;
      } catch { /* multipart */ }
      const url = new URL(req.url ?? '/', 'http://local');
      state.requests.push({ method: req.method ?? '', path: url.pathname + url.search, authorization: req.headers.authorization, body, at: Date.now() });
      const reply = (status: number, payload: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(payload));
      };
      if (req.method === 'GET' && url.pathname.endsWith('/message_templates')) {
        if (url.searchParams.get('after') === page1.paging.cursors.after) return reply(200, page2);
        const first = structuredClone(page1);
        if (state.onlyFirstPage) delete first.paging.next;
        return reply(200, first);
      }
      if (req.method === 'POST' && url.pathname.endsWith('/messages')) {
        const scripted = state.script.shift();
        if (scripted) return reply(scripted.status, scripted.body);
        const to = (body as { to?: string }).to ?? '';
        return reply(200, { messaging_product: 'whatsapp', contacts: [{ input: to, wa_id: to }], messages: [{ id: `wamid.${randomBytes(24).toString('base64')}` }] });
      }
      if (req.method === 'POST' && url.pathname.endsWith('/media')) return reply(200, { id: '1000000000000999' });
      return reply(404, { error: { message: 'Unknown path', type: 'GraphMethodException', code: 100 } });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.close = async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return state;
}
