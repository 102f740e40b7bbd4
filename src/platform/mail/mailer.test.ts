import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifySmtpError } from './mailer.ts';
import { SmtpAddressPolicy, isPublicUnicast } from './smtp-destination.ts';

test('SSRF policy: only public unicast on SMTP ports unless explicitly allowed', async () => {
  for (const ip of ['127.0.0.1', '10.0.0.1', '172.16.5.4', '192.168.1.1', '169.254.169.254', '100.100.100.200', '0.0.0.0', '::1', '::ffff:127.0.0.1', '::127.0.0.1', 'fd00:ec2::254', 'fe80::1', '224.0.0.1']) {
    assert.equal(isPublicUnicast(ip), false, ip);
  }
  assert.equal(isPublicUnicast('8.8.8.8'), true);
  assert.equal(isPublicUnicast('2001:4860:4860::8888'), true);
  const strict = new SmtpAddressPolicy([]);
  await assert.rejects(strict.resolve('127.0.0.1', 587), { code: 'EBLOCKED' });
  await assert.rejects(strict.resolve('[::ffff:7f00:1]', 587), { code: 'EBLOCKED' });
  await assert.rejects(strict.resolve('8.8.8.8', 8025), { code: 'EBLOCKED' }, 'non-SMTP port');
  assert.deepEqual(await strict.resolve('8.8.8.8', 465), { address: '8.8.8.8', port: 465, servername: undefined });
  const allowing = new SmtpAddressPolicy(['127.0.0.1']);
  assert.equal((await allowing.resolve('127.0.0.1', 2526)).address, '127.0.0.1');
  await assert.rejects(allowing.resolve('127.0.0.2', 587), { code: 'EBLOCKED' }, 'neighbours stay blocked');
});

test('SMTP error classification', () => {
  const err = (props: Record<string, unknown>) => Object.assign(new Error(String(props.response ?? 'x')), props);
  const kind = (props: Record<string, unknown>) => classifySmtpError(err(props)).kind;
  assert.equal(kind({ code: 'EENVELOPE', responseCode: 451, response: '451 4.7.1 Greylisted', command: 'RCPT TO' }), 'transient');
  assert.equal(kind({ code: 'EENVELOPE', responseCode: 550, response: '550 5.1.1 No such user', command: 'RCPT TO' }), 'bad_address');
  assert.equal(kind({ code: 'EMESSAGE', responseCode: 554, response: '554 5.7.1 Spam', command: 'DATA' }), 'policy');
  assert.equal(kind({ code: 'EMESSAGE', responseCode: 552, response: '552 5.3.4 Message too big', command: 'DATA' }), 'policy');
  assert.equal(kind({ code: 'EAUTH', responseCode: 535, response: '535 5.7.8 Bad credentials', command: 'AUTH PLAIN' }), 'auth');
  assert.equal(kind({ code: 'EENVELOPE', responseCode: 550, response: '550 5.4.5 Daily user sending limit exceeded', command: 'MAIL FROM' }), 'quota');
  assert.equal(kind({ code: 'ESOCKET', message: 'connect ECONNREFUSED 127.0.0.1:25' }), 'transient');
  assert.equal(kind({ code: 'ECONNECTION', message: 'Connection closed unexpectedly', command: 'CONN' }), 'uncertain');
  assert.equal(kind({ code: 'ESOCKET', message: 'certificate has expired' }), 'auth');
});
