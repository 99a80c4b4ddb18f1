/**
 * The long Marathon-fault run (not part of `npm test`):
 *
 *   npx node test/reliability/soak/marathon-faults.ts [--outage-seconds N] [--events N] [--seed S] [--quick]
 *
 * Starts the Marathon emulator and pacer on loopback, with a healthy app whose task is a server of
 * this script's own, then:
 *
 * 1. **A minute of Marathon 5xx** (`--outage-seconds`, default 60): every Marathon request answers
 *    500, 502, 503 and 504 in turn, the event stream is dropped and cannot come back, while
 *    requests run through the healthy app's service port back to back (4 at a time). Not one may
 *    fail. `/ready` must stay 200 and say `stale`, with `staleSeconds` and
 *    `pacer_marathon_stale_seconds` covering the outage. During it Marathon scales an app; after it,
 *    the first successful resync must show that change (caught up within one resync).
 * 2. **Mutated events** (`--events`, default 100,000): payloads mutated from CONTRACT §1.6's
 *    examples (seeded), written through `/_emulator/raw` in batches, while traffic runs. The
 *    malformed ones must be counted in `pacer_marathon_events_malformed_total` exactly as the
 *    decoder predicts, the stream must hold, the healthy app must keep serving, and pacer's RSS
 *    after a resync must stay within 200 MB of where it started.
 *
 * `--quick`: 10 s of outage and 10,000 events (a smoke run). Prints a summary, then one JSON line
 * {"name":"marathon-faults","ok":…,"checks":{…},"figures":{…}}; exit code 1 on any failure.
 */
import { createServer } from 'node:http';
import { getOnce } from '../../proxy/helpers.ts';
import { parseArgs } from 'node:util';
import type { RoutesView } from '../../../src/admin/routes-view.ts';
import { SUBSCRIBED_EVENT_TYPES, decodeEvent } from '../../../src/model/events.ts';
import { freePorts } from '../../helpers/ports.ts';
import { getJson, metric, startEmulator, startPacer, waitFor, type EmulatorProc, type PacerProc } from '../../helpers/processes.ts';
import { seededRandom } from '../../helpers/random.ts';
import { eventTemplates, mutatedEvent, sseFrames } from '../marathon-fuzz-lib.ts';
import { finish } from './report.ts';

const { values: args } = parseArgs({
  options: {
    'outage-seconds': { type: 'string' },
    events: { type: 'string' },
    seed: { type: 'string', default: '20240917' },
    quick: { type: 'boolean', default: false },
  },
});
const OUTAGE_S = Number(args['outage-seconds'] ?? (args.quick ? 10 : 60));
const EVENTS = Number(args.events ?? (args.quick ? 10_000 : 100_000));
const SEED = Number(args.seed);
const BATCH = 500;
const MAX_RSS_GROWTH_MB = 200;
for (const [name, v] of [['--outage-seconds', OUTAGE_S], ['--events', EVENTS], ['--seed', SEED]] as const) {
  if (!Number.isFinite(v) || v < 0) throw new Error(`${name}: a non-negative number, got ${String(v)}`);
}

const ANSWER = 'healthy backend\n';
const checks: [string, boolean][] = [];
const figures: Record<string, number | string> = {};
const check = (what: string, held: boolean) => {
  checks.push([what, held]);
};

const get = (port: number) => getOnce(port, 5_000);

/** `concurrency` loops of back-to-back requests through the healthy app's service port. */
function traffic(port: number, concurrency: number): { stop: () => Promise<{ ok: number; failed: number; errors: string[] }> } {
  let running = true;
  let ok = 0;
  let failed = 0;
  const errors: string[] = [];
  const loops = Array.from({ length: concurrency }, async () => {
    while (running) {
      try {
        const a = await get(port);
        if (a.status === 200 && a.body === ANSWER) ok++;
        else {
          failed++;
          if (errors.length < 5) errors.push(`HTTP ${a.status}`);
        }
      } catch (error) {
        failed++;
        if (errors.length < 5) errors.push(String(error));
      }
    }
  });
  return {
    stop: async () => {
      running = false;
      await Promise.all(loops);
      return { ok, failed, errors };
    },
  };
}

