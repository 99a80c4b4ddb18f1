/**
 * pacer's DNS as a client sees it: the emulator and pacer as real processes, asked with `dig` (UDP
 * and TCP), Node's own resolver and raw packets; then the same through Mesos-DNS's HTTP API.
 */
import { promises as dnsPromises } from 'node:dns';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { taskHash } from '../../src/dns/names.ts';
import { TYPE } from '../../src/dns/wire.ts';
import { dig, digFlags, digSection, digShort, digStatus, freePort, parse, query, startUpstream, udpExchange, type Upstream } from '../helpers/dns.ts';
import { getJson, startEmulator, startPacer, waitFor, type EmulatorProc, type PacerProc } from '../helpers/processes.ts';

interface MarathonTask {
  id: string;
  state: string;
  host: string;
  ports: number[];
  ipAddresses?: { ipAddress: string }[];
  healthCheckResults?: { alive: boolean }[];
}

let emulator: EmulatorProc;
let pacer: PacerProc;
let forwarding: PacerProc;
let upstream: Upstream;
let port: number;
let forwardingPort: number;
let forwardingHttpPort: number;

async function tasks(appId: string): Promise<MarathonTask[]> {
  const { body } = await getJson<{ app: { tasks: MarathonTask[] } }>(`${emulator.leader}/v2/apps${appId}`);
  return body.app.tasks;
}

function running(appId: string, n: number, healthy = false): Promise<MarathonTask[]> {
  return waitFor(
    `${n} running tasks of ${appId}`,
    async () => {
      const ts = (await tasks(appId)).filter((t) => t.state === 'TASK_RUNNING' && (!healthy || (t.healthCheckResults ?? []).some((h) => h.alive)));
      return ts.length === n ? ts : undefined;
    },
    15_000,
  );
}

/** SRV targets:ports for a name, by a raw UDP query with a big EDNS size (fast enough to poll). */
async function srvNow(name: string): Promise<string[]> {
  const reply = await udpExchange(port, query(name, TYPE.SRV, { edns: 4096 }));
  if (!reply) return [];
  return parse(reply)
    .answers.map((r) => `${r.target}:${r.port}`)
    .sort();
}

function canonical(label: string, taskId: string): string {
  return `${label}-${taskHash(taskId)}-s0`;
}

const WEB = {
  id: '/prod/web',
  instances: 2,
  cmd: 'serve',
  portDefinitions: [
    { port: 0, name: 'http', protocol: 'tcp' },
    { port: 0, name: 'gossip', protocol: 'udp,tcp' },
  ],
};
const CHECKED = {
  id: '/it/checked',
  instances: 2,
  cmd: 'serve',
  portDefinitions: [{ port: 0, name: 'http', protocol: 'tcp' }],
  healthChecks: [{ protocol: 'HTTP', path: '/', portIndex: 0, intervalSeconds: 1, gracePeriodSeconds: 1 }],
};
const SCALE = { id: '/it/scale', instances: 2, cmd: 'serve', portDefinitions: [{ port: 0, name: 'http' }] };
const BIG = { id: '/it/big', instances: 40, cmd: 'serve', portDefinitions: [{ port: 0, name: 'http' }] };
const GRPC = {
  id: '/it/grpc',
  instances: 1,
  cmd: 'serve',
  networks: [{ mode: 'container', name: 'dcos' }],
  container: { type: 'DOCKER', docker: { image: 'grpc' }, portMappings: [{ containerPort: 8080, name: 'grpc', protocol: 'tcp' }] },
};

