/**
 * docker/: the compose file validates with docker-compose, the Dockerfile passes a lint of the
 * rules that matter (hadolint is not packaged for Debian: this checks them itself), and the
 * Marathon app definition validates against Marathon's app-definition rules in
 * ../shared/reference/marathon/ (the legacy 1.4 JSON schema for the fields it covers, the RAML
 * network modes for `networks`, and CONTRACT.md §5's id pattern).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { validate } from './json-schema.ts';
import { PACER_NODE_FLAGS } from '../helpers/processes.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const read = (path: string) => readFileSync(`${root}${path}`, 'utf8');
const REFERENCE = fileURLToPath(new URL('../../../shared/reference/marathon/', import.meta.url));

describe('docker/docker-compose.yml', () => {
  it('is accepted by `docker-compose config`', () => {
    const result = spawnSync('docker-compose', ['-f', `${root}docker/docker-compose.yml`, 'config', '--quiet'], { encoding: 'utf8' });
    expect(result.error, 'docker-compose is missing: .ci/run installs the Debian package docker-compose').toBeUndefined();
    expect(result.status, result.stderr).toBe(0);
  });

  it('runs the whole cluster, with pacer built from docker/Dockerfile and Grafana provisioned from grafana/', () => {
    const compose = parse(read('docker/docker-compose.yml')) as { services: Record<string, Record<string, unknown>> };
    expect(Object.keys(compose.services).sort()).toEqual(['grafana', 'marathon', 'mesos-agent', 'mesos-master', 'pacer', 'prometheus', 'zookeeper']);
    expect(compose.services['pacer']?.['build']).toEqual({ context: '..', dockerfile: 'docker/Dockerfile' });
    const env = compose.services['pacer']?.['environment'] as Record<string, string>;
    expect(env['PACER_MARATHON']).toBe('http://marathon:8080');
    const volumes = compose.services['grafana']?.['volumes'] as string[];
    for (const v of volumes) expect(existsSync(`${root}docker/${v.split(':')[0]}`), v).toBe(true);
    const prometheus = parse(read('docker/prometheus.yml')) as { scrape_configs: { static_configs: { targets: string[] }[] }[] };
    expect(prometheus.scrape_configs[0]?.static_configs[0]?.targets).toEqual(['pacer:9090']);
  });

  it('documents every published port in its header', () => {
    const text = read('docker/docker-compose.yml');
    const compose = parse(text) as { services: Record<string, { ports?: string[] }> };
    const header = text.split('\nversion:')[0] ?? '';
    for (const service of Object.values(compose.services)) {
      for (const mapping of service.ports ?? []) {
        const hostPort = mapping.split(':')[0] ?? '';
        expect(header, `port ${hostPort} is not documented`).toContain(hostPort);
      }
    }
  });
});

/** Dockerfile instructions, continuation lines joined, comments dropped. */
function instructions(text: string): { op: string; args: string }[] {
  const joined = text.replace(/\\\r?\n/g, ' ');
  return joined
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const m = /^(\w+)\s+(.*)$/.exec(l);
      return { op: (m?.[1] ?? l).toUpperCase(), args: m?.[2] ?? '' };
    });
}