let emulator: EmulatorProc | undefined;
let pacer: PacerProc | undefined;
const backend = createServer((_req, res) => res.end(ANSWER));

async function main(): Promise<void> {
  const [emuPort, backendPort, healthyPort, changingPort] = (await freePorts(4)) as [number, number, number, number];
  await new Promise<void>((resolve) => backend.listen(backendPort, '127.0.0.1', resolve));
  emulator = await startEmulator(['--port', String(emuPort), '--keepalive-ms', '1000']);
  const emu = emulator;
  await emu.post('/apps', {
    backend: 'none',
    app: {
      id: '/soak/healthy', instances: 1, cmd: 'serve', labels: { HAPROXY_GROUP: 'external' },
      container: { type: 'DOCKER', docker: { image: 'pacer/test' }, portMappings: [{ containerPort: 80, hostPort: backendPort, servicePort: healthyPort, protocol: 'tcp' }] },
      networks: [{ mode: 'container/bridge' }],
    },
  });
  await emu.post('/apps', { backend: 'none', app: { id: '/soak/changing', instances: 1, cmd: 'serve', labels: { HAPROXY_GROUP: 'external' }, portDefinitions: [{ port: changingPort }] } });
  await emu.post('/apps', { backend: 'none', app: { id: '/soak/target', instances: 2, cmd: 'serve', labels: {}, portDefinitions: [{ port: 0 }] } });
  pacer = await startPacer(['--marathon', emu.leader, '--marathon-timeout', '1', '--resync-interval', '300']);
  const p = pacer;
  const routes = async () => (await getJson<RoutesView>(`${p.admin}/routes`)).body;
  const routable = (v: RoutesView, port: number) => (v.services.find((s) => s.port === port)?.backends ?? []).filter((b) => b.routable).map((b) => `${b.address}:${b.port}`).sort();
  const ready = async () => getJson<{ ready: boolean; stale: boolean; staleSeconds: number; stream: string }>(`${p.admin}/ready`);
  const resyncsOk = () => metric(p.admin, 'pacer_marathon_resyncs_total', { result: 'ok' });
  const rssMB = async () => Math.round((await metric(p.admin, 'process_resident_memory_bytes')) / 2 ** 20);
  const marathonTasks = async (appId: string) => {
    const state = (await emu.get('/state')) as { apps: { id: string; tasks: { id: string; instanceId: string; state: string; host: string; ports: number[]; listed: boolean }[] }[] };
    return (state.apps.find((a) => a.id === appId)?.tasks ?? []).filter((t) => t.listed);
  };
  const running = async (appId: string) => (await marathonTasks(appId)).filter((t) => t.state === 'TASK_RUNNING').map((t) => `${t.host}:${t.ports[0]}`).sort();
  await waitFor('the healthy app routed and the stream current', async () => (routable(await routes(), healthyPort).length === 1 && !(await ready()).body.stale ? true : undefined), 20_000);

  // ---- 1. a minute of 5xx ---------------------------------------------------------------------
  console.log(`phase 1: every Marathon request answers 5xx for ${OUTAGE_S} s while traffic runs`);
  const load1 = traffic(healthyPort, 4);
  const statuses = [500, 502, 503, 504];
  const outageStart = Date.now();
  await emu.post('/faults', { kind: 'http-error', status: statuses[0] });
  await emu.post('/faults', { kind: 'drop-streams' });
  let readyAlways200 = true;
  let staleAlways = true;
  let maxStaleSeconds = 0;
  let maxStaleMetric = 0;
  let changed: string[] | undefined;
  let resyncsDuring = 0;
  const resyncsBefore = await resyncsOk();
  for (let tick = 0; Date.now() - outageStart < OUTAGE_S * 1000; tick++) {
    const elapsed = (Date.now() - outageStart) / 1000;
    const status = statuses[Math.min(statuses.length - 1, Math.floor((elapsed / OUTAGE_S) * statuses.length))]!;
    await emu.post('/faults', { kind: 'http-error', status });
    const r = await ready();
    if (r.status !== 200) readyAlways200 = false;
    if (elapsed > 2 && !r.body.stale) staleAlways = false;
    maxStaleSeconds = Math.max(maxStaleSeconds, r.body.staleSeconds);
    maxStaleMetric = Math.max(maxStaleMetric, await metric(p.admin, 'pacer_marathon_stale_seconds'));
    if (changed === undefined && elapsed > OUTAGE_S / 2) {
      // Marathon changes something pacer cannot hear about.
      await emu.post('/apps/soak/changing/scale', { instances: 3 });
      changed = await waitFor('3 running tasks', async () => {
        const ids = await running('/soak/changing');
        return ids.length === 3 ? ids : undefined;
      });
    }
    await new Promise((r2) => setTimeout(r2, 500));
  }
  resyncsDuring = (await resyncsOk()) - resyncsBefore;
  const beforeRecovery = await resyncsOk();
  await fetch(`${emu.control}/faults`, { method: 'DELETE' });
  const recoveryStart = Date.now();
  await waitFor('the first successful resync after the outage', async () => ((await resyncsOk()) > beforeRecovery ? true : undefined), 60_000, 20);
  const firstResyncMs = Date.now() - recoveryStart;
  const exactAfterOneResync = JSON.stringify(routable(await routes(), changingPort)) === JSON.stringify(changed);
  await waitFor('current again', async () => (!(await ready()).body.stale ? true : undefined), 30_000);
  const r1 = await load1.stop();
  figures['outageSeconds'] = OUTAGE_S;
  figures['outageRequests'] = r1.ok + r1.failed;
  figures['outageFailedRequests'] = r1.failed;
  figures['maxStaleSeconds'] = Math.round(maxStaleSeconds);
  figures['maxStaleMetricSeconds'] = Math.round(maxStaleMetric);
  figures['recoveryFirstResyncMs'] = firstResyncMs;
  console.log(`  ${r1.ok + r1.failed} requests during the outage, ${r1.failed} failed ${r1.errors.join('; ')}`);
  console.log(`  stale up to ${maxStaleSeconds.toFixed(1)} s (/ready), ${maxStaleMetric.toFixed(1)} s (metric); first resync ${firstResyncMs} ms after recovery`);
  check(`no request failed through the service port during ${OUTAGE_S} s of 5xx`, r1.failed === 0 && r1.ok > 0);
  check('/ready stayed 200 and said stale throughout', readyAlways200 && staleAlways);
  check('staleSeconds and pacer_marathon_stale_seconds covered the outage', maxStaleSeconds >= OUTAGE_S - 3 && maxStaleMetric >= OUTAGE_S - 4);
  check('no resync succeeded during the outage', resyncsDuring === 0);
  check('the first resync after recovery showed the change made during the outage', exactAfterOneResync);

  // ---- 2. mutated events ------------------------------------------------------------------------
  console.log(`phase 2: ${EVENTS.toLocaleString('en')} mutated events through /_emulator/raw while traffic runs`);
  const target = (await marathonTasks('/soak/target'))[0]!;
  const templates = eventTemplates({ appId: '/soak/target', taskId: target.id, instanceId: target.instanceId, host: target.host, port: target.ports[0] ?? 31000 });
  const random = seededRandom(SEED);
  const subscribed: ReadonlySet<string> = new Set(SUBSCRIBED_EVENT_TYPES);
  const load2 = traffic(healthyPort, 2);
  const rssStart = await rssMB();
  const malformedBefore = await metric(p.admin, 'pacer_marathon_events_malformed_total');
  const receivedBefore = await metric(p.admin, 'pacer_marathon_events_total');
  const reconnectsBefore = await metric(p.admin, 'pacer_marathon_stream_reconnects_total');
  let dispatched = 0;
  let expectedMalformed = 0;
  let rssPeak = rssStart;
  const t0 = Date.now();
  for (let sent = 0; sent < EVENTS; sent += BATCH) {
    const batch = Array.from({ length: Math.min(BATCH, EVENTS - sent) }, () => mutatedEvent(random, templates));
    for (const e of batch) {
      if (!subscribed.has(e.type)) continue;
      dispatched++;
      if (!decodeEvent(e.type, e.data).ok) expectedMalformed++;
    }
    await emu.post('/raw', sseFrames(batch));
    // Keep pace with pacer (the emulator cuts a stream more than 1,024 writes behind).
    await waitFor('pacer to keep up', async () => ((await metric(p.admin, 'pacer_marathon_events_total')) >= receivedBefore + dispatched - 5 * BATCH ? true : undefined), 60_000, 10);
    if ((sent / BATCH) % 20 === 0) rssPeak = Math.max(rssPeak, await rssMB());
  }
  await waitFor('every event to arrive', async () => ((await metric(p.admin, 'pacer_marathon_events_total')) >= receivedBefore + dispatched ? true : undefined), 60_000);
  const eventSeconds = (Date.now() - t0) / 1000;
  const malformed = (await metric(p.admin, 'pacer_marathon_events_malformed_total')) - malformedBefore;
  const reconnects = (await metric(p.admin, 'pacer_marathon_stream_reconnects_total')) - reconnectsBefore;
  const rssAfterEvents = await rssMB();
  // A resync puts the fuzzed app back as Marathon has it (valid mutated events may have invented tasks).
  const n = await resyncsOk();
  await emu.post('/faults', { kind: 'drop-streams' });
  await waitFor('a resync', async () => ((await resyncsOk()) > n ? true : undefined), 30_000);
  const rssEnd = await rssMB();
  const r2 = await load2.stop();
  const healthyAfter = routable(await routes(), healthyPort);
  figures['events'] = EVENTS;
  figures['eventsDispatched'] = dispatched;
  figures['eventsMalformedExpected'] = expectedMalformed;
  figures['eventsMalformedCounted'] = malformed;
  figures['eventsPerSecond'] = Math.round(dispatched / eventSeconds);
  figures['streamReconnectsDuringEvents'] = reconnects;
  figures['eventRequests'] = r2.ok + r2.failed;
  figures['eventFailedRequests'] = r2.failed;
  figures['rssStartMB'] = rssStart;
  figures['rssPeakMB'] = Math.max(rssPeak, rssAfterEvents);
  figures['rssAfterEventsMB'] = rssAfterEvents;
  figures['rssEndMB'] = rssEnd;
  console.log(`  ${dispatched} dispatched in ${eventSeconds.toFixed(1)} s, ${malformed} counted malformed (decoder predicts ${expectedMalformed}), ${reconnects} reconnects`);
  console.log(`  RSS ${rssStart} MB → peak ${figures['rssPeakMB']} MB → ${rssAfterEvents} MB after the events → ${rssEnd} MB after a resync`);
  check('every malformed event counted, exactly as the decoder predicts', malformed === expectedMalformed);
  check('the event stream held (no reconnect)', reconnects === 0);
  check('no request failed through the service port during the events', r2.failed === 0 && r2.ok > 0);
  check('the healthy app still routed', healthyAfter.length === 1);
  check(`RSS after the events and a resync within ${MAX_RSS_GROWTH_MB} MB of the start`, rssEnd - rssStart <= MAX_RSS_GROWTH_MB);
  check('pacer alive', p.child.exitCode === null);
  check('no error logged', !p.output().includes('"level":"error"') && !p.output().includes('"level":50'));
}

try {
  await main();
} catch (error) {
  check(`ran to the end (${String(error).slice(0, 300)})`, false);
} finally {
  await pacer?.stop();
  await emulator?.stop();
  await new Promise((resolve) => backend.close(resolve));
}
finish({ name: 'marathon-faults', checks, figures });
