/**
 * Meta's media endpoints: metadata (`GET /{version}/{media-id}`) and the download
 * of the short-lived URL it returns, both with the client's bearer token.
 *
 * The token is only ever sent to the configured Graph origin and Meta's fixed
 * media hosts over https (security.md §4). Redirects are followed by hand, at
 * most 3 hops, each re-validated against the same list. The body is streamed to
 * a file with a byte cap (Content-Length is not trusted) and hashed on the way;
 * connect and total timeouts apply. Failures say whether a retry can help.
 */
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';

/** Hosts that serve WhatsApp media besides the configured Graph API origin. */
export const META_MEDIA_HOSTS: ReadonlySet<string> = new Set(['graph.facebook.com', 'lookaside.fbsbx.com']);
const MAX_REDIRECTS = 3;

/** A failed media step. `permanent`: retrying cannot help (mark failed); otherwise retry with backoff. */
export class MediaError extends Error {
  readonly permanent: boolean;
  constructor(message: string, permanent: boolean) {
    super(message);
    this.name = 'MediaError';
    this.permanent = permanent;
  }
}

export interface MediaClientOptions {
  graphBaseUrl: string;
  graphApiVersion: string;
  connectTimeoutMs: number;
  totalTimeoutMs: number;
}

export interface MediaMetadata {
  url: string;
  /** Without parameters, lower case. */
  mimeType: string;
  sha256?: string;
  fileSize?: number;
}

/** True when the bearer token may be sent to `url`. */
export function isAllowedMediaUrl(url: URL, graphBaseUrl: string): boolean {
  if (url.username || url.password) return false;
  if (url.origin === new URL(graphBaseUrl).origin) return true;
  return url.protocol === 'https:' && url.port === '' && META_MEDIA_HOSTS.has(url.hostname.toLowerCase());
}

/** One GET with a connect timeout and an overall deadline; no redirects followed. */
function get(url: URL, headers: Record<string, string>, connectTimeoutMs: number, signal: AbortSignal): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const transport = url.protocol === 'https:' ? https : http;
    const req = transport.request(url, { method: 'GET', headers, signal, agent: false });
    const connectTimer = setTimeout(() => req.destroy(new MediaError(`connect timeout after ${connectTimeoutMs} ms`, false)), connectTimeoutMs);
    req.on('socket', (socket) => {
      if (!socket.connecting) clearTimeout(connectTimer);
      socket.once(url.protocol === 'https:' ? 'secureConnect' : 'connect', () => clearTimeout(connectTimer));
    });
    req.on('response', (res) => {
      clearTimeout(connectTimer);
      resolve(res);
    });
    req.on('error', (err) => {
      clearTimeout(connectTimer);
      reject(err);
    });
    req.end();
  });
}

function networkError(err: unknown, what: string): MediaError {
  if (err instanceof MediaError) return err;
  const e = err as { name?: string; code?: string; message?: string };
  if (e.name === 'AbortError' || e.name === 'TimeoutError') return new MediaError(`${what}: timed out`, false);
  return new MediaError(`${what}: ${e.code ?? e.message ?? 'network error'}`, false);
}

async function readSmall(res: IncomingMessage, limit = 64 * 1024): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      res.destroy();
      throw new MediaError('Graph response too large', true);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Strips parameters (`audio/ogg; codecs=opus` → `audio/ogg`) and lower-cases. */
export function baseMimeType(value: string): string {
  return value.split(';')[0].trim().toLowerCase();
}

/** `GET {graph}/{version}/{mediaId}` → url, type, hash, size. */
export async function fetchMediaMetadata(options: MediaClientOptions, input: { token: string; mediaId: string; phoneNumberId?: string }): Promise<MediaMetadata> {
  if (!/^[A-Za-z0-9_.-]{1,128}$/.test(input.mediaId)) throw new MediaError('invalid media id', true);
  const url = new URL(`${options.graphBaseUrl}/${options.graphApiVersion}/${encodeURIComponent(input.mediaId)}`);
  if (input.phoneNumberId) url.searchParams.set('phone_number_id', input.phoneNumberId);
  const signal = AbortSignal.timeout(options.totalTimeoutMs);
  let res: IncomingMessage;
  let text: string;
  try {
    res = await get(url, { authorization: `Bearer ${input.token}`, accept: 'application/json' }, options.connectTimeoutMs, signal);
    text = await readSmall(res);
  } catch (err) {
    throw networkError(err, 'media metadata request failed');
  }
  const status = res.statusCode ?? 0;
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    if (status === 200) throw new MediaError('media metadata is not JSON', false);
  }
  if (status !== 200) {
    const error = (body.error ?? {}) as { code?: number; message?: string };
    const detail = `Graph ${status}${error.code !== undefined ? ` code ${error.code}` : ''}${error.message ? `: ${String(error.message).slice(0, 200)}` : ''}`;
    if (status === 429 || status >= 500 || error.code === 4 || error.code === 80007 || error.code === 130429) {
      throw new MediaError(`media metadata unavailable (${detail})`, false);
    }
    if (status === 401 || error.code === 190) throw new MediaError(`WhatsApp token rejected (${detail})`, true);
    throw new MediaError(`media metadata refused (${detail})`, true);
  }
  const fileSize = typeof body.file_size === 'number' ? body.file_size
    : typeof body.file_size === 'string' && /^\d+$/.test(body.file_size) ? Number(body.file_size) : undefined;
  if (typeof body.url !== 'string' || typeof body.mime_type !== 'string') throw new MediaError('media metadata lacks url or mime_type', true);
  return {
    url: body.url,
    mimeType: baseMimeType(body.mime_type),
    sha256: typeof body.sha256 === 'string' ? body.sha256 : undefined,
    fileSize,
  };
}

