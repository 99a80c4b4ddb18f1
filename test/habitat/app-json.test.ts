/**
 * `pacer habitat app-json`: the output against a checked-in golden file, Marathon's app-definition
 * rules (the legacy 1.4 JSON schema for the fields it covers, the 1.5+ RAML for `networks` and
 * `udp,tcp`, CONTRACT.md §5 for ids), the start command, and `--deploy` against the emulator.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appJson, checkAppId, parseAppJsonArgs, UsageError } from '../../src/habitat/app-json.ts';
import { detectHabitat } from '../../src/habitat/detect.ts';
import { decodeApp } from '../../src/model/decode.ts';
import { validate } from '../observability/json-schema.ts';
import { getJson, runPacer, startEmulator, type EmulatorProc } from '../helpers/processes.ts';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const REFERENCE = fileURLToPath(new URL('../../../shared/reference/marathon/', import.meta.url));
const GOLDEN_ARGS = [
  'core/redis/7.2.4',
  '--ring', 'prod',
  '--instances', '3',
  '--cpus', '0.5',
  '--mem', '512',
  '--permanent-peer',
  '--port', 'redis:6379:10379',
  '--label', 'HAPROXY_GROUP=external',
  '--config-toml', here('./fixtures/redis.toml'),
  '--pacer', 'http://pacer.marathon.mesos:9090',
];
const golden = JSON.parse(readFileSync(here('./fixtures/redis-app.json'), 'utf8')) as Record<string, unknown>;

describe('pacer habitat app-json', () => {
  it('prints the golden app definition', async () => {
    const result = await runPacer(['habitat', 'app-json', ...GOLDEN_ARGS]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual(golden);
    // The library gives the same document.
    expect(appJson(parseAppJsonArgs(GOLDEN_ARGS).options)).toEqual(golden);
  });

  it('validates against the legacy 1.4 AppDefinition schema for the fields it covers, and the 1.5+ RAML for the rest', () => {
    const schema = JSON.parse(readFileSync(`${REFERENCE}legacy-1.4/schema/AppDefinition.json`, 'utf8')) as Record<string, unknown>;
    const { networks, ...covered } = golden;
    // The 1.4 schema knows `tcp` and `udp`; `udp,tcp` is in 1.5+'s NetworkProtocol (checked below).
    const ports = (covered['portDefinitions'] as Record<string, unknown>[]).map((p) => ({ ...p, protocol: p['protocol'] === 'udp,tcp' ? 'udp' : p['protocol'] }));
    expect(validate(schema, { ...covered, portDefinitions: ports })).toEqual([]);
    expect(validate(schema, { ...covered, portDefinitions: ports, healthChecks: [{ protocol: 'MESOS_HTTP', portIndex: -1 }] }).length).toBeGreaterThan(0);
    expect(validate(schema, { ...covered, portDefinitions: [{ port: 9638, name: 'hab_gossip' }] }).length).toBeGreaterThan(0);
    const strings = readFileSync(`${REFERENCE}rest-api/v2/types/stringTypes.raml`, 'utf8');
    expect(strings).toMatch(/NetworkProtocol:[\s\S]*enum: \[tcp, udp, "udp,tcp"\]/);
    expect(readFileSync(`${REFERENCE}rest-api/v2/types/network.raml`, 'utf8')).toMatch(/host/);
    expect(networks).toEqual([{ mode: 'host' }]);
    for (const deprecated of ['ports', 'ipAddress', 'uris']) expect(golden).not.toHaveProperty(deprecated);
  });

  it('has an id that CONTRACT.md §5 allows, and refuses one it does not', () => {
    const contract = readFileSync(`${REFERENCE}CONTRACT.md`, 'utf8');
    expect(contract).toContain('^(([a-z0-9]|[a-z0-9][a-z0-9\\-]*[a-z0-9])\\.)*([a-z0-9]|[a-z0-9][a-z0-9\\-]*[a-z0-9])$');
    expect(checkAppId(String(golden['id']))).toBeUndefined();
    for (const bad of ['core/redis', '/Core/redis', '/core/re_dis', '/core/-redis', '/core/tasks']) expect(checkAppId(bad), bad).toBeDefined();
    expect(() => appJson({ ...parseAppJsonArgs(GOLDEN_ARGS).options, id: '/a_b' })).toThrow(UsageError);
    // The default id is made valid from the package name.
    expect(appJson(parseAppJsonArgs(['my_origin/Web_App']).options)['id']).toBe('/my-origin/web-app');
  });

  it('is what pacer itself detects as a labelled, well-configured Habitat app', () => {
    const decoded = decodeApp({ ...golden, version: '2024-01-01T00:00:00.000Z' });
    expect(decoded.ok, JSON.stringify(decoded)).toBe(true);
    if (!decoded.ok) return;
    const hab = detectHabitat(decoded.value.app);
    expect(hab).toMatchObject({ ring: 'prod', detection: 'label', permanent: true, gossipPort: { index: 0, protocols: ['udp', 'tcp'] }, httpPort: { index: 1 } });
  });

  it('has a start command sh accepts, that feeds the peer-watch file from pacer and runs the supervisor', () => {
    const cmd = String(golden['cmd']);
    const check = spawnSync('sh', ['-n', '-c', cmd], { encoding: 'utf8' });
    expect(check.status, check.stderr).toBe(0);
    expect(cmd).toContain("'http://pacer.marathon.mesos:9090/v1/habitat/rings/prod/peers'");
    expect(cmd).toMatch(/mv -f "\$PEERS\.new" "\$PEERS"/);
    expect(cmd).toMatch(/exec hab sup run .*--peer-watch-file "\$PEERS" --permanent-peer 'core\/redis\/7\.2\.4'$/);
    expect(cmd).toContain('--listen-gossip "0.0.0.0:$PORT0"');
  });

  it('refuses bad arguments with exit code 2 and one line', async () => {
    for (const args of [['core'], ['core/redis', '--port', 'redis'], ['core/redis', '--port', 'hab-gossip:1234'], ['core/redis', '--port', 'x:9638'], ['core/redis', '--bogus'], ['core/redis', '--label', 'HAPROXY_0_ENABLED=true'], ['core/redis', '--config-toml', '/nonexistent']]) {
      const result = await runPacer(['habitat', 'app-json', ...args]);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
    }
  });
});

describe('pacer habitat app-json --deploy', () => {
  let emulator: EmulatorProc;
  beforeAll(async () => {
    emulator = await startEmulator();
  });
  afterAll(async () => {
    await emulator?.stop();
  });

  it('creates the app on Marathon with PUT /v2/apps/{id}, then updates it', async () => {
    // Instances 0: the emulator would otherwise run the tasks on the fixed ports 9638/9631.
    const base = ['habitat', 'app-json', 'core/redis', '--id', '/hab/redis', '--ring', 'prod', '--instances', '0', '--deploy', '--marathon', `http://127.0.0.1:1,${emulator.leader}`];
    const created = await runPacer(base);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stderr).toMatch(/PUT .*\/v2\/apps\/hab\/redis: HTTP 201/); // created
    expect(JSON.parse(created.stdout)).toHaveProperty('deploymentId');
    const { status, body } = await getJson<{ app: { labels: Record<string, string>; portDefinitions: { name: string; protocol: string; port: number }[]; mem: number; healthChecks: { path: string }[] } }>(`${emulator.leader}/v2/apps/hab/redis`);
    expect(status).toBe(200);
    expect(body.app.labels['HABITAT_RING']).toBe('prod');
    expect(body.app.portDefinitions.map((p) => [p.name, p.protocol, p.port])).toEqual([['hab-gossip', 'udp,tcp', 9638], ['hab-http', 'tcp', 9631]]);
    expect(body.app.healthChecks[0]?.path).toBe('/services/redis/default/health');

    const updated = await runPacer([...base, '--mem', '300']);
    expect(updated.code, updated.stderr).toBe(0);
    expect(updated.stderr).toMatch(/HTTP 200/); // updated
    expect((await getJson<{ app: { mem: number } }>(`${emulator.leader}/v2/apps/hab/redis`)).body.app.mem).toBe(300);
  });

  it('fails with exit code 1 and Marathon\'s answer when Marathon refuses', async () => {
    // Bad credentials: the emulator without auth accepts anything, so refuse through a fault.
    await emulator.post('/faults', { kind: 'http-error', status: 503 });
    try {
      const result = await runPacer(['habitat', 'app-json', 'core/redis', '--id', '/hab/other', '--instances', '0', '--deploy', '--marathon', emulator.leader]);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/HTTP 503/);
    } finally {
      await fetch(`${emulator.control}/faults`, { method: 'DELETE' });
    }
  });
});
