/**
 * HTTPS with certificates chosen by SNI, WebSocket upgrades, and UDP, through pacer.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { connect as netConnect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getJson, startEmulator, startPacer, waitFor, type EmulatorProc, type PacerProc } from '../helpers/processes.ts';
import { selfSigned } from '../helpers/tls.ts';
import { freePorts, pacerArgs, udpExchange } from './helpers.ts';

let emulator: EmulatorProc;
let pacer: PacerProc;
let dir: string;
let httpsPort: number;
let wsPort: number;
let udpPort: number;
let wsServer: Server;

/** TLS handshake with SNI `servername`, then one HTTP/1.1 request; returns the peer certificate CN and the response. */
function httpsGet(servername: string, path = '/'): Promise<{ cn: string; response: string }> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port: httpsPort, servername, rejectUnauthorized: false, minVersion: 'TLSv1.2' }, () => {
      const cn = String(socket.getPeerCertificate().subject?.CN ?? '');
      socket.write(`GET ${path} HTTP/1.1\r\nhost: ${servername}\r\nconnection: close\r\n\r\n`);
      let response = '';
      socket.on('data', (c: Buffer) => (response += c.toString()));
      socket.on('end', () => resolve({ cn, response }));
    });
    socket.on('error', reject);
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pacer-tls-'));
  const alpha = selfSigned(dir, 'alpha.test');
  const beta = selfSigned(dir, 'beta.test');
  const ports = await freePorts(7);
  const [httpPort, alphaPort, betaPort] = ports as [number, number, number];
  httpsPort = ports[3]!;
  wsPort = ports[4]!;
  udpPort = ports[5]!;
  const wsBackendPort = ports[6]!;

  // A tiny WebSocket echo backend: answers the handshake, then echoes the raw frames.
  wsServer = createServer((_req, res) => res.end('not a websocket\n'));
  wsServer.on('upgrade', (req, socket: Socket) => {
    const accept = createHash('sha1').update(`${String(req.headers['sec-websocket-key'])}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-accept: ${accept}\r\nx-seen-forwarded-for: ${String(req.headers['x-forwarded-for'])}\r\n\r\n`);
    socket.pipe(socket);
  });
  await new Promise<void>((resolve) => wsServer.listen(wsBackendPort, '127.0.0.1', resolve));

  emulator = await startEmulator(['--keepalive-ms', '1000']);
  const base = { cmd: 'serve', instances: 1 };
  await emulator.post('/apps', { app: { ...base, id: '/p/alpha', labels: { HAPROXY_GROUP: 'external', HAPROXY_0_VHOST: 'alpha.test', HAPROXY_0_USE_HSTS: 'true' }, portDefinitions: [{ port: alphaPort }] }, backend: 'http' });
  await emulator.post('/apps', { app: { ...base, id: '/p/beta', labels: { HAPROXY_GROUP: 'external', HAPROXY_0_VHOST: 'beta.test', HAPROXY_0_SSL_CERT: beta }, portDefinitions: [{ port: betaPort }] }, backend: 'http' });
  // The WebSocket app's task is our server: requirePorts pins the task port, HAPROXY_0_PORT the listener.
  await emulator.post('/apps', {
    app: { ...base, id: '/p/ws', requirePorts: true, labels: { HAPROXY_GROUP: 'external', HAPROXY_0_MODE: 'http', HAPROXY_0_PORT: String(wsPort) }, portDefinitions: [{ port: wsBackendPort }] },
    backend: 'none',
  });
  await emulator.post('/apps', { app: { ...base, id: '/p/udp', instances: 2, portDefinitions: [{ port: udpPort, protocol: 'udp' }], labels: { HAPROXY_GROUP: 'external' } }, backend: 'udp' });
  pacer = await startPacer(pacerArgs(emulator.leader, httpPort, httpsPort, ['--tls-cert', alpha]));
  await waitFor('pacer to route alpha.test over https', async () => ((await httpsGet('alpha.test')).response.startsWith('HTTP/1.1 200') ? true : undefined), 10_000);
});