describe('docker/Dockerfile (lint)', () => {
  const text = read('docker/Dockerfile');
  const ins = instructions(text);
  const args = new Map(ins.filter((i) => i.op === 'ARG').map((i) => i.args.split('=') as [string, string]));
  const expand = (s: string) => s.replace(/\$\{(\w+)\}/g, (_, name: string) => args.get(name) ?? `\${${name}}`);
  const froms = ins.filter((i) => i.op === 'FROM').map((i) => expand(i.args.split(/\s+/)[0] ?? ''));
  const stages = ins.map((i) => i.op).lastIndexOf('FROM');
  const final = ins.slice(stages);

  it('is multi-stage on the official Node.js image, pinned to the version package.json pins', () => {
    expect(froms.length).toBeGreaterThanOrEqual(2);
    const pinned = (JSON.parse(read('package.json')) as { devDependencies: Record<string, string> }).devDependencies['node'];
    for (const from of froms) {
      expect(from).toMatch(/^node:\d+\.\d+\.\d+-[a-z-]+$/);
      expect(from).not.toMatch(/:latest|:lts|:current/);
      expect(from.split(':')[1]?.split('-')[0]).toBe(pinned);
    }
  });

  it('installs production dependencies only, from the lock file', () => {
    const runs = ins.filter((i) => i.op === 'RUN').map((i) => i.args);
    expect(runs.some((r) => /\bnpm ci\b.*--omit=dev/.test(r))).toBe(true);
    expect(runs.some((r) => /\bnpm (install|i)\b/.test(r))).toBe(false);
    expect(ins.some((i) => i.op === 'COPY' && /package-lock\.json/.test(i.args))).toBe(true);
  });

  it('runs as a non-root user that may bind low ports', () => {
    const user = final.filter((i) => i.op === 'USER').at(-1)?.args;
    expect(user).toBeDefined();
    expect(user).not.toMatch(/^(root|0)(:|$)/);
    expect(final.some((i) => i.op === 'RUN' && /setcap cap_net_bind_service=\+ep/.test(i.args))).toBe(true);
  });

  it('has a HEALTHCHECK on /health, tini as PID 1, OCI labels, no ADD of URLs, apt lists removed', () => {
    const health = final.find((i) => i.op === 'HEALTHCHECK');
    expect(health?.args).toContain('/health');
    const entrypoint = final.find((i) => i.op === 'ENTRYPOINT')?.args ?? '';
    expect(JSON.parse(entrypoint)).toEqual(['/usr/bin/tini', '--', 'node', ...PACER_NODE_FLAGS, 'bin/pacer.js']);
    const labels = final.filter((i) => i.op === 'LABEL').map((i) => i.args).join(' ');
    for (const key of ['title', 'description', 'version', 'licenses']) expect(labels).toContain(`org.opencontainers.image.${key}=`);
    expect(ins.some((i) => i.op === 'ADD' && /https?:\/\//.test(i.args))).toBe(false);
    expect(ins.some((i) => i.op === 'MAINTAINER')).toBe(false);
    for (const run of ins.filter((i) => i.op === 'RUN' && /apt-get install/.test(i.args))) {
      expect(run.args).toContain('--no-install-recommends');
      expect(run.args).toContain('rm -rf /var/lib/apt/lists/*');
    }
    for (const cmd of ins.filter((i) => i.op === 'CMD' || i.op === 'ENTRYPOINT')) expect(cmd.args.trim().startsWith('['), `${cmd.op} in exec form`).toBe(true);
  });

  it('copies only what pacer runs (and .dockerignore keeps the context to that)', () => {
    const copies = final.filter((i) => i.op === 'COPY').map((i) => i.args);
    expect(copies.some((c) => /^\.\s/.test(c))).toBe(false);
    const ignore = read('.dockerignore');
    expect(ignore).toMatch(/^\*\*$/m);
    for (const path of ['package.json', 'package-lock.json', 'bin/', 'src/', 'config/']) expect(ignore).toContain(`!${path}`);
    const entry = read('bin/pacer.js');
    expect(entry).toContain('../src/cli/main.ts');
  });

  it('runs node with the flags of bin/pacer.js everywhere: its #! line, the image, `npm start`', () => {
    expect(PACER_NODE_FLAGS).toEqual(['--max-semi-space-size=16']);
    const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
    expect(pkg.scripts['start']).toBe(`node ${PACER_NODE_FLAGS.join(' ')} bin/pacer.js`);
  });
});

describe('docker/marathon/pacer.json', () => {
  const app = JSON.parse(read('docker/marathon/pacer.json')) as Record<string, unknown>;

  it('validates against the legacy 1.4 AppDefinition schema for the fields it covers', () => {
    const schema = JSON.parse(readFileSync(`${REFERENCE}legacy-1.4/schema/AppDefinition.json`, 'utf8')) as Record<string, unknown>;
    const { networks: _networks, ...covered } = app;
    expect(validate(schema, covered)).toEqual([]);
    // The validator does catch what the schema forbids.
    expect(validate(schema, { ...covered, constraints: [['hostname', 'UNIQUELY']] }).length).toBeGreaterThan(0);
    expect(validate(schema, { ...covered, nonsense: true }).length).toBeGreaterThan(0);
  });

  it('uses host networking in the 1.5+ format (networks, as the RAML defines it) and no deprecated field', () => {
    const raml = readFileSync(`${REFERENCE}rest-api/v2/types/network.raml`, 'utf8');
    expect(raml).toMatch(/host/);
    expect(app['networks']).toEqual([{ mode: 'host' }]);
    for (const deprecated of ['ports', 'ipAddress', 'uris']) expect(app).not.toHaveProperty(deprecated);
    expect((app['container'] as { docker: Record<string, unknown> }).docker).not.toHaveProperty('network');
  });

  it('has an id that CONTRACT.md §5 allows', () => {
    const segment = /^(([a-z0-9]|[a-z0-9][a-z0-9-]*[a-z0-9])\.)*([a-z0-9]|[a-z0-9][a-z0-9-]*[a-z0-9])$/;
    const contract = readFileSync(`${REFERENCE}CONTRACT.md`, 'utf8');
    expect(contract).toContain('^(([a-z0-9]|[a-z0-9][a-z0-9\\-]*[a-z0-9])\\.)*([a-z0-9]|[a-z0-9][a-z0-9\\-]*[a-z0-9])$');
    const id = String(app['id']);
    expect(id.startsWith('/')).toBe(true);
    for (const part of id.slice(1).split('/')) {
      expect(part).toMatch(segment);
      expect(['restart', 'tasks', 'versions']).not.toContain(part);
    }
  });

  it('runs like marathon-lb did: one per public agent, the ports it serves reserved, health-checked on /health, rolled out on /ready', () => {
    expect(app['constraints']).toEqual([['hostname', 'UNIQUE']]);
    expect(app['acceptedResourceRoles']).toEqual(['slave_public']);
    expect(app['requirePorts']).toBe(true);
    const ports = (app['portDefinitions'] as { port: number; name: string }[]).map((p) => p.port);
    for (const p of [80, 443, 9090, 53, 10000, 10100]) expect(ports).toContain(p);
    expect(new Set(ports).size).toBe(ports.length);
    const env = app['env'] as Record<string, string>;
    const adminIndex = ports.indexOf(Number(env['PACER_ADMIN_PORT']));
    expect(app['healthChecks']).toEqual([expect.objectContaining({ path: '/health', portIndex: adminIndex })]);
    expect(ports[adminIndex]).toBe(9090);
    // A rolling restart waits for each new pacer to serve (/ready: synced, DNS zone built) before it kills an old one.
    const adminName = (app['portDefinitions'] as { name: string }[])[adminIndex]!.name;
    expect(app['readinessChecks']).toEqual([expect.objectContaining({ protocol: 'HTTP', path: '/ready', portName: adminName, httpStatusCodesForReady: [200] })]);
    expect(Number(env['PACER_HTTP_PORT'])).toBe(80);
    // pacer itself is not exposed by pacer.
    expect(JSON.stringify(app['labels'])).not.toContain('HAPROXY_GROUP');
  });
});
