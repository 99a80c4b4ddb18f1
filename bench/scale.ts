/**
 * Scale: 10,000 apps × 10 tasks in the emulator's wire format (bench/marathon-static.ts: templates
 * captured from the emulator, cloned, because creating that many apps through the emulator takes
 * too long), every app exposed on its own service port bound to 127.77.0.1 (so as not to collide
 * with anything on 127.0.0.1), then pacer:
 * - full sync: `pacer_marathon_resync_duration_seconds` of the first resync (fetch and apply);
 * - RSS: `process_resident_memory_bytes` once synced and settled;
 * - one status event applied: 30 `status_update_event` TASK_KILLED of different tasks, 150 ms apart
 *   (each applied alone) → the median of `pacer_routing_table_apply_duration_seconds` over them (histogram
 *   buckets, interpolated as Prometheus' histogram_quantile does), and its mean.
 * First with `--dns-port 0`, then again with DNS on (its first full zone build is the cost).
 */
import { startPacer, waitFor, type PacerProc } from '../test/helpers/processes.ts';
import { startStaticMarathon, type StaticMarathon } from './marathon-static.ts';
import { freePort, query } from '../test/helpers/dns.ts';
import { buckets, histogramQuantile, log, median, sampleValue, scrape, sleep, started } from './lib.ts';
import type { Row } from './table.ts';
import { createSocket } from 'node:dgram';

export interface ScaleOptions {
  readonly apps: number;
  readonly tasks: number;
  /** Runs of each mode (DNS off, DNS on); default 3, or `PACER_BENCH_SCALE_RUNS`. */
  readonly runs?: number;
}

/** Where the first resync's time went, from pacer's `resync applied` log line (ms). */
interface Phases {
  readonly fetch: number;
  readonly merge: number;
  readonly table: number;
  readonly consumers: number;
}

interface Measured {
  readonly syncS: number;
  readonly readyS: number;
  readonly dnsReadyS: number;
  readonly rssMb: number;
  readonly applyMedianMs: number;
  readonly applyMeanMs: number;
  readonly applies: number;
  readonly phases: Phases | undefined;
}

function firstResyncPhases(output: string): Phases | undefined {
  for (const line of output.split('\n')) {
    if (!line.includes('"resync applied"')) continue;
    try {
      const o = JSON.parse(line) as { phasesMs?: Phases };
      if (o.phasesMs) return o.phasesMs;
    } catch {
      // not a JSON line
    }
  }
  return undefined;
}

function dnsAnswers(port: number, name: string): Promise<true | undefined> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    const timer = setTimeout(() => {
      socket.close();
      resolve(undefined);
    }, 1_000);
    socket.once('message', (msg) => {
      clearTimeout(timer);
      socket.close();
      resolve((msg[3]! & 0x0f) === 0 && msg.readUInt16BE(6) > 0 ? true : undefined);
    });
    socket.send(query(name, 1), port, '127.0.0.1');
  });
}

async function measure(marathon: StaticMarathon, apps: number, kills: readonly [number, number][], dns: boolean): Promise<Measured> {
  const extra: string[] = [];
  let dnsPort = 0;
  if (dns) {
    dnsPort = await freePort();
    extra.push('--dns-bind', '127.0.0.1', '--dns-port', String(dnsPort));
  }
  const t0 = performance.now();
  const pacer: PacerProc = await startPacer(['--marathon', marathon.url, '--group', 'external', '--marathon-timeout', '60', ...extra]);
  started.push(pacer);
  await waitFor('pacer /ready', async () => ((await fetch(`${pacer.admin}/ready`)).status === 200 ? true : undefined), 180_000, 100);
  const readyS = (performance.now() - t0) / 1000;
  let dnsReadyS = Number.NaN;
  if (dns) {
    await waitFor('pacer DNS to answer', () => dnsAnswers(dnsPort, `app${apps - 1}-g${(apps - 1) % 100}-scale.marathon.mesos`), 180_000, 200);
    dnsReadyS = (performance.now() - t0) / 1000;
  }
  await sleep(2_000);
  const s0 = await scrape(pacer.admin);
  const syncS = sampleValue(s0, 'pacer_marathon_resync_duration_seconds_sum') / Math.max(1, sampleValue(s0, 'pacer_marathon_resync_duration_seconds_count'));
  const rssMb = sampleValue(s0, 'process_resident_memory_bytes') / 1e6;
  for (const [i, k] of kills) {
    const t = marathon.task(i, k);
    marathon.emit('status_update_event', {
      slaveId: t['slaveId'], taskId: t['id'], taskStatus: 'TASK_KILLED', message: '', appId: t['appId'], host: t['host'],
      ipAddresses: t['ipAddresses'], ports: t['ports'], version: t['version'],
    });
    await sleep(150);
  }
  // Every kill applied (pacer_routing_table_apply_events sums the events of each apply).
  const appliedEvents = 'pacer_routing_table_apply_events_sum';
  await waitFor('every kill applied', async () =>
    sampleValue(await scrape(pacer.admin), appliedEvents) - sampleValue(s0, appliedEvents) >= kills.length ? true : undefined, 30_000, 20);
  const s1 = await scrape(pacer.admin);
  const name = 'pacer_routing_table_apply_duration_seconds';
  const applies = sampleValue(s1, `${name}_count`) - sampleValue(s0, `${name}_count`);
  const applyMeanMs = ((sampleValue(s1, `${name}_sum`) - sampleValue(s0, `${name}_sum`)) / Math.max(1, applies)) * 1000;
  const applyMedianMs = histogramQuantile(0.5, buckets(s0, name), buckets(s1, name)) * 1000;
  const rssAfterMb = sampleValue(s1, 'process_resident_memory_bytes') / 1e6;
  const phases = firstResyncPhases(pacer.output());
  log(
    `scale (dns ${dns ? 'on' : 'off'}): ready ${readyS.toFixed(1)} s, resync ${syncS.toFixed(2)} s ${JSON.stringify(phases ?? {})}, dns ${dnsReadyS.toFixed(1)} s, ` +
      `RSS ${rssMb.toFixed(0)} MB (${rssAfterMb.toFixed(0)} after the kills), ${applies} applies: median ${applyMedianMs.toFixed(3)} ms, mean ${applyMeanMs.toFixed(3)} ms`,
  );
  await pacer.stop();
  started.splice(started.indexOf(pacer), 1);
  return { syncS, readyS, dnsReadyS, rssMb: Math.max(rssMb, rssAfterMb), applyMedianMs, applyMeanMs, applies, phases };
}