afterAll(async () => {
  await pacer?.stop();
  await emulator?.stop();
  await new Promise<void>((resolve) => (wsServer ? wsServer.close(() => resolve()) : resolve()));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('HTTPS', () => {
  it('picks the certificate by SNI from --tls-cert and HAPROXY_{n}_SSL_CERT, and routes by host', async () => {
    const a = await httpsGet('alpha.test');
    expect(a.cn).toBe('alpha.test');
    expect(a.response).toMatch(/^HTTP\/1\.1 200/);
    expect(a.response).toMatch(/p_alpha|p\.alpha|alpha/);
    expect(a.response.toLowerCase()).toContain('strict-transport-security: max-age=15768000');
    const b = await httpsGet('beta.test');
    expect(b.cn).toBe('beta.test');
    expect(b.response).toMatch(/^HTTP\/1\.1 200/);
    expect(b.response).toMatch(/beta/);
  });

  it('refuses TLS 1.1', async () => {
    await expect(
      new Promise((resolve, reject) => {
        const s = tlsConnect({ host: '127.0.0.1', port: httpsPort, servername: 'alpha.test', rejectUnauthorized: false, minVersion: 'TLSv1', maxVersion: 'TLSv1.1' }, () => resolve('connected'));
        s.on('error', reject);
      }),
    ).rejects.toThrow();
  });

  it('reports a label certificate that cannot be loaded, and keeps routing the others', async () => {
    await emulator.post('/apps', {
      app: { cmd: 'serve', instances: 1, id: '/p/badcert', labels: { HAPROXY_GROUP: 'external', HAPROXY_0_VHOST: 'bad.test', HAPROXY_0_SSL_CERT: '/nonexistent/cert.pem' }, portDefinitions: [{ port: 0 }] },
      backend: 'http',
    });
    await waitFor('the certificate problem', async () => {
      const { body } = await getJson<{ problems: { kind: string; listener: string; services: string[] }[] }>(`${pacer.admin}/proxy/listeners`);
      return body.problems.find((p) => p.kind === 'certificate' && p.listener === '/nonexistent/cert.pem' && p.services.includes('/p/badcert:0'));
    });
    expect((await httpsGet('beta.test')).response).toMatch(/^HTTP\/1\.1 200/);
  });
});

describe('WebSocket', () => {
  it('upgrades through the proxy and echoes frames both ways', async () => {
    const socket = netConnect({ host: '127.0.0.1', port: wsPort });
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write('GET /chat HTTP/1.1\r\nhost: ws.test\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-version: 13\r\n\r\n');
    let received = Buffer.alloc(0);
    socket.on('data', (c: Buffer) => (received = Buffer.concat([received, c])));
    const headEnd = await waitFor('the 101', () => {
      const at = received.indexOf('\r\n\r\n');
      return at === -1 ? undefined : at + 4;
    });
    const head = received.subarray(0, headEnd).toString();
    expect(head).toMatch(/^HTTP\/1\.1 101/);
    expect(head).toContain('sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
    expect(head).toContain('x-seen-forwarded-for: 127.0.0.1');
    // A masked text frame "hello" (client → server), echoed back verbatim by the backend.
    const mask = Buffer.from([1, 2, 3, 4]);
    const payload = Buffer.from('hello');
    const frame = Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, Buffer.from(payload.map((b, i) => b ^ mask[i % 4]!))]);
    socket.write(frame);
    await waitFor('the echo', () => (received.length >= headEnd + frame.length ? true : undefined));
    expect(received.subarray(headEnd, headEnd + frame.length)).toEqual(frame);
    socket.destroy();
  });
});

describe('UDP', () => {
  it('relays datagrams to the tasks and their replies back, balancing new flows', async () => {
    const answers = new Set<string>();
    await waitFor('UDP echo through pacer', async () => {
      const reply = await udpExchange(udpPort, 'ping');
      expect(reply).toMatch(/ ping$/);
      answers.add(reply.split(' ')[0]!);
      return answers.size === 2 ? true : undefined;
    }, 10_000);
  });
});
