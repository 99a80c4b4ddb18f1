// Local task backends: real servers that name their task, per networking mode and protocol.
import dgram from 'node:dgram';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator } from '../../src/emulator/index.ts';
import type { Emulator } from '../../src/emulator/index.ts';
import { allRunning, waitUntil } from './helpers.ts';
import type { Obj } from './helpers.ts';

function tcpExchange(host: string, port: number, send: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, host);
    let got = '';
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => {
      got += d;
      if (got.includes('\n') && !got.includes(send)) sock.write(send);
      if (got.includes(send)) { sock.destroy(); resolve(got); }
    });
    sock.on('error', reject);
  });
}

function udpExchange(host: string, port: number, payload: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = dgram.createSocket('udp4');
    sock.on('message', (m) => { sock.close(); resolve(m.toString()); });
    sock.on('error', reject);
    sock.send(payload, port, host);
  });
}

function connectable(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, host);
    s.on('connect', () => { s.destroy(); resolve(true); });
    s.on('error', () => resolve(false));
  });
}

const str = (v: unknown): string => String(v);
const ports = (t: Obj | undefined): number[] => (t?.['ports'] as number[] | undefined) ?? [];

describe('task backends', () => {
  let emu: Emulator;
  beforeAll(async () => { emu = await startEmulator({ stepDelayMs: 1 }); });
  afterAll(async () => { await emu.close(); });

  it('host mode HTTP: every task answers 200 naming itself on task.host:task.ports[i]', async () => {
    await emu.createApp({ id: '/web', instances: 2, portDefinitions: [{ port: 0, name: 'a' }, { port: 0, name: 'b' }] }, { backend: 'http' });
    const tasks = await emu.waitForTasks('/web', allRunning(2));
    for (const t of tasks) {
      expect(ports(t)).toHaveLength(2);
      for (const p of ports(t)) {
        const r = await fetch(`http://${str(t['host'])}:${p}/anything?x=1`);
        expect(r.status).toBe(200);
        expect(r.headers.get('x-emulator-task')).toBe(t['id']);
        expect(r.headers.get('x-emulator-port')).toBe(String(p));
        expect(await r.text()).toBe(`${str(t['id'])}\n`);
      }
    }
  });

  it('TCP echo writes a line naming the task, then echoes', async () => {
    await emu.createApp({ id: '/echo', instances: 1, portDefinitions: [{ port: 0 }] }, { backend: 'tcp' });
    const [t] = await emu.waitForTasks('/echo', allRunning(1));
    const got = await tcpExchange(str(t?.['host']), ports(t)[0] ?? 0, 'hello\n');
    expect(got).toBe(`${str(t?.['id'])}\nhello\n`);
  });

  it('UDP echo replies "<taskId> <payload>"; udp,tcp ports get both on one number', async () => {
    await emu.createApp({ id: '/dns', instances: 1, portDefinitions: [{ port: 0, protocol: 'udp' }, { port: 0, protocol: 'tcp,udp' }] }, { backend: 'tcp' });
    const [t] = await emu.waitForTasks('/dns', allRunning(1));
    const [p0 = 0, p1 = 0] = ports(t);
    expect(await udpExchange('127.0.0.1', p0, 'ping')).toBe(`${str(t?.['id'])} ping`);
    expect(await udpExchange('127.0.0.1', p1, 'both')).toBe(`${str(t?.['id'])} both`);
    expect(await tcpExchange('127.0.0.1', p1, 'x\n')).toBe(`${str(t?.['id'])}\nx\n`);
  });

  it('bridge mode listens on the host port', async () => {
    await emu.createApp({
      id: '/bridge', instances: 1, networks: [{ mode: 'container/bridge' }],
      container: { type: 'DOCKER', docker: { image: 'x' }, portMappings: [{ containerPort: 80, hostPort: 0 }] },
    }, { backend: 'http' });
    const [t] = await emu.waitForTasks('/bridge', allRunning(1));
    expect(ports(t)).toHaveLength(1);
    const r = await fetch(`http://${str(t?.['host'])}:${ports(t)[0] ?? 0}/`);
    expect(r.headers.get('x-emulator-task')).toBe(t?.['id']);
    await r.text();
  });

  it('container mode gives each task its own loopback IP and listens on IP:containerPort', async () => {
    await emu.createApp({
      id: '/overlay', instances: 2, networks: [{ mode: 'container', name: 'dcos' }],
      container: { type: 'MESOS', portMappings: [{ containerPort: 8080, name: 'http' }, { containerPort: 9000, hostPort: 0, name: 'admin' }] },
    }, { backend: 'http' });
    const tasks = await emu.waitForTasks('/overlay', allRunning(2));
    const ips = tasks.map((t) => str((t['ipAddresses'] as Obj[])[0]?.['ipAddress']));
    expect(new Set(ips).size).toBe(2);
    for (const [i, t] of tasks.entries()) {
      const ip = ips[i] ?? '';
      expect(ip).toMatch(/^127\.0\.\d+\.\d+$/);
      expect(ip).not.toBe('127.0.0.1');
      // Only the mapping with a hostPort shows up in task.ports.
      expect(ports(t)).toHaveLength(1);
      const viaIp = await fetch(`http://${ip}:8080/`);
      expect(viaIp.headers.get('x-emulator-task')).toBe(t['id']);
      await viaIp.text();
      const viaHost = await fetch(`http://${str(t['host'])}:${ports(t)[0] ?? 0}/`);
      expect(viaHost.headers.get('x-emulator-task')).toBe(t['id']);
      await viaHost.text();
    }
  });

  it('backend none allocates ports from 31000 without servers', async () => {
    await emu.createApp({ id: '/ghost', instances: 2, portDefinitions: [{ port: 0 }, { port: 0 }] }, { backend: 'none' });
    const tasks = await emu.waitForTasks('/ghost', allRunning(2));
    const all = tasks.flatMap(ports);
    expect(new Set(all).size).toBe(4);
    for (const p of all) expect(p).toBeGreaterThanOrEqual(31000);
  });

  it('a killed task closes its servers after TASK_KILLED', async () => {
    await emu.createApp({ id: '/bye', instances: 1, portDefinitions: [{ port: 0 }] }, { backend: 'http' });
    const [t] = await emu.waitForTasks('/bye', allRunning(1));
    const port = ports(t)[0] ?? 0;
    expect(await connectable('127.0.0.1', port)).toBe(true);
    await emu.killTask(str(t?.['id']), { scale: true });
    await emu.waitForTasks('/bye', (ts) => ts.length === 0);
    await waitUntil(async () => !(await connectable('127.0.0.1', port)), 5000, 'port closed');
  });
});

describe('close()', () => {
  it('closes every backend server and node', async () => {
    const emu = await startEmulator({ stepDelayMs: 1 });
    await emu.createApp({ id: '/x', instances: 2, portDefinitions: [{ port: 0, protocol: 'udp,tcp' }] }, { backend: 'tcp' });
    const tasks = await emu.waitForTasks('/x', allRunning(2));
    const url = emu.url;
    await emu.close();
    for (const t of tasks) expect(await connectable('127.0.0.1', ports(t)[0] ?? 0)).toBe(false);
    expect(await connectable('127.0.0.1', Number(new URL(url).port))).toBe(false);
  });
});