beforeAll(async () => {
  [port, forwardingPort, forwardingHttpPort] = [await freePort(), await freePort(), await freePort()];
  upstream = await startUpstream('192.0.2.55');
  emulator = await startEmulator(['--keepalive-ms', '1000']);
  await emulator.post('/apps', { app: WEB, backend: 'http' });
  await emulator.post('/apps', { app: CHECKED, backend: 'http', autoHealthy: true });
  await emulator.post('/apps', { app: SCALE, backend: 'none' });
  await emulator.post('/apps', { app: BIG, backend: 'none' });
  await emulator.post('/apps', { app: GRPC, backend: 'none' });
  await running('/it/big', 40);
  const common = ['--marathon', emulator.leader, '--http-port', '0', '--https-port', '0', '--bind', '127.0.0.1', '--dns-bind', '127.0.0.1', '--dns-ttl', '5'];
  [pacer, forwarding] = await Promise.all([
    startPacer([...common, '--dns-port', String(port)]),
    startPacer([
      ...common,
      '--dns-port',
      String(forwardingPort),
      '--dns-resolvers',
      `127.0.0.1:${upstream.port}`,
      '--dns-http-port',
      String(forwardingHttpPort),
    ]),
  ]);
  await waitFor('pacer to serve /prod/web', async () => ((await digShort(port, ['web-prod.marathon.mesos'])).length > 0 ? true : undefined), 10_000);
  await waitFor('the second pacer to serve /prod/web', async () => ((await digShort(forwardingPort, ['web-prod.marathon.mesos'])).length > 0 ? true : undefined), 10_000);
});

afterAll(async () => {
  await Promise.all([pacer?.stop(), forwarding?.stop()]);
  await emulator?.stop();
  await upstream?.close();
});

