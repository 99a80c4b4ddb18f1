/**
 * The `pacer` command as a user runs it: help, version, bad values, readiness, credentials and
 * shutdown, each against real processes.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { OPTION_NAMES } from '../../src/config/load.ts';
import { getJson, metric, runPacer, startDemo, startEmulator, startPacer, waitFor, type Proc } from '../helpers/processes.ts';
import type { RoutesView } from '../../src/admin/routes-view.ts';
import { freePort } from '../helpers/dns.ts';

const started: Proc[] = [];
afterAll(async () => {
  await Promise.all(started.map((p) => p.stop()));
});

/** A loopback port nobody listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('pacer command line', () => {
  it('--help lists every option and exits 0', async () => {
    const { code, stdout } = await runPacer(['--help']);
    expect(code).toBe(0);
    for (const name of OPTION_NAMES) expect(stdout).toContain(`-${name}`);
    expect(stdout).toContain('pacer demo');
  });

  it('--version prints the package version', async () => {
    const { code, stdout } = await runPacer(['--version']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^pacer \d+\.\d+\.\d+\n$/);
  });

  it.each([
    [['--dns-port', 'abc'], {}, 'pacer: --dns-port: must be 0-65535, got "abc"'],
    [['--no-such-flag'], {}, 'pacer: unknown option --no-such-flag'],
    [[], { PACER_ADMIN_PORT: '70000' }, 'pacer: PACER_ADMIN_PORT: must be 0-65535, got "70000"'],
  ] as const)('a bad value %j exits 2 with one clear line', async (args, env, line) => {
    const { code, stderr, stdout } = await runPacer([...args], env);
    expect(code).toBe(2);
    expect(stderr.trimEnd().split('\n')).toEqual([line]);
    expect(stdout).toBe('');
  });

  it('a missing credentials file exits 2 naming the option', async () => {
    const { code, stderr } = await runPacer(['--marathon-credentials-file', '/nonexistent/creds', '--admin-port', '0']);
    expect(code).toBe(2);
    expect(stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(stderr).toContain('--marathon-credentials-file');
  });

  it('is alive but not ready while no Marathon answers, and says why', async () => {
    const port = await closedPort();
    const pacer = await startPacer(['--marathon', `http://127.0.0.1:${port}`, '--marathon-timeout', '1']);
    started.push(pacer);
    expect((await fetch(`${pacer.admin}/health`)).status).toBe(200);
    await waitFor('a failed resync', async () => ((await metric(pacer.admin, 'pacer_marathon_resyncs_total', { result: 'error' })) > 0 ? true : undefined));
    const ready = await fetch(`${pacer.admin}/ready`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ ready: false, lastSyncError: expect.stringContaining('no Marathon instance answered') });
    expect(await metric(pacer.admin, 'pacer_marathon_request_errors_total', { reason: 'connect' })).toBeGreaterThan(0);
  });

  it('tries the --marathon URLs in turn and sticks to the one that answered', async () => {
    const emulator = await startEmulator();
    started.push(emulator);
    const dead = `http://127.0.0.1:${await closedPort()}`;
    const pacer = await startPacer(['--marathon', `${dead},${emulator.leader}`, '--resync-interval', '1']);
    started.push(pacer);
    await waitFor('ready', async () => ((await fetch(`${pacer.admin}/ready`)).status === 200 ? true : undefined));
    const failures = await metric(pacer.admin, 'pacer_marathon_request_errors_total', { reason: 'connect' });
    expect(failures).toBeGreaterThanOrEqual(1);
    // Resyncs every second go straight to the instance that answered: no new failures.
    const resyncs = await metric(pacer.admin, 'pacer_marathon_resyncs_total', { trigger: 'periodic', result: 'ok' });
    await waitFor('two periodic resyncs', async () =>
      (await metric(pacer.admin, 'pacer_marathon_resyncs_total', { trigger: 'periodic', result: 'ok' })) >= resyncs + 2 ? true : undefined,
    );
    expect(await metric(pacer.admin, 'pacer_marathon_request_errors_total', { reason: 'connect' })).toBe(failures);
  });

  it('the admin server is read-only', async () => {
    const port = await closedPort();
    const pacer = await startPacer(['--marathon', `http://127.0.0.1:${port}`]);
    started.push(pacer);
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
      const response = await fetch(`${pacer.admin}/routes`, { method });
      expect(response.status).toBe(405);
      expect(response.headers.get('allow')).toBe('GET, HEAD');
    }
  });

  it('authenticates to Marathon with the credentials file and never shows the password', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pacer-creds-'));
    const password = 's3cr3t-Pa55word-xyzzy';
    const file = join(dir, 'credentials');
    writeFileSync(file, `marathon:${password}\n`);
    const emulator = await startEmulator(['--credentials-file', file]);
    started.push(emulator);
    await emulator.post('/apps', {
      app: { id: '/auth/app', instances: 1, cmd: 'serve', labels: { HAPROXY_GROUP: 'external' }, portDefinitions: [{ port: 13001 }] },
      backend: 'none',
    });
    // Without credentials: Marathon says 401, pacer is not ready and counts auth errors.
    const anonymous = await startPacer(['--marathon', emulator.leader, '--log-level', 'debug']);
    started.push(anonymous);
    await waitFor('an auth error', async () => ((await metric(anonymous.admin, 'pacer_marathon_request_errors_total', { reason: 'auth' })) > 0 ? true : undefined));
    expect((await fetch(`${anonymous.admin}/ready`)).status).toBe(503);

    const pacer = await startPacer(['--marathon', emulator.leader, '--marathon-credentials-file', file, '--log-level', 'trace']);
    started.push(pacer);
    await waitFor('ready', async () => ((await fetch(`${pacer.admin}/ready`)).status === 200 ? true : undefined));
    await waitFor('the stream', async () => ((await metric(pacer.admin, 'pacer_marathon_stream_connected')) === 1 ? true : undefined));
    const served = await Promise.all(['/routes', '/ready', '/metrics', '/health'].map((p) => fetch(`${pacer.admin}${p}`).then((r) => r.text())));
    const basic = Buffer.from(`marathon:${password}`).toString('base64');
    for (const text of [...served, pacer.output(), anonymous.output()]) {
      expect(text).not.toContain(password);
      expect(text).not.toContain(basic);
    }
    expect(served[0]).toContain('/auth/app');
  });

  it('`pacer demo` comes up with no Marathon around, becomes ready and serves its sample apps', async () => {
    // The demo's own ports (DNS 8053, HTTP 8080) may be taken on a developer's machine: use free ones.
    const demo = await startDemo(['--admin-port', '0', '--dns-port', String(await freePort()), '--http-port', String(await freePort())]);
    started.push(demo);
    expect((await fetch(`${demo.admin}/ready`)).status).toBe(200);
    const { body } = await getJson<RoutesView>(`${demo.admin}/routes`);
    expect(body.services.map((s) => s.app)).toEqual(expect.arrayContaining(['/demo/web', '/demo/echo', '/demo/dns-udp', '/demo/api', '/demo/hab']));
    const udp = body.services.find((s) => s.app === '/demo/dns-udp');
    expect(udp?.mode).toBe('udp');
    expect(demo.output()).toContain('curl');
    expect(await demo.stop()).toBe(0);
  });

  it('SIGTERM stops it cleanly with exit code 0', async () => {
    const port = await closedPort();
    const pacer = await startPacer(['--marathon', `http://127.0.0.1:${port}`]);
    expect(await pacer.stop()).toBe(0);
    expect(pacer.output()).toContain('"msg":"stopped"');
  });
});
