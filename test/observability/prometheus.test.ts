/**
 * A live pacer, scraped for real: `promtool check metrics` accepts its /metrics, and a real
 * Prometheus (Debian's /usr/bin/prometheus, 1 s scrapes, loopback) that scrapes it while the
 * emulator changes things and traffic flows has data for every query of the Grafana dashboard.
 *
 * Panels of the proxy and of DNS are checked when this pacer runs them (a service port accepts
 * connections, the DNS port answers); until those consumers are wired into pacer they are listed
 * as not checked.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, freePorts } from '../helpers/ports.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metric, startEmulator, startPacer, waitFor, type EmulatorProc, type PacerProc } from '../helpers/processes.ts';
import { panelQueries, readDashboard } from './dashboard-exprs.ts';

const PROMETHEUS = '/usr/bin/prometheus';
// From the shared allocator: tests run in parallel and pick ports from the same range.
const [WEB, ECHO, UDP, DEAD] = (await freePorts(4)) as [number, number, number, number];
/** A service whose tasks listen nowhere: connects fail, are retried, and the backends get ejected. */

const APPS = [
  // A Habitat ring, so that the ring-members panel has data.
  { backend: 'udp', app: { id: '/obs/hab', instances: 1, labels: { HABITAT_RING: 'obs' }, portDefinitions: [{ port: 0, protocol: 'udp,tcp', name: 'hab-gossip' }] } },
  {
    backend: 'http',
    autoHealthy: true,
    app: {
      id: '/obs/web',
      instances: 2,
      labels: { HAPROXY_GROUP: 'external', HAPROXY_0_VHOST: 'web.obs.local' },
      portDefinitions: [{ port: WEB, protocol: 'tcp', name: 'http' }],
      healthChecks: [{ protocol: 'HTTP', path: '/', portIndex: 0, intervalSeconds: 1, gracePeriodSeconds: 1 }],
    },
  },
  {
    backend: 'tcp',
    app: { id: '/obs/echo', instances: 2, labels: { HAPROXY_GROUP: 'external', HAPROXY_0_MODE: 'nonsense' }, portDefinitions: [{ port: ECHO, protocol: 'tcp', name: 'echo' }] },
  },
  {
    backend: 'udp',
    app: { id: '/obs/udp', instances: 1, labels: { HAPROXY_GROUP: 'external' }, portDefinitions: [{ port: UDP, protocol: 'udp', name: 'dns' }] },
  },
  {
    backend: 'none',
    app: { id: '/obs/dead', instances: 2, labels: { HAPROXY_GROUP: 'external' }, portDefinitions: [{ port: DEAD, protocol: 'tcp', name: 'dead' }] },
  },
];

let emulator: EmulatorProc;
let pacer: PacerProc;
let prometheus: ChildProcess | undefined;
let prometheusUrl = '';
let prometheusLog = '';
const dir = mkdtempSync(join(tmpdir(), 'pacer-prometheus-'));
let dnsPort = 0;

function runningTasks(appId: string): Promise<string[]> {
  return emulator.get('/state').then((state) => {
    const apps = (state as { apps: { id: string; tasks: { id: string; state: string }[] }[] }).apps;
    return (apps.find((a) => a.id === appId)?.tasks ?? []).filter((t) => t.state === 'TASK_RUNNING').map((t) => t.id);
  });
}

/** One TCP exchange: connect, write, read a little, close. Resolves false when it gets nothing back. */
function tcpExchange(port: number, payload: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let settled = false;
    const done = (ok: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), 2_000);
    socket.once('error', () => done(false));
    socket.once('close', () => done(false));
    socket.once('connect', () => socket.write(payload));
    socket.once('data', () => setTimeout(() => done(true), 20));
  });
}

function udpExchange(port: number, payload: Buffer, timeoutMs = 1_000): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    const timer = setTimeout(() => {
      socket.close();
      resolve(undefined);
    }, timeoutMs);
    socket.once('message', (m) => {
      clearTimeout(timer);
      socket.close();
      resolve(m);
    });
    socket.once('error', () => {
      clearTimeout(timer);
      socket.close();
      resolve(undefined);
    });
    socket.send(payload, port, '127.0.0.1');
  });
}

