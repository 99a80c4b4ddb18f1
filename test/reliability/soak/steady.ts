/**
 * The steady soak: pacer (a real process, fed by the emulator) under HTTP load at about half of
 * its measured capacity, plus short TCP connections, for `--minutes` (10 by default), while one app
 * scales every few seconds and another is redeployed every minute. Every failed request counts.
 * pacer's RSS, open file descriptors and event-loop lag are sampled from its /metrics every 10 s;
 * the first sample after the warm-up and the last must agree (flat), and no request may fail.
 *
 *   node test/reliability/soak/steady.ts [--minutes 10] [--rate N]
 *
 * Prints a table of samples, then one JSON line `{"name":"steady","ok":…,"figures":{…}}`; exits 1
 * when a check fails.
 */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadgen, WRK, wrk } from '../../../bench/lib.ts';
import { getJson, metric, startEmulator, startPacer, waitFor, type EmulatorProc, type PacerProc } from '../../helpers/processes.ts';
import { freePorts, pacerArgs, tcpFirstLine } from '../../proxy/helpers.ts';
import { finish, type SoakResult } from './report.ts';

const { values: opts } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    rate: { type: 'string' },
  },
});
const MINUTES = Number(opts.minutes);
const SAMPLE_MS = 10_000;
const WARMUP_MS = Math.min(60_000, (MINUTES * 60_000) / 5);

interface Sample {
  readonly t: number;
  readonly rssMB: number;
  readonly fds: number;
  readonly lagP99ms: number;
  readonly heapMB: number;
  readonly connections: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One scrape (prom-client resets its event-loop histogram on every scrape: never scrape twice at once). */
async function sample(admin: string, t0: number): Promise<Sample> {
  const text = await (await fetch(`${admin}/metrics`)).text();
  const value = (name: string): number => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
  return {
    t: Math.round((Date.now() - t0) / 1000),
    rssMB: value('process_resident_memory_bytes') / 2 ** 20,
    fds: value('process_open_fds'),
    lagP99ms: value('nodejs_eventloop_lag_p99_seconds') * 1000,
    heapMB: value('nodejs_heap_size_used_bytes') / 2 ** 20,
    connections: value('pacer_proxy_connections'),
  };
}

async function settled(emulator: EmulatorProc, appId: string): Promise<void> {
  await waitFor(`${appId} to settle`, async () => {
    const deployments = (await getJson<{ affectedApps: string[] }[]>(`${emulator.leader}/v2/deployments`)).body;
    return deployments.some((d) => d.affectedApps.includes(appId)) ? undefined : true;
  }, 60_000, 50);
}

async function main(): Promise<SoakResult> {
  const [webPort, echoPort, httpPort] = (await freePorts(3)) as [number, number, number];
  // --step-delay-ms 60 stands in for Marathon's kill grace period (as the churn test and bench).
  const emulator = await startEmulator(['--keepalive-ms', '1000', '--step-delay-ms', '60']);
  let pacer: PacerProc | undefined;
  try {
    const app = (id: string, port: number, mode: string, instances: number) => ({
      id,
      instances,
      cmd: 'serve',
      labels: { HAPROXY_GROUP: 'external', HAPROXY_0_MODE: mode },
      portDefinitions: [{ port, protocol: 'tcp' }],
    });
    await emulator.post('/apps', { app: app('/soak/web', webPort, 'http', 3), backend: 'http' });
    await emulator.post('/apps', { app: app('/soak/echo', echoPort, 'tcp', 2), backend: 'tcp' });
    await settled(emulator, '/soak/web');
    await settled(emulator, '/soak/echo');
    pacer = await startPacer(pacerArgs(emulator.leader, httpPort, 0, ['--drain-timeout', '5']));
    await waitFor('pacer to serve /soak/web', async () => {
      const r = await fetch(`http://127.0.0.1:${webPort}/`).catch(() => undefined);
      await r?.arrayBuffer();
      return r?.status === 200 ? true : undefined;
    }, 15_000);

    // Capacity: wrk for 5 s through pacer (the bench's HTTP row), then half of it.
    let rate = Number(opts.rate ?? 0);
    let capacity = Number.NaN;
    if (!rate) {
      if (existsSync(WRK)) {
        capacity = (await wrk(webPort, 32, 5)).rps;
        rate = Math.round(capacity / 2);
      } else {
        rate = 2_000;
        console.log('wrk is not installed (npm run bench installs it): using --rate 2000');
      }
    }
    console.log(`steady soak: ${MINUTES} min, HTTP at ${rate} req/s${Number.isFinite(capacity) ? ` (capacity ${Math.round(capacity)} req/s)` : ''}, TCP connections, /soak/web scaling every 5 s, /soak/echo redeployed every minute`);

    const t0 = Date.now();
    const durationMs = MINUTES * 60_000;
    const load = loadgen(webPort, rate, durationMs / 1000, 32);

    const tcp = { ok: 0, failures: [] as string[] };
    let running = true;
    const tcpWorker = (async () => {
      while (running) {
        try {
          const line = await tcpFirstLine(echoPort);
          if (line.includes('.instance-')) tcp.ok++;
          else tcp.failures.push(`tcp: ${line}`);
        } catch (error) {
          tcp.failures.push(`tcp: ${String(error)}`);
        }
        await sleep(20);
      }
    })();

    let scales = 0;
    let redeploys = 0;
    const changeErrors: string[] = [];
    const changer = (async () => {
      let up = true;
      let lastRedeploy = Date.now();
      while (Date.now() - t0 < durationMs - 5_000) {
        await emulator.post('/apps/soak/web/scale', { instances: up ? 6 : 3 });
        up = !up;
        scales++;
        if (Date.now() - lastRedeploy >= 60_000) {
          // A definition change (Marathon's PUT): new tasks start, then the old ones are killed.
          const response = await fetch(`${emulator.leader}/v2/apps/soak/echo`, {
            method: 'PUT',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ ...app('/soak/echo', echoPort, 'tcp', 2), env: { REV: String(++redeploys) } }),
          });
          if (!response.ok) throw new Error(`redeploy: HTTP ${response.status} ${await response.text()}`);
          lastRedeploy = Date.now();
        }
        await sleep(5_000);
      }
    })().catch((error: unknown) => {
      // Recorded, not thrown: an unhandled rejection would end the script before pacer is stopped.
      changeErrors.push(String(error));
    });