export interface DownloadResult {
  size: number;
  /** Raw sha-256 digest of the bytes written. */
  sha256: Buffer;
  contentType?: string;
}

/**
 * Downloads `url` with the bearer token into `file`, at most `maxBytes`.
 * Only allowed hosts are contacted, on every hop.
 */
export async function downloadMedia(options: MediaClientOptions, input: { url: string; token: string; maxBytes: number; file: string }): Promise<DownloadResult> {
  const signal = AbortSignal.timeout(options.totalTimeoutMs);
  let url: URL;
  try {
    url = new URL(input.url);
  } catch {
    throw new MediaError('media URL is not a valid URL', true);
  }
  for (let hop = 0; ; hop++) {
    if (!isAllowedMediaUrl(url, options.graphBaseUrl)) throw new MediaError(`media host not allowed: ${url.protocol}//${url.host}`, true);
    let res: IncomingMessage;
    try {
      res = await get(url, { authorization: `Bearer ${input.token}` }, options.connectTimeoutMs, signal);
    } catch (err) {
      throw networkError(err, 'media download failed');
    }
    const status = res.statusCode ?? 0;
    if (status >= 300 && status < 400 && status !== 304) {
      res.resume();
      const location = res.headers.location;
      if (!location) throw new MediaError(`media download: redirect ${status} without Location`, true);
      if (hop + 1 > MAX_REDIRECTS) throw new MediaError(`media download: more than ${MAX_REDIRECTS} redirects`, true);
      try {
        url = new URL(location, url);
      } catch {
        throw new MediaError('media download: invalid redirect target', true);
      }
      continue;
    }
    if (status !== 200) {
      res.resume();
      // 401/403/404/410: the 5-minute URL expired or was revoked; a retry fetches a fresh one.
      const transient = status === 401 || status === 403 || status === 404 || status === 410 || status === 408 || status === 429 || status >= 500;
      throw new MediaError(`media download: HTTP ${status}`, !transient);
    }
    const declared = Number(res.headers['content-length']);
    if (Number.isFinite(declared) && declared > input.maxBytes) {
      res.destroy();
      throw new MediaError(`media too large: ${declared} bytes (limit ${input.maxBytes})`, true);
    }
    return streamToFile(res, input.file, input.maxBytes);
  }
}

async function streamToFile(res: IncomingMessage, file: string, maxBytes: number): Promise<DownloadResult> {
  const hash = createHash('sha256');
  const handle = await open(file, 'w', 0o600);
  let size = 0;
  try {
    for await (const chunk of res) {
      const buf = chunk as Buffer;
      size += buf.length;
      if (size > maxBytes) {
        res.destroy();
        throw new MediaError(`media too large: more than ${maxBytes} bytes`, true);
      }
      hash.update(buf);
      await handle.write(buf);
    }
  } catch (err) {
    throw networkError(err, 'media download interrupted');
  } finally {
    await handle.close();
  }
  if (!res.complete) throw new MediaError('media download interrupted', false);
  return { size, sha256: hash.digest(), contentType: res.headers['content-type'] };
}

/** Compares a digest with Meta's `sha256`, which is hex (media URL metadata) or base64 (webhook). */
export function sha256Matches(digest: Buffer, expected: string): boolean {
  const text = expected.trim();
  if (/^[0-9a-fA-F]{64}$/.test(text)) return digest.equals(Buffer.from(text, 'hex'));
  const decoded = Buffer.from(text, 'base64');
  return decoded.length === 32 && digest.equals(decoded);
}
