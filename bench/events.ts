/**
 * Event → traffic and event → DNS: how long after Marathon (the emulator) sent an event pacer acts
 * on it. One app `/ev/web` (IP-per-task, so each task has its own address and DNS answer; HTTP
 * backends) behind pacer, which also serves DNS. The bench reads the emulator's event stream
 * itself for the events' own `timestamp` (set by the emulator when it wrote the event, ms
 * resolution, same clock), while a client loop hits the service port (4 keep-alive connections,
 * back to back) and a UDP loop asks pacer for the app's A and SRV records (about every ms).
 *
 * Each cycle scales the app 2 → 3 and back (kill with scale=true):
 * - new task: its `TASK_RUNNING` event → the first response it gives through pacer (arrival time);
 * - its A record: `TASK_RUNNING` → the first A answer holding its IP; SRV: → the first SRV answer with 3 targets;
 * - killed task: its `TASK_KILLING` event → the send time of the last request it answered
 *   (0 when it answered none sent after the event).
 */
import { createSocket } from 'node:dgram';
import { Agent, request } from 'node:http';
import { startEmulator, startPacer, waitFor } from '../test/helpers/processes.ts';
import { freePort, query } from '../test/helpers/dns.ts';
import { freePorts } from '../test/proxy/helpers.ts';
import { log, sleep, started } from './lib.ts';
import type { Row } from './table.ts';

export interface EventsOptions {
  readonly events: number;
}

const now = (): number => performance.timeOrigin + performance.now();

/** Cycles run before the counted ones (the first apply, DNS answer and pick of a new task run cold). */
const WARMUP_CYCLES = 2;

interface StatusEvent {
  readonly taskId: string;
  readonly taskStatus: string;
  readonly at: number;
  readonly ips: readonly string[];
}

/** Follow the emulator's /v2/events and keep every status_update_event of the app. */
function followEvents(url: string, appId: string): { events: StatusEvent[]; stop(): void } {
  const events: StatusEvent[] = [];
  const abort = new AbortController();
  void (async () => {
    try {
      const response = await fetch(`${url}/v2/events`, { headers: { accept: 'text/event-stream' }, signal: abort.signal });
      const decoder = new TextDecoder();
      let buffer = '';
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let i: number;
        while ((i = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, i).replace(/\r$/, '');
          buffer = buffer.slice(i + 1);
          if (!line.startsWith('data: ')) continue;
          const data = JSON.parse(line.slice(6)) as { eventType?: string; appId?: string; taskId?: string; taskStatus?: string; timestamp?: string; ipAddresses?: { ipAddress: string }[] };
          if (data.eventType === 'status_update_event' && data.appId === appId) {
            events.push({ taskId: data.taskId!, taskStatus: data.taskStatus!, at: Date.parse(data.timestamp!), ips: (data.ipAddresses ?? []).map((a) => a.ipAddress) });
          }
        }
      }
    } catch {
      // aborted at the end
    }
  })();
  return { events, stop: () => abort.abort() };
}

/** Back-to-back HTTP requests on keep-alive connections; per task: first answer, last request sent. */
function clientLoop(port: number, workers = 4) {
  const agent = new Agent({ keepAlive: true, maxSockets: workers });
  const firstAnswer = new Map<string, number>();
  const lastSent = new Map<string, number>();
  let running = true;
  let failures = 0;
  let total = 0;
  const one = () =>
    new Promise<void>((resolve) => {
      const sent = now();
      const req = request({ host: '127.0.0.1', port, path: '/', agent }, (res) => {
        res.resume();
        res.on('end', () => {
          const task = String(res.headers['x-emulator-task'] ?? '');
          const at = now();
          total++;
          if (res.statusCode !== 200) failures++;
          if (!firstAnswer.has(task)) firstAnswer.set(task, at);
          if ((lastSent.get(task) ?? 0) < sent) lastSent.set(task, sent);
          resolve();
        });
      });
      req.on('error', () => {
        failures++;
        resolve();
      });
      req.end();
    });
  const loops = Array.from({ length: workers }, async () => {
    while (running) await one();
  });
  return {
    firstAnswer,
    lastSent,
    stats: () => ({ total, failures }),
    async stop() {
      running = false;
      await Promise.all(loops);
      agent.destroy();
    },
  };
}

