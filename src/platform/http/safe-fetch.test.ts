import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { assertAllowedUrl, BLOCKED_DESTINATION_MESSAGE, BlockedDestinationError, HTTPS_REQUIRED_MESSAGE, isPublicAddress, parseAllowHosts, safeFetch } from './safe-fetch.ts';
import { signWebhook, verifyWebhook, webhookKey } from './standard-webhooks.ts';

let server: http.Server;
let port: number;
const hits: string[] = [];

before(async () => {
  server = http.createServer((req, res) => {
    hits.push(req.url ?? '');
    if (req.url === '/redirect') {
      res.writeHead(302, { location: `http://127.0.0.1:${port}/secret` });
      res.end();
    } else if (req.url === '/big') {
      res.writeHead(200);
      res.end(Buffer.alloc(200_000, 0x61));
    } else if (req.url === '/slow') {
      setTimeout(() => res.end('late'), 3000).unref();
    } else if (req.url === '/stall') {
      // Headers and a first chunk at once, then nothing: the total deadline must still end it.
      res.writeHead(200);
      res.write('partial');
    } else {
      res.end('ok');
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
after(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

describe('address classification', () => {
  it('refuses every internal form and accepts public unicast', () => {
    const blocked = [
      '127.0.0.1', '127.1.2.3', '0.0.0.0', '10.1.2.3', '172.16.0.1', '192.168.1.1', '100.64.0.1', '100.100.100.200', '169.254.169.254',
      '192.0.0.1', '192.0.2.1', '198.18.0.1', '224.0.0.1', '255.255.255.255', '240.0.0.1',
      '::', '::1', 'fc00::1', 'fd00:ec2::254', 'fe80::1', 'ff02::1', '::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:10.0.0.1', '::127.0.0.1',
      '64:ff9b::7f00:1', '64:ff9b:1::1', '2002:7f00:1::1', '2001::1', 'not-an-ip',
    ];
    for (const ip of blocked) assert.equal(isPublicAddress(ip), false, ip);
    for (const ip of ['8.8.8.8', '1.1.1.1', '2606:4700:4700::1111', '::ffff:8.8.8.8']) assert.equal(isPublicAddress(ip), true, ip);
  });
});

describe('safeFetch', () => {
  const refused = [
    'http://127.0.0.1:1/x', 'http://0x7f.1/', 'http://2130706433/', 'http://017700000001/', 'http://127.1/', 'http://0/',
    'http://[::1]/', 'http://[::ffff:127.0.0.1]/', 'http://[::127.0.0.1]/', 'http://169.254.169.254/latest/meta-data', 'http://10.0.0.8/',
    'http://[fd00:ec2::254]/', 'http://100.100.100.200/', 'http://localhost/', 'file:///etc/passwd', 'ftp://example.com/',
    'http://user:pass@example.com/', 'gopher://127.0.0.1/', 'not a url',
  ];
  for (const url of refused) {
    it(`refuses ${url} with the uniform error`, async () => {
      await assert.rejects(safeFetch(url, { timeoutMs: 1000 }), (err: Error) => err instanceof BlockedDestinationError && err.message === BLOCKED_DESTINATION_MESSAGE);
    });
  }

  it('refuses a host name that resolves to loopback, and one with any internal address (rebinding answers)', async () => {
    await assert.rejects(safeFetch(`http://localhost:${port}/`), BlockedDestinationError);
    const mixed = async () => [{ address: '93.184.216.34', family: 4 }, { address: '127.0.0.1', family: 4 }];
    await assert.rejects(safeFetch(`http://rebind.example:${port}/`, { resolve: mixed }), BlockedDestinationError);
    assert.equal(hits.length, 0, 'nothing reached the loopback server');
  });

  it('connects to the checked address, not to a second resolution', async () => {
    let calls = 0;
    // First (and only) resolution says loopback; the allow list names this host, so it is used as resolved.
    const resolve = async () => {
      calls++;
      return [{ address: '127.0.0.1', family: 4 }];
    };
    const res = await safeFetch(`http://hooks.test:${port}/pinned`, { resolve, allowHosts: ['hooks.test'] });
    assert.equal(res.status, 200);
    assert.equal(calls, 1);
    assert.ok(hits.includes('/pinned'));
  });

  it('reaches loopback only through SSRF_ALLOW_HOSTS, exactly', async () => {
    const allow = parseAllowHosts(' 127.0.0.1 , Hooks.Test ');
    assert.deepEqual(allow, ['127.0.0.1', 'hooks.test']);
    const ok = await safeFetch(`http://127.0.0.1:${port}/allowed`, { allowHosts: allow });
    assert.equal(ok.status, 200);
    assert.equal(ok.body.toString(), 'ok');
    // A neighbour of the allowed address stays refused.
    await assert.rejects(safeFetch(`http://127.0.0.2:${port}/`, { allowHosts: allow }), BlockedDestinationError);
    await assert.rejects(safeFetch(`http://[::1]:${port}/`, { allowHosts: allow }), BlockedDestinationError);
  });

  it('never follows a redirect (to loopback or anywhere)', async () => {
    const res = await safeFetch(`http://127.0.0.1:${port}/redirect`, { allowHosts: ['127.0.0.1'] });
    assert.equal(res.status, 302);
    assert.ok(!hits.includes('/secret'));
  });

  it('caps the response read and times out', async () => {
    const big = await safeFetch(`http://127.0.0.1:${port}/big`, { allowHosts: ['127.0.0.1'] });
    assert.equal(big.body.length, 64 * 1024);
    assert.equal(big.truncated, true);
    const started = Date.now();
    await assert.rejects(safeFetch(`http://127.0.0.1:${port}/slow`, { allowHosts: ['127.0.0.1'], timeoutMs: 300 }), /timed out/);
    assert.ok(Date.now() - started < 2500);
  });

  it('registration check refuses literal internal hosts without DNS', () => {
    for (const url of ['http://127.0.0.1/', 'http://0x7f.1/', 'http://[::ffff:127.0.0.1]/', 'http://169.254.169.254/', 'http://localhost/', 'ftp://x.com/', 'https://u:p@x.com/']) {
      assert.throws(() => assertAllowedUrl(url), BlockedDestinationError, url);
    }
    assert.equal(assertAllowedUrl('https://yoursite.com/api/workflows/callback').hostname, 'yoursite.com');
    assert.equal(assertAllowedUrl('http://127.0.0.1:9/', { allowHosts: ['127.0.0.1'] }).port, '9');
  });

  it('times out a response whose body stalls after the headers', async () => {
    await assert.rejects(safeFetch(`http://127.0.0.1:${port}/stall`, { allowHosts: ['127.0.0.1'], timeoutMs: 300 }), /timed out/);
  });

  it('httpsOnly (production): https on port 443 only, except the allowlisted hosts', async () => {
    const policy = { httpsOnly: true, allowHosts: ['127.0.0.1'] };
    for (const url of ['http://yoursite.com/cb', 'https://yoursite.com:8443/cb', 'http://yoursite.com:443/cb', 'http://8.8.8.8/cb']) {
      assert.throws(() => assertAllowedUrl(url, policy), (err: Error) => err instanceof BlockedDestinationError && err.message === HTTPS_REQUIRED_MESSAGE, url);
    }
    assert.equal(assertAllowedUrl('https://yoursite.com:443/cb', policy).port, '');
    assert.equal(assertAllowedUrl('https://yoursite.com/cb', policy).hostname, 'yoursite.com');
    // Internal hosts keep the uniform refusal whatever the scheme.
    assert.throws(() => assertAllowedUrl('https://10.0.0.1/cb', policy), (err: Error) => err.message === BLOCKED_DESTINATION_MESSAGE);
    // At connect time too, before any DNS lookup or connection.
    let resolved = 0;
    const resolve = async () => { resolved++; return [{ address: '93.184.216.34', family: 4 }]; };
    await assert.rejects(safeFetch('http://callbacks.example.com/cb', { ...policy, resolve }), (err: Error) => err.message === HTTPS_REQUIRED_MESSAGE);
    assert.equal(resolved, 0);
    const before = hits.length;
    await assert.rejects(safeFetch(`http://127.0.0.2:${port}/x`, policy), BlockedDestinationError);
    assert.equal(hits.length, before, 'nothing sent');
    // The allowlisted loopback receiver still takes http on its own port.
    const ok = await safeFetch(`http://127.0.0.1:${port}/allowed-in-production`, policy);
    assert.equal(ok.status, 200);
  });
});

describe('Standard Webhooks signature', () => {
  it('uses the UTF-8 bytes of a plain secret and the base64 bytes of a whsec_ secret', () => {
    assert.deepEqual(webhookKey('abc'), Buffer.from('abc'));
    assert.deepEqual(webhookKey(`whsec_${Buffer.from('key-bytes').toString('base64')}`), Buffer.from('key-bytes'));
    // Known vector from the Standard Webhooks reference implementation.
    const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    const sig = signWebhook(secret, 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, '{"test": 2432232314}');
    assert.equal(sig, 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
    const headers = { 'webhook-id': 'msg_1', 'webhook-timestamp': String(Math.floor(Date.now() / 1000)), 'webhook-signature': '' };
    headers['webhook-signature'] = signWebhook('s3cret', 'msg_1', Number(headers['webhook-timestamp']), 'body');
    assert.ok(verifyWebhook('s3cret', headers, 'body'));
    assert.ok(!verifyWebhook('s3cret', headers, 'body2'));
    assert.ok(!verifyWebhook('s3cret', { ...headers, 'webhook-timestamp': String(Number(headers['webhook-timestamp']) - 600) }, 'body'));
  });
});
