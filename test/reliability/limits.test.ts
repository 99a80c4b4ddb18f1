/**
 * Connection limits (--max-connections-per-port, --max-connections): real pacer, real sockets.
 * Beyond a limit an HTTP client gets a 503 naming the limit, a TCP client a close; the refusal is
 * counted and logged; a freed place is taken again.
 */
import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metric, startEmulator, startPacer, waitFor, type EmulatorProc, type PacerProc } from '../helpers/processes.ts';
import { rawConnect } from '../helpers/raw-socket.ts';
import { freePorts, pacerArgs } from '../proxy/helpers.ts';

let emulator: EmulatorProc;
let pacer: PacerProc;
let tcpPort: number;
let httpPort: number;
let vhostPort: number;
const open: Socket[] = [];

/** Connect and send; resolve with the socket once what arrived satisfies `until`, or with what came before the close. */
async function session(port: number, send: string, until: (text: string) => boolean): Promise<{ socket: Socket; text: string; closed: boolean }> {
  const c = await rawConnect(port);
  c.write(send);
  try {
    await c.until((text) => until(text) || c.isClosed(), 5_000, `an answer on ${port}`);
  } catch (error) {
    c.destroy();
    throw error;
  }
  return { socket: c.socket, text: c.data(), closed: c.isClosed() };
}

const GET = (host: string) => `GET / HTTP/1.1\r\nhost: ${host}\r\n\r\n`;
const answered = (text: string) => /\r\n\r\n/.test(text) && /content-length: (\d+)/i.test(text) && text.endsWith('\n');

async function holdTcp(): Promise<Socket> {
  const s = await session(tcpPort, '', (t) => t.includes('\n'));
  expect(s.closed).toBe(false);
  open.push(s.socket);
  return s.socket;
}

async function holdHttp(port: number, host: string): Promise<Socket> {
  const s = await session(port, GET(host), answered);
  expect(s.text).toMatch(/^HTTP\/1\.1 200/);
  open.push(s.socket);
  return s.socket;
}

function closeAndWait(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    if (socket.closed) return resolve();
    socket.once('close', () => resolve());
    socket.destroy();
  });
}

beforeAll(async () => {
  [tcpPort, httpPort, vhostPort] = (await freePorts(3)) as [number, number, number];
  emulator = await startEmulator();
  const base = { cmd: 'serve', instances: 1 };
  await emulator.post('/apps', { app: { ...base, id: '/lim/tcp', labels: { HAPROXY_GROUP: 'external' }, portDefinitions: [{ port: tcpPort }] }, backend: 'tcp' });
  await emulator.post('/apps', {
    app: { ...base, id: '/lim/web', labels: { HAPROXY_GROUP: 'external', HAPROXY_0_VHOST: 'web.lim.test' }, portDefinitions: [{ port: httpPort }] },
    backend: 'http',
  });
  pacer = await startPacer(pacerArgs(emulator.leader, vhostPort, 0, ['--max-connections-per-port', '3', '--max-connections', '5']));
  await waitFor('both services routed', async () => {
    const tcp = await session(tcpPort, '', (t) => t.includes('\n')).catch(() => undefined);
    tcp?.socket.destroy();
    const web = await session(httpPort, GET('x'), answered).catch(() => undefined);
    web?.socket.destroy();
    return tcp && !tcp.closed && web?.text.startsWith('HTTP/1.1 200') ? true : undefined;
  }, 10_000);
  await waitFor('pacer to count no connection', async () => ((await metric(pacer.admin, 'pacer_proxy_connections')) === 0 ? true : undefined));
});

afterAll(async () => {
  for (const s of open) s.destroy();
  await pacer?.stop();
  await emulator?.stop();
});

describe('connection limits', () => {
  it('a service port takes --max-connections-per-port connections; the next TCP client is closed, and a freed place is taken again', async () => {
    const held = [await holdTcp(), await holdTcp(), await holdTcp()];
    const refused = await session(tcpPort, '', (t) => t.includes('\n'));
    expect(refused.closed).toBe(true);
    expect(refused.text).toBe('');
    expect(await metric(pacer.admin, 'pacer_proxy_connections_refused_total', { limit: 'listener' })).toBeGreaterThanOrEqual(1);
    expect(pacer.output()).toMatch(/refusing connections: connection limit reached: 3 open on tcp 127\.0\.0\.1:\d+ \(--max-connections-per-port\)/);
    await closeAndWait(held[0]!);
    await waitFor('a place to free up', async () => ((await metric(pacer.admin, 'pacer_proxy_connections')) === 2 ? true : undefined));
    await holdTcp();
    for (const s of open.splice(0)) await closeAndWait(s);
  });

  it('an HTTP client beyond the limit gets a 503 that names the limit, on a service port', async () => {
    await waitFor('no connection held', async () => ((await metric(pacer.admin, 'pacer_proxy_connections')) === 0 ? true : undefined));
    for (let i = 0; i < 3; i++) await holdHttp(httpPort, 'web.lim.test');
    const refused = await session(httpPort, GET('web.lim.test'), answered);
    expect(refused.text).toMatch(/^HTTP\/1\.1 503 /);
    expect(refused.text).toContain('connection: close');
    expect(refused.text).toContain('--max-connections-per-port');
    for (const s of open.splice(0)) await closeAndWait(s);
  });

  it('--max-connections caps all listeners together, virtual-host listener included', async () => {
    await waitFor('no connection held', async () => ((await metric(pacer.admin, 'pacer_proxy_connections')) === 0 ? true : undefined));
    for (let i = 0; i < 3; i++) await holdTcp();
    for (let i = 0; i < 2; i++) await holdHttp(vhostPort, 'web.lim.test');
    expect(await metric(pacer.admin, 'pacer_proxy_connections')).toBe(5);
    const before = await metric(pacer.admin, 'pacer_proxy_connections_refused_total', { limit: 'total' });
    const refused = await session(vhostPort, GET('web.lim.test'), answered);
    expect(refused.text).toMatch(/^HTTP\/1\.1 503 /);
    expect(refused.text).toContain('5 open on all listeners (--max-connections)');
    expect(await metric(pacer.admin, 'pacer_proxy_connections_refused_total', { limit: 'total' })).toBe(before + 1);
    // The admin server is not a proxy listener: it still answers.
    expect((await fetch(`${pacer.admin}/health`)).status).toBe(200);
    for (const s of open.splice(0)) await closeAndWait(s);
    await waitFor('the places to free up', async () => ((await metric(pacer.admin, 'pacer_proxy_connections')) === 0 ? true : undefined));
    await holdHttp(vhostPort, 'web.lim.test');
  });
});
