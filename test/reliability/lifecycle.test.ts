/**
 * Shutdown and restart: SIGTERM closes the listeners at once, lets requests in flight finish for up
 * to --drain-timeout, cuts what is left after it, and exits 0; a restarted pacer serves again as
 * soon as its first sync is applied.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, startPacer, waitFor, type EmulatorProc, type PacerProc } from '../helpers/processes.ts';
import { rawConnect } from '../helpers/raw-socket.ts';
import { freePorts, http, pacerArgs } from '../proxy/helpers.ts';

let emulator: EmulatorProc;
let backend: Server;
let servicePort: number;
let vhostPort: number;
/** Requests the backend holds: released by the test. */
const held: { req: IncomingMessage; res: ServerResponse }[] = [];
const started: PacerProc[] = [];

/** One HTTP/1.1 request on a raw socket: resolves with everything received until the close (30 s at most: the test timeout). */
function rawRequest(port: number, path: string): { done: Promise<string> } {
  const done = (async () => {
    const c = await rawConnect(port);
    c.write(`GET ${path} HTTP/1.1\r\nhost: slow.test\r\nconnection: close\r\n\r\n`);
    return c.closed(30_000);
  })();
  return { done };
}

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.on('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'));
  });
}

async function servedOnce(port: number): Promise<boolean> {
  try {
    const response = await http(`http://127.0.0.1:${port}/fast`, { host: 'slow.test' });
    return response.status === 200 && response.body === 'fast\n';
  } catch {
    return false;
  }
}

async function pacerServing(extra: string[]): Promise<PacerProc> {
  const pacer = await startPacer(pacerArgs(emulator.leader, vhostPort, 0, extra));
  started.push(pacer);
  await waitFor('pacer to serve the slow app', () => servedOnce(servicePort).then((ok) => ok || undefined), 10_000);
  return pacer;
}

beforeAll(async () => {
  let backendPort: number;
  [servicePort, vhostPort, backendPort] = (await freePorts(3)) as [number, number, number];
  backend = createServer((req, res) => {
    if (req.url === '/fast') {
      res.end('fast\n');
      return;
    }
    held.push({ req, res });
  });
  await new Promise<void>((resolve) => backend.listen(backendPort, '127.0.0.1', resolve));
  emulator = await startEmulator();
  await emulator.post('/apps', {
    app: {
      id: '/life/slow',
      cmd: 'serve',
      instances: 1,
      requirePorts: true,
      labels: { HAPROXY_GROUP: 'external', HAPROXY_0_MODE: 'http', HAPROXY_0_PORT: String(servicePort), HAPROXY_0_VHOST: 'slow.test' },
      portDefinitions: [{ port: backendPort }],
    },
    backend: 'none',
  });
});

afterEach(async () => {
  for (const h of held.splice(0)) h.res.destroy();
  for (const p of started.splice(0)) await p.stop();
});

afterAll(async () => {
  await emulator?.stop();
  backend?.closeAllConnections();
  await new Promise((resolve) => backend?.close(resolve));
});

describe('SIGTERM', () => {
  it('closes the listeners at once, lets a request in flight finish, then exits 0', async () => {
    const pacer = await pacerServing(['--drain-timeout', '10']);
    const viaPort = rawRequest(servicePort, '/slow-1');
    const viaVhost = rawRequest(vhostPort, '/slow-2');
    await waitFor('the backend to hold both requests', () => (held.length === 2 ? true : undefined));
    const exited = pacer.stop();
    // New connections are refused while the requests in flight are still running.
    await waitFor('the service port to close', () => refused(servicePort).then((r) => r || undefined));
    await waitFor('the virtual-host port to close', () => refused(vhostPort).then((r) => r || undefined));
    expect(pacer.child.exitCode).toBeNull();
    for (const h of held.splice(0)) h.res.end(`done ${h.req.url}\n`);
    const [a, b] = await Promise.all([viaPort.done, viaVhost.done]);
    expect(a).toMatch(/^HTTP\/1\.1 200 /);
    expect(a).toContain('done /slow-1');
    expect(b).toMatch(/^HTTP\/1\.1 200 /);
    expect(b).toContain('done /slow-2');
    expect(await exited).toBe(0);
    expect(pacer.output()).toContain('"msg":"stopped"');
  });

  it('cuts what is still in flight at --drain-timeout, and still exits 0', async () => {
    const pacer = await pacerServing(['--drain-timeout', '1']);
    const stuck = rawRequest(servicePort, '/never');
    await waitFor('the backend to hold the request', () => (held.length === 1 ? true : undefined));
    const t0 = Date.now();
    const code = await pacer.stop();
    const cutAfter = Date.now() - t0;
    expect(code).toBe(0);
    expect(await stuck.done).not.toMatch(/^HTTP\/1\.1 200 /);
    // The drain timeout ended it (not the 5 s default grace of Pacer.stop, nor the helper's 10 s SIGKILL).
    expect(cutAfter).toBeLessThan(4_000);
  });
});

describe('restart', () => {
  it('a restarted pacer serves again as soon as its first sync is applied', async () => {
    const first = await pacerServing([]);
    expect(await first.stop()).toBe(0);
    expect(await refused(servicePort)).toBe(true);
    const second = await startPacer(pacerArgs(emulator.leader, vhostPort, 0));
    started.push(second);
    await waitFor('ready', async () => ((await fetch(`${second.admin}/ready`)).status === 200 ? true : undefined), 10_000, 5);
    const ready = Date.now();
    // Within a second of the first sync (the listener binds right after the table is applied).
    await waitFor('traffic', () => servedOnce(servicePort).then((ok) => ok || undefined), 1_000, 5);
    const servedAfter = Date.now() - ready;
    console.log(`restart: first request served ${servedAfter} ms after /ready turned 200`);
  });
});