describe('names, over UDP and TCP', () => {
  it('answers A and SRV for an app, with canonical task names as SRV targets', async () => {
    const web = await running('/prod/web', 2);
    expect(await digShort(port, ['web-prod.marathon.mesos'])).toEqual(['127.0.0.1']);
    expect(await digShort(port, ['web-prod.marathon.mesos', '+tcp'])).toEqual(['127.0.0.1']);
    const want = web.flatMap((t) => t.ports.map((p) => `0 1 ${p} ${canonical('web-prod', t.id)}.marathon.mesos.`)).sort();
    expect(await digShort(port, ['_web-prod._tcp.marathon.mesos', 'SRV'])).toEqual(want);
    expect(await digShort(port, ['_web-prod._tcp.marathon.mesos', 'SRV', '+tcp'])).toEqual(want);
    for (const t of web) expect(await digShort(port, [`${canonical('web-prod', t.id)}.marathon.mesos`])).toEqual(['127.0.0.1']);
    // The legacy dotted names too.
    expect(await digShort(port, ['web.prod.marathon.mesos'])).toEqual(['127.0.0.1']);
  });

  it('answers the .slave names and named-port SRV records (udp,tcp ports under both)', async () => {
    const web = await running('/prod/web', 2);
    const slave = web.flatMap((t) => t.ports.map((p) => `0 1 ${p} ${canonical('web-prod', t.id)}.marathon.slave.mesos.`)).sort();
    expect(await digShort(port, ['_web-prod._udp.marathon.slave.mesos', 'SRV'])).toEqual(slave);
    expect(await digShort(port, ['web-prod.marathon.slave.mesos'])).toEqual(['127.0.0.1']);
    const http = web.map((t) => `0 1 ${t.ports[0]} ${canonical('web-prod', t.id)}.marathon.mesos.`).sort();
    expect(await digShort(port, ['_http._web-prod._tcp.marathon.mesos', 'SRV'])).toEqual(http);
    const gossip = web.map((t) => `0 1 ${t.ports[1]} ${canonical('web-prod', t.id)}.marathon.mesos.`).sort();
    expect(await digShort(port, ['_gossip._web-prod._udp.marathon.mesos', 'SRV'])).toEqual(gossip);
    expect(await digShort(port, ['_gossip._web-prod._tcp.marathon.mesos', 'SRV'])).toEqual(gossip);
    expect(await digShort(port, ['_web-prod._udp.marathon.mesos', 'SRV'])).toEqual(gossip);
  });

  it('serves IP-per-task apps on their container port and IP', async () => {
    const [grpc] = await running('/it/grpc', 1);
    const ip = grpc?.ipAddresses?.[0]?.ipAddress;
    expect(ip).toMatch(/^127\.0\./);
    expect(await digShort(port, ['grpc-it.marathon.mesos'])).toEqual([ip]);
    expect(await digShort(port, ['_grpc._grpc-it._tcp.marathon.mesos', 'SRV'])).toEqual([`0 1 8080 ${canonical('grpc-it', grpc!.id)}.marathon.mesos.`]);
  });

  it('answers leader, master and Marathon’s own records from /v2/info', async () => {
    expect(await digShort(port, ['leader.mesos'])).toEqual(['127.0.0.1']);
    expect(await digShort(port, ['master.mesos'])).toEqual(['127.0.0.1']);
    expect(await digShort(port, ['_leader._tcp.mesos', 'SRV'])).toEqual(['0 1 5050 leader.mesos.']);
    expect(await digShort(port, ['_leader._udp.mesos', 'SRV'])).toEqual(['0 1 5050 leader.mesos.']);
    expect(await digShort(port, ['marathon.mesos'])).toEqual(['127.0.0.1']);
    const marathonPort = new URL(emulator.leader).port;
    expect(await digShort(port, ['_framework._tcp.marathon.mesos', 'SRV'])).toEqual([`0 1 ${marathonPort} marathon.mesos.`]);
    expect(await digShort(port, ['slave.mesos'])).toEqual(['127.0.0.1']);
  });

  it('answers SOA and NS at the apex in the answer section, authoritatively', async () => {
    const soa = await dig(port, ['mesos', 'SOA']);
    expect(digStatus(soa)).toBe('NOERROR');
    expect(digFlags(soa)).toContain('aa');
    expect(digSection(soa, 'ANSWER')).toEqual([expect.stringMatching(/^mesos\. 5 IN SOA ns1\.mesos\. root\.ns1\.mesos\. \d+ 60 600 86400 5$/)]);
    expect(await digShort(port, ['mesos', 'NS'])).toEqual(['ns1.mesos.']);
    expect(await digShort(port, ['ns1.mesos'])).toEqual(['127.0.0.1']);
  });

  it('tells NXDOMAIN from NODATA, both with the SOA', async () => {
    const nx = await dig(port, ['nope.marathon.mesos']);
    expect(digStatus(nx)).toBe('NXDOMAIN');
    expect(digSection(nx, 'AUTHORITY')).toEqual([expect.stringMatching(/^mesos\. 5 IN SOA ns1\.mesos\./)]);
    const nodata = await dig(port, ['web-prod.marathon.mesos', 'AAAA']);
    expect(digStatus(nodata)).toBe('NOERROR');
    expect(digSection(nodata, 'ANSWER')).toEqual([]);
    expect(digSection(nodata, 'AUTHORITY')).toEqual([expect.stringMatching(/^mesos\. 5 IN SOA/)]);
    const srvNodata = await dig(port, ['web-prod.marathon.mesos', 'SRV']);
    expect(digStatus(srvNodata)).toBe('NOERROR');
    expect(digSection(srvNodata, 'AUTHORITY')).toHaveLength(1);
  });

  it('sends a partial UDP answer with TC, and the whole answer over TCP', async () => {
    const udp = await dig(port, ['_big-it._tcp.marathon.mesos', 'SRV', '+ignore', '+bufsize=1232']);
    expect(digFlags(udp)).toContain('tc');
    const partial = digSection(udp, 'ANSWER').length;
    expect(partial).toBeGreaterThan(0);
    expect(partial).toBeLessThan(40);
    const tcp = await dig(port, ['_big-it._tcp.marathon.mesos', 'SRV', '+tcp']);
    expect(digFlags(tcp)).not.toContain('tc');
    expect(digSection(tcp, 'ANSWER')).toHaveLength(40);
    // dig's default: it retries over TCP by itself.
    expect(await digShort(port, ['_big-it._tcp.marathon.mesos', 'SRV'])).toHaveLength(40);
  });

  it('echoes EDNS with the size it honours', async () => {
    expect(await dig(port, ['web-prod.marathon.mesos', '+bufsize=1200'])).toMatch(/EDNS: version: 0, flags:; udp: 1200/);
    expect(await dig(port, ['web-prod.marathon.mesos', '+bufsize=4096'])).toMatch(/EDNS: version: 0, flags:; udp: 1232/);
    expect(await dig(port, ['web-prod.marathon.mesos', '+noedns'])).not.toMatch(/OPT PSEUDOSECTION/);
  });

  it('refuses names outside the zone when no resolvers are configured', async () => {
    const out = await dig(port, ['example.com']);
    expect(digStatus(out)).toBe('REFUSED');
  });

  it('is accepted by Node’s own resolver (c-ares): resolveSrv, resolve4, ENODATA, ENOTFOUND', async () => {
    const resolver = new dnsPromises.Resolver({ timeout: 2_000, tries: 1 });
    resolver.setServers([`127.0.0.1:${port}`]);
    const web = await running('/prod/web', 2);
    const srv = await resolver.resolveSrv('_web-prod._tcp.marathon.mesos');
    expect(srv.map((r) => `${r.name}:${r.port}`).sort()).toEqual(web.flatMap((t) => t.ports.map((p) => `${canonical('web-prod', t.id)}.marathon.mesos:${p}`)).sort());
    expect(await resolver.resolve4('web-prod.marathon.mesos')).toEqual(['127.0.0.1']);
    await expect(resolver.resolve6('web-prod.marathon.mesos')).rejects.toMatchObject({ code: 'ENODATA' });
    await expect(resolver.resolve4('nope.marathon.mesos')).rejects.toMatchObject({ code: 'ENOTFOUND' });
    expect(await resolver.resolveSrv('_big-it._tcp.marathon.mesos')).toHaveLength(40);
  });
});