/** The A addresses and the answer count of a DNS reply (no compression needed for the question). */
export function parseReply(msg: Buffer): { ips: string[]; answers: number } {
  const answers = msg.readUInt16BE(6);
  let off = 12;
  while (msg[off] !== 0) off += msg[off]! + 1;
  off += 5;
  const ips: string[] = [];
  for (let i = 0; i < answers; i++) {
    // owner: a pointer or labels
    if ((msg[off]! & 0xc0) === 0xc0) off += 2;
    else {
      while (msg[off] !== 0) off += msg[off]! + 1;
      off += 1;
    }
    const type = msg.readUInt16BE(off);
    const len = msg.readUInt16BE(off + 8);
    off += 10;
    if (type === 1 && len === 4) ips.push(`${msg[off]}.${msg[off + 1]}.${msg[off + 2]}.${msg[off + 3]}`);
    off += len;
  }
  return { ips, answers };
}

/** Ask pacer for the A and SRV records about every millisecond; first time each IP / each SRV count was seen. */
function dnsLoop(port: number, aName: string, srvName: string) {
  const socket = createSocket('udp4');
  const ipSeen = new Map<string, number>();
  const srvCountSeen: { count: number; at: number }[] = [];
  const qa = query(aName, 1, { id: 1 });
  const qs = query(srvName, 33, { id: 2, edns: 4096 });
  socket.on('message', (msg) => {
    const at = now();
    const { ips, answers } = parseReply(msg);
    if (msg.readUInt16BE(0) === 1) {
      for (const ip of ips) if (!ipSeen.has(ip)) ipSeen.set(ip, at);
    } else srvCountSeen.push({ count: answers, at });
    if (srvCountSeen.length > 100_000) srvCountSeen.splice(0, 50_000);
  });
  let running = true;
  const tick = (): void => {
    if (!running) return;
    socket.send(qa, port, '127.0.0.1');
    socket.send(qs, port, '127.0.0.1');
    setTimeout(tick, 1);
  };
  tick();
  return {
    ipSeen,
    /** First time after `since` an SRV answer with at least `count` records came. */
    srvAt(since: number, count: number): number | undefined {
      return srvCountSeen.find((s) => s.at >= since && s.count >= count)?.at;
    },
    stop() {
      running = false;
      socket.close();
    },
  };
}

