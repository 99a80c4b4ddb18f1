/**
 * Security defaults of a pacer started with nothing but the options a user must give: the admin
 * server is read-only on every route; no secret (Marathon password, basic-auth hash, TLS private
 * key) appears in any endpoint or log line; DNS does not forward unless told to; TLS is 1.2+ with
 * forward-secret AEAD suites only. (Non-root in the container: test/observability/deploy.test.ts.)
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect, type SecureVersion } from 'node:tls';
import bcrypt from 'bcryptjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dig, digFlags, digStatus } from '../helpers/dns.ts';
import { startEmulator, startPacer, waitFor, type EmulatorProc, type PacerProc } from '../helpers/processes.ts';
import { selfSigned } from '../helpers/tls.ts';
import { freePorts, http, pacerArgs } from '../proxy/helpers.ts';

const PASSWORD = 'Marathon-pa55-xyzzy-42';
const AUTH_HASH = bcrypt.hashSync('alice-secret', 4);

let dir: string;
let emulator: EmulatorProc;
let pacer: PacerProc;
let httpsPort: number;
let dnsPort: number;
let keyPem: string;

const ADMIN_PATHS = [
  '/',
  '/health',
  '/_haproxy_health_check',
  '/ready',
  '/routes',
  '/metrics',
  '/proxy/listeners',
  '/v1/version',
  '/v1/config',
  '/v1/enumerate',
  '/v1/axfr',
  '/v1/hosts/web-sec.marathon.mesos',
  '/v1/services/_web-sec._tcp.marathon.mesos',
  '/v1/habitat/rings',
  '/v1/habitat/rings/demo/peers',
];

/** One TLS handshake with the given client settings: the protocol and suite negotiated, or the error. */
function handshake(options: { minVersion: SecureVersion; maxVersion: SecureVersion; ciphers?: string }): Promise<{ ok: boolean; what: string }> {
  return new Promise((resolve) => {
    const socket = tlsConnect({
      host: '127.0.0.1',
      port: httpsPort,
      servername: 'web.sec.test',
      rejectUnauthorized: false,
      ...options,
      // SECLEVEL=0 so that it is pacer that refuses, not the client's own OpenSSL policy.
      ciphers: `${options.ciphers ?? 'DEFAULT'}:@SECLEVEL=0`,
    });
    socket.setTimeout(5_000, () => socket.destroy(new Error('timeout')));
    socket.once('secureConnect', () => {
      const what = `${socket.getProtocol()} ${socket.getCipher().standardName}`;
      socket.destroy();
      resolve({ ok: true, what });
    });
    socket.once('error', (error) => resolve({ ok: false, what: error.message }));
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pacer-sec-'));
  const credentials = join(dir, 'credentials');
  writeFileSync(credentials, `marathon:${PASSWORD}\n`);
  const pem = selfSigned(dir, 'web.sec.test');
  keyPem = readFileSync(join(dir, 'web.sec.test.key'), 'utf8');

  let vhostPort: number;
  let servicePort: number;
  [vhostPort, httpsPort, dnsPort, servicePort] = (await freePorts(4)) as [number, number, number, number];
  emulator = await startEmulator(['--credentials-file', credentials]);
  await emulator.post('/apps', {
    app: {
      id: '/sec/web',
      cmd: 'serve',
      instances: 1,
      labels: { HAPROXY_GROUP: 'external', HAPROXY_0_VHOST: 'web.sec.test', HAPROXY_0_AUTH: `private:alice:${AUTH_HASH}` },
      portDefinitions: [{ port: servicePort }],
    },
    backend: 'http',
  });
  pacer = await startPacer(
    pacerArgs(emulator.leader, vhostPort, httpsPort, ['--marathon-credentials-file', credentials, '--tls-cert', pem, '--log-level', 'trace']).map((a, i, all) =>
      all[i - 1] === '--dns-port' ? String(dnsPort) : a,
    ),
  );
  await waitFor('ready', async () => ((await fetch(`${pacer.admin}/ready`)).status === 200 ? true : undefined), 10_000);
  await waitFor('the app routed', async () => {
    const response = await http(`http://127.0.0.1:${vhostPort}/`, { host: 'web.sec.test' });
    return response.status === 401 ? true : undefined;
  });
});

afterAll(async () => {
  await pacer?.stop();
  await emulator?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('admin endpoints', () => {
  it('are read-only on every route: anything but GET and HEAD is 405', async () => {
    for (const path of ADMIN_PATHS) {
      for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
        const response = await fetch(`${pacer.admin}${path}`, { method, body: method === 'DELETE' ? undefined : '{}' });
        await response.arrayBuffer();
        expect(response.status, `${method} ${path}`).toBe(405);
      }
    }
  });

  it('never show a secret: not the Marathon password, not a basic-auth hash, not a TLS key', async () => {
    const bodies: string[] = [];
    for (const path of ADMIN_PATHS) {
      const response = await fetch(`${pacer.admin}${path}`);
      bodies.push(`${path}: ${await response.text()}`);
    }
    const keyBody = keyPem.split('\n').filter((l) => l.length > 40)[1]!;
    const secrets = [PASSWORD, Buffer.from(`marathon:${PASSWORD}`).toString('base64'), AUTH_HASH, AUTH_HASH.slice(7), 'PRIVATE KEY', keyBody];
    for (const text of [...bodies, pacer.output()]) {
      for (const secret of secrets) expect(text.includes(secret), `${secret.slice(0, 12)}… in ${text.slice(0, 60)}`).toBe(false);
    }
    // What is served still describes the app (the test would pass on empty bodies otherwise).
    expect(bodies.find((b) => b.startsWith('/routes:'))).toContain('/sec/web');
    const config = JSON.parse(bodies.find((b) => b.startsWith('/v1/config:'))!.slice('/v1/config: '.length)) as Record<string, unknown>;
    expect(Object.keys(config).length).toBeGreaterThan(3);
  });

  it('a Marathon URL with credentials in it is refused at start-up without echoing them', () => {
    let stderr = '';
    try {
      execFileSync(process.execPath, ['bin/pacer.js', '--marathon', `http://marathon:${PASSWORD}@127.0.0.1:1`], { stdio: 'pipe', timeout: 10_000 });
    } catch (error) {
      stderr = String((error as { stderr: Buffer }).stderr);
      expect((error as { status: number }).status).toBe(2);
    }
    expect(stderr).toContain('must not contain credentials');
    expect(stderr).not.toContain(PASSWORD);
  });
});

describe('DNS', () => {
  it('does not forward names outside its zone unless --dns-resolvers is set: REFUSED, no recursion offered', async () => {
    const out = await dig(dnsPort, ['example.com']);
    expect(digStatus(out)).toBe('REFUSED');
    expect(digFlags(out)).not.toContain('ra');
  });
});

describe('TLS', () => {
  it('negotiates TLS 1.3, and TLS 1.2 with an ECDHE AEAD suite', async () => {
    const v13 = await handshake({ minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3' });
    expect(v13.what).toMatch(/^TLSv1\.3 TLS_(AES_128_GCM_SHA256|AES_256_GCM_SHA384|CHACHA20_POLY1305_SHA256)$/);
    const v12 = await handshake({ minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' });
    expect(v12.what).toMatch(/^TLSv1\.2 TLS_ECDHE_RSA_WITH_(AES_128_GCM_SHA256|AES_256_GCM_SHA384|CHACHA20_POLY1305_SHA256)$/);
  });

  it('refuses TLS 1.1 and 1.0, CBC suites, and RSA key exchange', async () => {
    for (const attempt of [
      { minVersion: 'TLSv1.1', maxVersion: 'TLSv1.1' },
      { minVersion: 'TLSv1', maxVersion: 'TLSv1' },
      { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES128-SHA' },
      { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES256-SHA384' },
      { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2', ciphers: 'AES128-GCM-SHA256' },
      { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2', ciphers: 'AES256-SHA256' },
    ] as const) {
      const result = await handshake(attempt);
      expect(result.ok, `${JSON.stringify(attempt)}: ${result.what}`).toBe(false);
    }
  });
});
