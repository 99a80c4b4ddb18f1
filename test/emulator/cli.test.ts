// The `pacer emulator` command, run as a child process.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { demoApps } from '../../src/emulator/demo-apps.ts';
import { startEmulator } from '../../src/emulator/index.ts';
import { waitUntil } from './helpers.ts';

const CLI = new URL('../../src/emulator/cli.ts', import.meta.url).pathname;

function run(args: string[]): { lines: () => string[]; exit: Promise<number | null>; kill: () => void } {
  const code = `import(${JSON.stringify(CLI)}).then((m) => m.runEmulatorCommand(${JSON.stringify(args)})).catch((e) => { console.error(e); process.exit(2); });`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d: string) => { out += d; });
  const exit = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  return { lines: () => out.split('\n').filter((l) => l !== ''), exit, kill: () => child.kill('SIGTERM') };
}

describe('pacer emulator command', () => {
  it('prints one JSON line, serves, and exits 0 on SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'emu-'));
    const credsFile = join(dir, 'creds');
    writeFileSync(credsFile, 'bob:pw\n');
    const p = run(['--port', '0', '--standby-port', '0', '--credentials-file', credsFile, '--keepalive-ms', '100']);
    try {
      const line = await waitUntil(() => p.lines()[0], 15_000, 'startup line');
      const msg = JSON.parse(line) as Record<string, unknown>;
      expect(Object.keys(msg)).toEqual(['msg', 'leader', 'standby', 'control']);
      expect(msg['msg']).toBe('emulator listening');
      expect(msg['leader']).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(msg['standby']).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(msg['control']).toBe(`${String(msg['leader'])}/_emulator`);
      expect((await fetch(`${String(msg['leader'])}/ping`)).status).toBe(401);
      const ok = await fetch(`${String(msg['leader'])}/ping`, { headers: { Authorization: `Basic ${Buffer.from('bob:pw').toString('base64')}` } });
      expect(await ok.text()).toBe('pong');
    } finally {
      p.kill();
    }
    expect(await p.exit).toBe(0);
    expect(p.lines()).toHaveLength(1);
  });

  it('--help prints usage and exits', async () => {
    const p = run(['--help']);
    expect(await p.exit).toBe(0);
    expect(p.lines()[0]).toMatch(/^Usage: pacer emulator/);
  });
});

describe('demo apps', () => {
  it('all deploy and run on the emulator', async () => {
    const emu = await startEmulator({ stepDelayMs: 1 });
    try {
      for (const d of demoApps()) await emu.createApp(d.app, { backend: d.backend, autoHealthy: d.autoHealthy ?? true });
      await emu.waitForDeployments();
      const r = await fetch(`${emu.url}/v2/apps?embed=apps.tasks`);
      const apps = (await r.json() as { apps: Array<Record<string, unknown>> }).apps;
      expect(apps.map((a) => a['id']).sort()).toEqual(['/demo/api', '/demo/dns-udp', '/demo/echo', '/demo/hab', '/demo/web']);
      const byId = new Map(apps.map((a) => [a['id'], a]));
      expect((byId.get('/demo/hab')?.['portDefinitions'] as Array<Record<string, unknown>>)[0]).toEqual({ port: 10005, name: 'hab-gossip', protocol: 'udp,tcp' });
      for (const a of apps) expect(a['labels']).toMatchObject({ HAPROXY_GROUP: 'external' });
    } finally {
      await emu.close();
    }
  });
});