export async function eventsBench(o: EventsOptions): Promise<Row[]> {
  const emulator = await startEmulator(['--step-delay-ms', '50', '--keepalive-ms', '1000']);
  started.push(emulator);
  const [servicePort, httpPort] = (await freePorts(2)) as [number, number];
  const dnsPort = await freePort();
  const appId = '/ev/web';
  await emulator.post('/apps', {
    app: {
      id: appId,
      instances: 2,
      cmd: 'serve',
      labels: { HAPROXY_GROUP: 'external', HAPROXY_0_MODE: 'http' },
      container: { type: 'MESOS', portMappings: [{ containerPort: 8080, servicePort, name: 'http', protocol: 'tcp' }] },
      networks: [{ mode: 'container', name: 'overlay' }],
    },
    backend: 'http',
  });
  const pacer = await startPacer(['--marathon', emulator.leader, '--group', 'external', '--http-port', String(httpPort), '--dns-bind', '127.0.0.1', '--dns-port', String(dnsPort), '--drain-timeout', '5']);
  started.push(pacer);
  const stream = followEvents(emulator.leader, appId);
  await waitFor('pacer to serve /ev/web', async () => ((await fetch(`http://127.0.0.1:${servicePort}/`)).status === 200 ? true : undefined), 15_000, 100);
  const client = clientLoop(servicePort);
  const dns = dnsLoop(dnsPort, 'web-ev.marathon.mesos', '_web-ev._tcp.marathon.mesos');
  const toTraffic: number[] = [];
  const toLast: number[] = [];
  const toA: number[] = [];
  const toSrv: number[] = [];
  let skipped = 0;
  try {
    await sleep(500);
    // The first cycles run pacer's apply, DNS and balancer paths for the first time (compiled on
    // the way): warm-up, measured but not counted.
    for (let cycle = -WARMUP_CYCLES; cycle < o.events; cycle++) {
      const counted = cycle >= 0;
      const seen = new Set(stream.events.map((e) => e.taskId));
      await emulator.post(`/apps${appId}/scale`, { instances: 3 });
      const running = await waitFor('the new task to run', () => stream.events.find((e) => e.taskStatus === 'TASK_RUNNING' && !seen.has(e.taskId)), 10_000, 2);
      const ip = running.ips[0] ?? '';
      const ok = await waitFor(
        'the new task to get traffic and DNS',
        () => (client.firstAnswer.has(running.taskId) && dns.ipSeen.has(ip) && dns.srvAt(running.at, 3) !== undefined ? true : undefined),
        5_000,
        5,
      ).catch(() => undefined);
      if (!ok) {
        if (counted) skipped++;
        log(`events: cycle ${cycle + 1}: the new task was not seen within 5 s`);
      } else if (!counted) {
        log(`events: warm-up cycle: traffic ${(client.firstAnswer.get(running.taskId)! - running.at).toFixed(1)} ms, A ${(dns.ipSeen.get(ip)! - running.at).toFixed(1)} ms`);
      } else {
        toTraffic.push(Math.max(0, client.firstAnswer.get(running.taskId)! - running.at));
        toA.push(Math.max(0, dns.ipSeen.get(ip)! - running.at));
        toSrv.push(Math.max(0, dns.srvAt(running.at, 3)! - running.at));
      }
      await emulator.post(`/tasks/${encodeURIComponent(running.taskId)}/kill`, { scale: true });
      const killing = await waitFor('TASK_KILLING', () => stream.events.find((e) => e.taskStatus === 'TASK_KILLING' && e.taskId === running.taskId), 10_000, 2);
      await waitFor('TASK_KILLED', () => stream.events.find((e) => e.taskStatus === 'TASK_KILLED' && e.taskId === running.taskId), 10_000, 5);
      await sleep(150);
      if (ok && counted) toLast.push(Math.max(0, (client.lastSent.get(running.taskId) ?? 0) - killing.at));
      if (counted) log(`events: cycle ${cycle + 1}/${o.events}: traffic ${toTraffic.at(-1)?.toFixed(1)} ms, A ${toA.at(-1)?.toFixed(1)} ms, SRV ${toSrv.at(-1)?.toFixed(1)} ms, last request ${toLast.at(-1)?.toFixed(1)} ms`);
    }
  } finally {
    dns.stop();
    await client.stop();
    stream.stop();
  }
  const { total, failures } = client.stats();
  const base = `${o.events} cycles scaling /ev/web 2→3→2 (emulator --step-delay-ms 50), after ${WARMUP_CYCLES} warm-up cycles not counted; event time = the event's own timestamp (ms, so up to 1 ms late is counted against pacer)${skipped ? `; ${skipped} cycles not seen within 5 s` : ''}`;
  const cmd = 'npm run bench -- events';
  return [
    {
      bench: 'event → traffic: a new healthy task gets its first request',
      summary: 'events',
      unit: 'ms',
      pacer: toTraffic,
      target: { kind: 'at-most', stat: 'p99', max: 20 },
      command: cmd,
      note: `${base}; TASK_RUNNING → first response from the task through pacer (4 keep-alive connections back to back: ${total} requests, ${failures} failed)`,
    },
    {
      bench: 'event → traffic: a killed task gets its last request',
      summary: 'events',
      unit: 'ms',
      pacer: toLast,
      target: { kind: 'at-most', stat: 'p99', max: 20 },
      command: cmd,
      note: `${base}; TASK_KILLING → send time of the last request the task answered`,
    },
    {
      bench: 'event → DNS: a new healthy task appears in A answers',
      summary: 'events',
      unit: 'ms',
      pacer: toA,
      target: { kind: 'at-most', stat: 'p99', max: 20 },
      command: cmd,
      note: `${base}; TASK_RUNNING → first UDP answer for web-ev.marathon.mesos holding its IP (queries about every ms)`,
    },
    {
      bench: 'event → DNS: a new healthy task appears in SRV answers',
      summary: 'events',
      unit: 'ms',
      pacer: toSrv,
      target: { kind: 'at-most', stat: 'p99', max: 20 },
      command: cmd,
      note: `${base}; TASK_RUNNING → first answer for _web-ev._tcp.marathon.mesos with 3 targets`,
    },
  ];
}