/** A DNS query packet for `name`, type A (1) or SRV (33). */
function dnsQuery(name: string, type: number, id: number): Buffer {
  const labels = name.split('.').filter(Boolean).map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)]));
  const header = Buffer.from([id >> 8, id & 0xff, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
  return Buffer.concat([header, ...labels, Buffer.from([0, 0, type, 0, 1])]);
}

async function promQuery(expr: string): Promise<unknown[]> {
  const response = await fetch(`${prometheusUrl}/api/v1/query?query=${encodeURIComponent(expr)}`, { signal: AbortSignal.timeout(5_000) });
  const body = (await response.json()) as { status: string; error?: string; data?: { result: unknown[] } };
  if (body.status !== 'success') throw new Error(`${expr}: ${body.error ?? response.status}`);
  return body.data?.result ?? [];
}

let proxyLive = false;
let dnsLive = false;

async function generateTraffic(): Promise<void> {
  for (let i = 0; i < 5; i++) {
    const ok = await fetch(`http://127.0.0.1:${WEB}/obs?i=${i}`, { headers: { host: 'web.obs.local' }, signal: AbortSignal.timeout(2_000) }).then(
      (r) => r.text().then(() => true),
      () => false,
    );
    proxyLive ||= ok;
  }
  if (proxyLive) {
    await tcpExchange(ECHO, 'hello\n');
    await udpExchange(UDP, Buffer.from('ping'));
    await Promise.all([1, 2, 3, 4].map(() => tcpExchange(DEAD, 'anyone?\n')));
  }
  if (dnsPort) {
    const answer = await udpExchange(dnsPort, dnsQuery('web-obs.marathon.mesos', 1, 0x1234));
    dnsLive ||= answer !== undefined;
    if (dnsLive) {
      await udpExchange(dnsPort, dnsQuery('_web-obs._tcp.marathon.mesos', 33, 0x1235));
      // Forwarded to a resolver that does not answer: a failed forwarding attempt (not waited for).
      void udpExchange(dnsPort, dnsQuery('outside.example.org', 1, 0x1236), 3_000);
    }
  }
}

beforeAll(async () => {
  emulator = await startEmulator(['--keepalive-ms', '500']);
  for (const a of APPS) await emulator.post('/apps', a);
  await waitFor('the emulator to run every task', async () => ((await runningTasks('/obs/web')).length === 2 ? true : undefined), 10_000);
  dnsPort = await freePort();
  const deadResolver = await freePort();
  pacer = await startPacer([
    '--marathon', emulator.leader,
    '--bind', '127.0.0.1',
    '--http-port', '0',
    '--https-port', '0',
    '--dns-bind', '127.0.0.1',
    '--dns-port', String(dnsPort),
    '--dns-resolvers', `127.0.0.1:${deadResolver}`,
    '--resync-interval', '2',
  ]);
  await waitFor('pacer to be ready', async () => ((await fetch(`${pacer.admin}/ready`)).status === 200 ? true : undefined), 10_000);

  const webPort = await freePort();
  prometheusUrl = `http://127.0.0.1:${webPort}`;
  const config = join(dir, 'prometheus.yml');
  writeFileSync(
    config,
    [
      'global:',
      '  scrape_interval: 1s',
      '  scrape_timeout: 1s',
      '  evaluation_interval: 1s',
      'scrape_configs:',
      '  - job_name: pacer',
      '    static_configs:',
      `      - targets: ['${new URL(pacer.admin).host}']`,
      '',
    ].join('\n'),
  );
  prometheus = spawn(
    PROMETHEUS,
    [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${webPort}`, '--log.level=warn', '--storage.tsdb.retention.time=1h'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  prometheus.stdout?.on('data', (c: Buffer) => (prometheusLog += c.toString()));
  prometheus.stderr?.on('data', (c: Buffer) => (prometheusLog += c.toString()));
  await waitFor('Prometheus to be ready', async () => ((await fetch(`${prometheusUrl}/-/ready`)).ok ? true : undefined), 20_000, 100).catch((e: unknown) => {
    throw new Error(`${String(e)}\n${prometheusLog}`);
  });
}, 60_000);

afterAll(async () => {
  if (prometheus && prometheus.exitCode === null) {
    const exited = new Promise((resolve) => prometheus?.once('exit', resolve));
    prometheus.kill('SIGTERM');
    const timer = setTimeout(() => prometheus?.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
  await pacer?.stop();
  await emulator?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('a live pacer scraped by Prometheus', () => {
  it('changes things: a killed task, a new app, a dropped stream, a Marathon outage, a malformed event, traffic', async () => {
    const [victim] = await runningTasks('/obs/web');
    await emulator.post(`/tasks/${encodeURIComponent(victim!)}/kill`, { scale: false });
    await emulator.post('/apps', { backend: 'http', app: { id: '/obs/late', instances: 1, labels: { HAPROXY_GROUP: 'external' }, portDefinitions: [{ port: 0, name: 'http' }] } });
    await emulator.post('/raw', 'event: status_update_event\r\ndata: {"broken\r\n\r\n');
    await waitFor('the malformed event to be counted', async () => ((await metric(pacer.admin, 'pacer_marathon_events_malformed_total')) > 0 ? true : undefined));
    await waitFor('an app fetch', async () => ((await metric(pacer.admin, 'pacer_marathon_app_fetches_total')) > 0 ? true : undefined));
    await emulator.post('/faults', { kind: 'drop-streams' });
    await waitFor('a reconnect', async () => ((await metric(pacer.admin, 'pacer_marathon_stream_reconnects_total')) > 0 ? true : undefined));
    // Marathon answers 503 for a while: the next periodic resync (every 2 s) fails.
    await emulator.post('/faults', { kind: 'http-error', status: 503, durationMs: 2_500 });
    await waitFor('a failed Marathon request', async () => ((await metric(pacer.admin, 'pacer_marathon_request_errors_total')) > 0 ? true : undefined), 8_000);
    await waitFor('the stream to come back', async () => ((await metric(pacer.admin, 'pacer_marathon_stream_connected')) === 1 ? true : undefined), 15_000);
    await generateTraffic();
  }, 30_000);

  it('serves /metrics that `promtool check metrics` accepts', async () => {
    const text = await (await fetch(`${pacer.admin}/metrics`)).text();
    expect(text).toContain('pacer_marathon_events_total');
    const result = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(result.error, 'promtool is missing: .ci/run installs the Debian package prometheus').toBeUndefined();
    expect(result.status, `promtool check metrics:\n${result.stdout}${result.stderr}`).toBe(0);
  });

  it('has data in Prometheus for every query of the dashboard', async () => {
    await waitFor('Prometheus to scrape pacer', async () => ((await promQuery('up{job="pacer"} == 1')).length === 1 ? true : undefined), 10_000, 200);
    const queries = panelQueries(readDashboard(), { instance: '.*', rateInterval: '20s' });
    // The proxy and DNS run in this pacer: every panel must have data (none is skipped).
    await generateTraffic();
    expect(proxyLive, 'the proxy never answered').toBe(true);
    expect(dnsLive, 'DNS never answered').toBe(true);
    const pending = new Set(queries);
    const deadline = Date.now() + 20_000;
    while (pending.size > 0 && Date.now() < deadline) {
      await generateTraffic();
      for (const q of [...pending]) if ((await promQuery(q.expr)).length > 0) pending.delete(q);
      if (pending.size > 0) await new Promise((resolve) => setTimeout(resolve, 500));
    }
    expect([...pending].map((q) => `${q.panel} (${q.refId}): ${q.expr}`), 'queries without data').toEqual([]);
  }, 60_000);
});
