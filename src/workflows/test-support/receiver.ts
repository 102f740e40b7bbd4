/** A real HTTP receiver on loopback for callback and webhook tests. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received { method: string; path: string; headers: http.IncomingHttpHeaders; body: string; at: number }

export interface Receiver {
  url: string;
  requests: Received[];
  /** Decides the answer per request (default 200 `{"success":true}`); may return 'hang' to never answer. */
  respond: (req: Received, index: number) => { status: number; body?: string; headers?: Record<string, string> } | 'hang';
  close(): Promise<void>;
}

export async function startReceiver(host = '127.0.0.1'): Promise<Receiver> {
  const hanging = new Set<http.ServerResponse>();
  const receiver = {
    url: '',
    requests: [] as Received[],
    respond: (() => ({ status: 200, body: '{"success":true}' })) as Receiver['respond'],
    close: async () => {},
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const entry = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() };
      receiver.requests.push(entry);
      const answer = receiver.respond(entry, receiver.requests.length - 1);
      if (answer === 'hang') {
        hanging.add(res);
        return;
      }
      res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
      res.end(answer.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  receiver.url = `http://${host}:${port}`;
  receiver.close = async () => {
    for (const res of hanging) res.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return receiver;
}

/** Polls `check` until it returns a truthy value (or throws after `timeoutMs`). */
export async function waitFor<T>(check: () => Promise<T> | T, { timeoutMs = 20_000, intervalMs = 50, what = 'condition' } = {}): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