describe('freshness', () => {
  it('drops a task that turns unhealthy within 1 s, and takes it back when it recovers', async () => {
    const ids = (await running('/it/checked', 2, true)).map((t) => t.id);
    const target = (id: string) => `${canonical('checked-it', id)}.marathon.mesos`;
    await waitFor('both checked tasks in DNS', async () => ((await srvNow('_checked-it._tcp.marathon.mesos')).length === 2 ? true : undefined), 5_000);
    const [sick, well] = ids as [string, string];
    await emulator.post(`/tasks/${sick}/health`, { alive: false, check: 0 });
    const after = await waitFor(
      'the unhealthy task to leave the SRV answer',
      async () => {
        const srv = await srvNow('_checked-it._tcp.marathon.mesos');
        return srv.length === 1 ? srv : undefined;
      },
      1_000,
    );
    expect(after[0]?.startsWith(target(well))).toBe(true);
    await emulator.post(`/tasks/${sick}/health`, { alive: true, check: 0 });
    await waitFor('the recovered task to come back', async () => ((await srvNow('_checked-it._tcp.marathon.mesos')).length === 2 ? true : undefined), 1_000);
  });

  it('drops a killed task within 1 s', async () => {
    const [victim] = await running('/it/scale', 2);
    const response = await fetch(`${emulator.leader}/v2/apps/it/scale/tasks/${victim!.id}?scale=true`, { method: 'DELETE' });
    expect(response.status).toBe(200);
    await waitFor(
      'the killed task to leave DNS',
      async () => {
        const srv = await srvNow('_scale-it._tcp.marathon.mesos');
        return srv.length === 1 && !srv[0]!.startsWith(canonical('scale-it', victim!.id)) ? true : undefined;
      },
      1_000,
    );
  });

  it('adds a new task within 1 s of Marathon running it', async () => {
    const before = (await running('/it/scale', 1)).map((t) => t.id);
    await emulator.post('/apps/it/scale/scale', { instances: 2 });
    const now = await running('/it/scale', 2);
    const added = now.find((t) => !before.includes(t.id))!;
    await waitFor(
      'the new task in DNS',
      async () => ((await srvNow('_scale-it._tcp.marathon.mesos')).some((s) => s.startsWith(canonical('scale-it', added.id))) ? true : undefined),
      1_000,
    );
    expect(await digShort(port, [`${canonical('scale-it', added.id)}.marathon.mesos`])).toEqual(['127.0.0.1']);
  });
});

describe('forwarding', () => {
  it('forwards names outside the zone to the configured resolver, over UDP and TCP', async () => {
    expect(await digShort(forwardingPort, ['example.com'])).toEqual(['192.0.2.55']);
    expect(await digShort(forwardingPort, ['forwarded.example.org', '+tcp'])).toEqual(['192.0.2.55']);
    expect(upstream.queries).toEqual(expect.arrayContaining(['example.com', 'forwarded.example.org']));
    const out = await dig(forwardingPort, ['web-prod.marathon.mesos']);
    expect(digFlags(out)).toEqual(expect.arrayContaining(['aa', 'ra']));
    expect(digSection(out, 'ANSWER')).toHaveLength(1);
  });
});

