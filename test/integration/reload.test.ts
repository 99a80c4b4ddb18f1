/**
 * SIGHUP: pacer reads its config file again, applies what can change live without dropping
 * anything, and says what needs a restart.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RoutesView } from '../../src/admin/routes-view.ts';
import { getJson, startEmulator, startPacer, waitFor, type EmulatorProc, type PacerProc } from '../helpers/processes.ts';

let emulator: EmulatorProc;
let pacer: PacerProc;
let file: string;

const app = (id: string, group: string, port: number) => ({
  app: { id, instances: 1, cmd: 'serve', labels: { HAPROXY_GROUP: group }, portDefinitions: [{ port }] },
  backend: 'none',
});

async function exposed(): Promise<string[]> {
  return (await getJson<RoutesView>(`${pacer.admin}/routes`)).body.services.map((s) => s.app).sort();
}

beforeAll(async () => {
  emulator = await startEmulator();
  await emulator.post('/apps', app('/reload/public', 'external', 14001));
  await emulator.post('/apps', app('/reload/private', 'internal', 14002));
  file = join(mkdtempSync(join(tmpdir(), 'pacer-reload-')), 'pacer.yaml');
  writeFileSync(file, 'group: [external]\nlog-level: info\n');
  pacer = await startPacer(['--marathon', emulator.leader, '--config', file]);
  await waitFor('the first table', async () => ((await exposed()).length === 1 ? true : undefined));
});

afterAll(async () => {
  await pacer?.stop();
  await emulator?.stop();
});

describe('SIGHUP', () => {
  it('applies new groups live and says what needs a restart', async () => {
    expect(await exposed()).toEqual(['/reload/public']);
    // admin-port in the file changes nothing: the command line's --admin-port wins over the file.
    writeFileSync(file, "group: ['*']\nadmin-port: 1\ndns-ttl: 5\ndrain-timeout: 5\n");
    pacer.child.kill('SIGHUP');
    await waitFor('both apps exposed', async () => ((await exposed()).length === 2 ? true : undefined));
    expect(await exposed()).toEqual(['/reload/private', '/reload/public']);
    await waitFor('the reload log line', () => (pacer.output().includes('"msg":"config reloaded; some changes need a restart"') ? true : undefined));
    const line = pacer.output().split('\n').find((l) => l.includes('config reloaded'));
    expect(JSON.parse(line ?? '{}')).toMatchObject({ applied: ['group'], needsRestart: ['dns-ttl', 'drain-timeout'] });
    // Still serving on the admin port it started with.
    expect((await fetch(`${pacer.admin}/health`)).status).toBe(200);
  });

  it('keeps the running configuration when the file is broken', async () => {
    writeFileSync(file, 'dns-port: abc\n');
    pacer.child.kill('SIGHUP');
    await waitFor('the error line', () => (pacer.output().includes('config reload failed') ? true : undefined));
    expect(pacer.output()).toContain('dns-port: must be 0-65535, got \\"abc\\"');
    expect(await exposed()).toEqual(['/reload/private', '/reload/public']);
    expect(pacer.child.exitCode).toBe(null);
  });
});