export async function scaleBench(o: ScaleOptions): Promise<Row[]> {
  const t0 = performance.now();
  const marathon = await startStaticMarathon(o.apps, o.tasks, { HAPROXY_GROUP: 'external', HAPROXY_0_BIND_ADDR: '127.77.0.1' });
  log(`scale: static Marathon with ${o.apps} apps × ${o.tasks} tasks (${(marathon.bytes / 1e6).toFixed(0)} MB of /v2/apps JSON) ready in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const kills = (from: number): [number, number][] => Array.from({ length: 30 }, (_, n) => [(from + n * 331) % o.apps, n % o.tasks]);
  const runs = o.runs ?? (Number(process.env['PACER_BENCH_SCALE_RUNS']) || 3);
  // Interleaved; each run kills other tasks (every new pacer finds them all running: the static /v2/apps never changes).
  const off: Measured[] = [];
  const on: Measured[] = [];
  for (let r = 0; r < runs; r++) {
    off.push(await measure(marathon, o.apps, kills(1 + 2 * r), false));
    on.push(await measure(marathon, o.apps, kills(2 + 2 * r), true));
  }
  const scale = `${o.apps.toLocaleString('en-US')} apps × ${o.tasks} tasks`;
  const cmd = 'npm run bench -- scale';
  const phasesNote = (ms: readonly Measured[]) => {
    const ps = ms.map((m) => m.phases).filter((p): p is Phases => p !== undefined);
    if (ps.length === 0) return '';
    const at = (k: keyof Phases) => `${k} ${median(ps.map((p) => p[k])).toFixed(0)}`;
    return `; medians of its phases (ms, pacer's \`resync applied\` log): ${at('fetch')} (GET, each app parsed and decoded as it arrives), ${at('merge')}, ${at('table')}, ${at('consumers')} (proxy listeners${ms === on ? ', DNS zone' : ''}, admin, Habitat)`;
  };
  const rows = (ms: readonly Measured[], dns: boolean): Row[] => {
    const tag = dns ? ', DNS on' : ', --dns-port 0';
    const span = (xs: readonly number[], digits: number) => `${median(xs).toFixed(digits)} (${xs.map((x) => x.toFixed(digits)).join(', ')})`;
    return [
      {
        bench: `scale ${scale}${tag}: full sync`,
        summary: 'runs',
        unit: 's',
        pacer: ms.map((m) => m.syncS),
        target: { kind: 'at-most', stat: 'median', max: 2 },
        command: cmd,
        note:
          `pacer_marathon_resync_duration_seconds of the first resync (GET /v2/apps with tasks, parse and decode, merge, table, and the consumers taking the table)${phasesNote(ms)}; ` +
          `process start to /ready: ${span(ms.map((m) => m.readyS), 1)} s${dns ? `; start to the first DNS answer (the first full zone build): ${span(ms.map((m) => m.dnsReadyS), 1)} s` : ''}`,
      },
      {
        bench: `scale ${scale}${tag}: RSS`,
        summary: 'runs',
        unit: 'MB',
        pacer: ms.map((m) => m.rssMb),
        target: { kind: 'at-most', stat: 'median', max: 400 },
        command: cmd,
        note: 'process_resident_memory_bytes after the sync (the larger of two scrapes: 2 s after ready, and after the status events)',
      },
      {
        bench: `scale ${scale}${tag}: one status event applied`,
        summary: 'runs',
        unit: 'ms',
        pacer: ms.map((m) => m.applyMedianMs),
        target: { kind: 'at-most', stat: 'median', max: 1 },
        command: cmd,
        note:
          `per run, the median of pacer_routing_table_apply_duration_seconds (apply the events to the snapshot, build the table; the consumers' time is not in it) over its applies ` +
          `(${ms.map((m) => m.applies).join(', ')} applies for 30 TASK_KILLED status events of different apps, 150 ms apart: events that arrive while the proxy still applies the previous table are applied together; ` +
          `interpolated in the histogram's buckets); means ${ms.map((m) => m.applyMeanMs.toFixed(3)).join(', ')} ms`,
      },
    ];
  };
  return [...rows(off, false), ...rows(on, true)];
}