describe('the Mesos-DNS HTTP API', () => {
  it('serves /v1 on the admin port', async () => {
    const version = await getJson<Record<string, string>>(`${pacer.admin}/v1/version`);
    expect(version.body).toMatchObject({ Service: 'Mesos-DNS', URL: 'https://github.com/mesosphere/mesos-dns' });
    const config = await getJson<Record<string, unknown>>(`${pacer.admin}/v1/config`);
    expect(config.body).toMatchObject({ Domain: 'mesos', Port: port, TTL: 5, IPSources: ['netinfo', 'host'], ExternalOn: false, SOAMname: 'ns1.mesos.' });
    expect(JSON.stringify(config.body)).not.toMatch(/Secret|Credentials|IAMConfigFile/);
    expect((await getJson(`${pacer.admin}/v1/hosts/web-prod.marathon.mesos`)).body).toEqual([{ host: 'web-prod.marathon.mesos.', ip: '127.0.0.1' }]);
    expect((await getJson(`${pacer.admin}/v1/hosts/nope.marathon.mesos`)).body).toEqual([{ host: '', ip: '' }]);
    const web = await running('/prod/web', 2);
    const services = await getJson<{ service: string; host: string; ip: string; port: string }[]>(`${pacer.admin}/v1/services/_http._web-prod._tcp.marathon.mesos.`);
    expect(services.body.map((s) => `${s.service} ${s.host} ${s.ip} ${s.port}`).sort()).toEqual(
      web.map((t) => `_http._web-prod._tcp.marathon.mesos. ${canonical('web-prod', t.id)}.marathon.mesos. 127.0.0.1 ${t.ports[0]}`).sort(),
    );
    expect((await getJson(`${pacer.admin}/v1/services/_nope._tcp.marathon.mesos`)).body).toEqual([{ service: '', host: '', ip: '', port: '' }]);
    const enumerate = await getJson<{ frameworks: { name: string; tasks: { id: string; records: { name: string; rtype: string }[] }[] }[] }>(`${pacer.admin}/v1/enumerate`);
    // As in Mesos-DNS, a record is listed under the first task that produced it.
    const webRecords = (enumerate.body.frameworks[0]?.tasks ?? []).filter((t) => web.some((w) => w.id === t.id)).flatMap((t) => t.records);
    expect(webRecords).toEqual(
      expect.arrayContaining([
        { name: 'web-prod.marathon.mesos.', host: '127.0.0.1', rtype: 'A' },
        { name: `${canonical('web-prod', web[1]!.id)}.marathon.mesos.`, host: '127.0.0.1', rtype: 'A' },
      ]),
    );
    const axfr = await getJson<{ Domain: string; Records: { As: Record<string, string[]>; SRVs: Record<string, string[]> } }>(`${pacer.admin}/v1/axfr`);
    expect(axfr.body.Domain).toBe('mesos');
    expect(axfr.body.Records.As['leader.mesos.']).toEqual(['127.0.0.1']);
    expect(axfr.body.Records.SRVs['_leader._tcp.mesos.']).toEqual(['leader.mesos.:5050']);
    expect((await fetch(`${pacer.admin}/v1/hosts/web-prod.marathon.mesos/ports`)).status).toBe(501);
  });

  it('serves the same API on --dns-http-port', async () => {
    const base = `http://127.0.0.1:${forwardingHttpPort}`;
    expect((await getJson(`${base}/v1/version`)).body).toMatchObject({ Service: 'Mesos-DNS' });
    expect((await getJson(`${base}/v1/config`)).body).toMatchObject({ Resolvers: [`127.0.0.1:${upstream.port}`], ExternalOn: true, HttpPort: forwardingHttpPort });
    expect((await getJson(`${base}/v1/hosts/leader.mesos`)).body).toEqual([{ host: 'leader.mesos.', ip: '127.0.0.1' }]);
    expect((await fetch(`${base}/metrics`)).status).toBe(404);
  });
});