    const samples: Sample[] = [];
    while (Date.now() - t0 < durationMs) {
      await sleep(Math.min(SAMPLE_MS, durationMs - (Date.now() - t0)));
      const s = await sample(pacer.admin, t0);
      samples.push(s);
      console.log(`  t=${String(s.t).padStart(4)} s  rss ${s.rssMB.toFixed(1)} MB  heap ${s.heapMB.toFixed(1)} MB  fds ${s.fds}  lag p99 ${s.lagP99ms.toFixed(1)} ms  conns ${s.connections}`);
    }
    const http = await load;
    running = false;
    await Promise.all([tcpWorker, changer]);

    const after = samples.filter((s) => s.t * 1000 >= WARMUP_MS);
    const first = after[0] ?? samples[0]!;
    const last = samples.at(-1)!;
    const maxLag = Math.max(...after.map((s) => s.lagP99ms));
    const checks: [string, boolean][] = [
      ['no failed HTTP request', http.errors === 0 && http.ok > 0],
      ['no failed TCP connection', tcp.failures.length === 0 && tcp.ok > 0],
      ['every scale and redeploy was accepted', changeErrors.length === 0],
      ['the HTTP rate was held (≥ 95 % answered)', http.ok >= 0.95 * rate * (durationMs / 1000)],
      ['RSS flat (end ≤ 1.25 × start + 30 MB)', last.rssMB <= first.rssMB * 1.25 + 30],
      ['fds flat (end ≤ start + 20)', last.fds <= first.fds + 20],
      ['event-loop lag p99 flat (end ≤ 2 × start + 20 ms)', last.lagP99ms <= first.lagP99ms * 2 + 20],
    ];
    for (const f of [...tcp.failures.slice(0, 10), ...changeErrors]) console.log(`  ${f}`);
    return {
      name: 'steady',
      checks,
      figures: {
        minutes: MINUTES,
        rate,
        capacity: Math.round(capacity),
        httpOk: http.ok,
        httpErrors: http.errors,
        httpP99ms: http.p99ms,
        tcpOk: tcp.ok,
        tcpFailures: tcp.failures.length,
        scales,
        redeploys,
        rssStartMB: round(first.rssMB),
        rssEndMB: round(last.rssMB),
        fdsStart: first.fds,
        fdsEnd: last.fds,
        lagP99StartMs: round(first.lagP99ms),
        lagP99EndMs: round(last.lagP99ms),
        lagP99MaxMs: round(maxLag),
        refusedConnections: await metric(pacer.admin, 'pacer_proxy_connections_refused_total'),
      },
    };
  } finally {
    await pacer?.stop();
    await emulator.stop();
  }
}

const round = (x: number) => Math.round(x * 10) / 10;

finish(await main());
