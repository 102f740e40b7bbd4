/**
 * A local server speaking the Graph API media endpoints for tests:
 * `GET /{version}/{media-id}` → `{ url, mime_type, sha256 (hex), file_size, id, messaging_product }`
 * and `GET /download/{media-id}` → the bytes, both requiring `Authorization: Bearer <token>`
 * (401 with Graph error 190 otherwise, like Meta). Per-media knobs simulate
 * lying metadata, redirects and transient 5xx failures.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeMedia {
  bytes: Buffer;
  mimeType: string;
  /** Override the sha256 the metadata reports (default: the real hex digest). */
  sha256?: string;
  /** Override the file_size the metadata reports (default: the real size); null omits it. */
  fileSize?: number | null;
  /** Download answers 302 to this URL instead of the bytes. */
  redirectTo?: string;
  /** The metadata reports this download URL instead of the server's own. */
  url?: string;
  /** The first N metadata requests answer 503. */
  failMetadataTimes?: number;
}

export interface GraphMediaServer {
  url: string;
  version: string;
  token: string;
  media: Map<string, FakeMedia>;
  /** Every request: path and whether the bearer token was right. */
  requests: Array<{ path: string; authorized: boolean }>;
  close(): Promise<void>;
}

export async function startGraphMediaServer(options: { token: string; version?: string }): Promise<GraphMediaServer> {
  const version = options.version ?? 'v26.0';
  const media = new Map<string, FakeMedia>();
  const requests: GraphMediaServer['requests'] = [];
  const failures = new Map<string, number>();
  let base = '';

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://graph.local');
    const authorized = req.headers.authorization === `Bearer ${options.token}`;
    requests.push({ path: url.pathname, authorized });
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (!authorized) return json(401, { error: { message: 'Invalid OAuth access token.', type: 'OAuthException', code: 190, fbtrace_id: 'Atest' } });
    const metadata = url.pathname.match(/^\/([^/]+)\/([^/]+)$/);
    const download = url.pathname.match(/^\/download\/([^/]+)$/);
    if (metadata && metadata[1] === version) {
      const id = decodeURIComponent(metadata[2]);
      const item = media.get(id);
      if (!item) return json(400, { error: { message: 'Unsupported get request.', type: 'GraphMethodException', code: 100, error_subcode: 33 } });
      const failed = failures.get(id) ?? 0;
      if (failed < (item.failMetadataTimes ?? 0)) {
        failures.set(id, failed + 1);
        return json(503, { error: { message: 'Service temporarily unavailable', code: 2, type: 'OAuthException' } });
      }
      const body: Record<string, unknown> = {
        url: item.url ?? `${base}/download/${encodeURIComponent(id)}?ext=1792400320&hash=ARfk3Qm0`,
        mime_type: item.mimeType,
        sha256: item.sha256 ?? createHash('sha256').update(item.bytes).digest('hex'),
        id,
        messaging_product: 'whatsapp',
      };
      if (item.fileSize !== null) body.file_size = item.fileSize ?? item.bytes.length;
      return json(200, body);
    }
    if (download) {
      const item = media.get(decodeURIComponent(download[1]));
      if (!item) return json(404, { error: { message: 'not found' } });
      if (item.redirectTo) {
        res.writeHead(302, { location: item.redirectTo });
        return res.end();
      }
      res.writeHead(200, { 'content-type': item.mimeType, 'content-length': item.bytes.length });
      return res.end(item.bytes);
    }
    return json(404, { error: { message: 'Unknown path' } });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: base, version, token: options.token, media, requests,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
