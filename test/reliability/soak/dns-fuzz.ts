/**
 * The long DNS fuzz run (not part of `npm test`):
 *
 *   npx node test/reliability/soak/dns-fuzz.ts [--packets N] [--seed S] [--no-forward]
 *
 * Starts the Marathon emulator (two apps of 50 tasks) and pacer (`--dns-port`, forwarding to a
 * hostile upstream of its own unless `--no-forward`), then sends N (default 1,000,000) fuzzed
 * packets over UDP (the original fuzz mutations, compression-pointer abuse, EDNS variations, bad
 * headers and counts, names too long; seeded, so a run can be replayed) with a bounded window: every
 * batch of 64 is followed by a valid query on another socket whose answer is checked, and at most 8
 * batches are in flight. About 1 % goes over TCP (pipelined, with lying length prefixes), with
 * pipelined valid queries checked there too. Every reply must be a response (QR) of at most 1232
 * bytes. At the end pacer must be alive, answer correctly over UDP and TCP, and have logged no
 * error. Prints a short summary, then one JSON line:
 * {"name":"dns-fuzz","ok":true,"figures":{"packets":…,"seconds":…,"malformedCounted":…,"answered":…,"rssStartMB":…,"rssEndMB":…}}
 * Exit code 1 on any failure.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { parseArgs } from 'node:util';
import { frame, freePort, parse, query, splitFrames } from '../../helpers/dns.ts';
import { getJson, metric, startEmulator, startPacer, waitFor, type EmulatorProc, type PacerProc } from '../../helpers/processes.ts';
import { seededRandom } from '../../helpers/random.ts';
import {
  BASES,
  header,
  hostileMutate,
  startHostileUpstream,
  TYPE_A,
  TYPE_ANY,
  TYPE_SOA,
  TYPE_SRV,
  type HostileUpstream,
  IPT,
  TASKS,
  WEB,
} from '../dns-fuzz-lib.ts';

const { values: args } = parseArgs({
  options: {
    packets: { type: 'string', default: '1000000' },
    seed: { type: 'string', default: String(0x5eed_f022) },
    'no-forward': { type: 'boolean', default: false },
  },
});
const PACKETS = Number(args.packets);
const SEED = Number(args.seed);
const FORWARD = !args['no-forward'];
if (!Number.isInteger(PACKETS) || PACKETS < 1) throw new Error(`--packets: a positive integer, got ${args.packets}`);

const BATCH = 64;
const WINDOW = 2;
const TCP_EVERY = 100; // batches: one TCP fuzz connection (16 messages) every 100 batches of 64 ≈ 0.25 %, plus valid TCP checks
const TCP_FRAMES = 16;
const UDP_EDNS_MAX = 1232;
const MAX_RSS_GROWTH_MB = 300;


const failures: string[] = [];
function fail(message: string): void {
  if (failures.length < 20) failures.push(message);
}

function rssMB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 102.4) / 10 : NaN;
}

/** pacer's JS heap in use and its external (Buffer) memory, from its own /metrics. */
async function heapMB(admin: string): Promise<{ used: number; external: number }> {
  const mb = (bytes: number) => Math.round(bytes / 104857.6) / 10;
  return { used: mb(await metric(admin, 'nodejs_heap_size_used_bytes')), external: mb(await metric(admin, 'nodejs_external_memory_bytes')) };
}

/** Write `messages` on a fresh TCP connection, then FIN; the framed replies, and whether pacer closed it before `timeoutMs`. */
function tcpAsk(port: number, messages: readonly Buffer[], timeoutMs = 10_000): Promise<{ replies: Buffer[]; closed: boolean }> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    const replies: Buffer[] = [];
    let buffered = Buffer.alloc(0);
    const timer = setTimeout(() => done(false), timeoutMs);
    const done = (closed: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ replies, closed });
    };
    socket.on('error', () => {});
    socket.on('close', () => done(true));
    socket.on('data', (chunk: Buffer) => {
      const { messages, rest } = splitFrames(Buffer.concat([buffered, chunk]));
      replies.push(...messages);
      buffered = rest;
    });
    socket.once('connect', () => socket.end(Buffer.concat(messages)));
  });
}

interface Check {
  readonly what: string;
  readonly build: (id: number) => Buffer;
  /** Undefined when the reply is right, else what is wrong. */
  readonly verify: (reply: Buffer) => string | undefined;
}

async function main(): Promise<void> {
  const started = Date.now();
  let emulator: EmulatorProc | undefined;
  let pacer: PacerProc | undefined;
  let upstream: HostileUpstream | undefined;
  const sockets: UdpSocket[] = [];
  /** `seconds`: the fuzzing itself (start-up and the final checks not counted). */
  const figures = { packets: 0, seconds: 0, malformedCounted: 0, answered: 0, rssStartMB: 0, rssEndMB: 0 };
  const extra = { tcpConnections: 0, tcpMessages: 0, tcpReplies: 0, validChecked: 0, validResent: 0, forwardedServfail: 0, maxReplyBytes: 0, queriesCounted: 0, truncatedCounted: 0, forwardedCounted: 0, upstreamAnswered: 0, heap: '' };
  try {
    const port = await freePort();
    if (FORWARD) upstream = await startHostileUpstream({ records: 3, keepSizes: false });
    emulator = await startEmulator(['--keepalive-ms', '1000']);
    await emulator.post('/apps', { app: WEB, backend: 'none' });
    await emulator.post('/apps', { app: IPT, backend: 'none' });
    const leader = emulator.leader;
    const tasksOf = async (id: string) => (await getJson<{ tasks: { state: string; ipAddresses?: { ipAddress: string }[] }[] }>(`${leader}/v2/apps${id}/tasks`)).body.tasks.filter((t) => t.state === 'TASK_RUNNING');
    await waitFor('100 running tasks', async () => ((await tasksOf(WEB.id)).length === TASKS && (await tasksOf(IPT.id)).length === TASKS ? true : undefined), 30_000);
    const iptAddresses = (await tasksOf(IPT.id)).map((t) => t.ipAddresses?.[0]?.ipAddress ?? '').sort();
    pacer = await startPacer(['--marathon', leader, '--dns-bind', '127.0.0.1', '--dns-port', String(port), ...(upstream ? ['--dns-resolvers', `127.0.0.1:${upstream.port}`] : [])]);
    const pid = pacer.child.pid!;

    // The reference answers, over TCP (whole), once every task is in.
    const srvTargets = await waitFor(
      'pacer to serve every task',
      async () => {
        const { replies } = await tcpAsk(port, [frame(query('_web-prod._tcp.marathon.mesos', TYPE_SRV))], 2_000);
        const a = await tcpAsk(port, [frame(query('ipt-prod.marathon.mesos', TYPE_A))], 2_000);
        if (replies.length !== 1 || a.replies.length !== 1 || header(replies[0]!).an !== 2 * TASKS || header(a.replies[0]!).an !== TASKS) return undefined;
        return new Set(parse(replies[0]!).answers.map((r) => `${r.target}:${r.port}`));
      },
      30_000,
    );

    const addresses = (reply: Buffer) => parse(reply).answers.map((r) => r.address ?? '').sort();
    const checks: Check[] = [
      {
        what: 'web-prod A',
        build: (id) => query('web-prod.marathon.mesos', TYPE_A, { id }),
        verify: (r) => (header(r).rcode === 0 && JSON.stringify(addresses(r)) === '["127.0.0.1"]' ? undefined : `got ${JSON.stringify(addresses(r))} rcode ${header(r).rcode}`),
      },
      {
        what: 'ipt-prod A (50 task IPs, EDNS 1232)',
        build: (id) => query('ipt-prod.marathon.mesos', TYPE_A, { id, edns: 1232 }),
        verify: (r) => (!header(r).tc && JSON.stringify(addresses(r)) === JSON.stringify(iptAddresses) ? undefined : `got ${addresses(r).length} addresses, tc ${header(r).tc}`),
      },
      {
        what: '_web-prod._tcp SRV (100 records, EDNS 4096: cut to 1232 with TC)',
        build: (id) => query('_web-prod._tcp.marathon.mesos', TYPE_SRV, { id, edns: 4096 }),
        verify: (r) => {
          const answers = parse(r).answers.map((x) => `${x.target}:${x.port}`);
          return header(r).tc && r.length <= UDP_EDNS_MAX && answers.length > 10 && answers.every((x) => srvTargets.has(x)) && new Set(answers).size === answers.length
            ? undefined
            : `got ${answers.length} answers (${answers.filter((x) => !srvTargets.has(x)).length} unknown), tc ${header(r).tc}, ${r.length} bytes`;
        },
      },
      {
        what: 'nope NXDOMAIN',
        build: (id) => query('nope.marathon.mesos', TYPE_A, { id }),
        verify: (r) => (header(r).rcode === 3 && header(r).ns === 1 ? undefined : `rcode ${header(r).rcode}`),
      },
      {
        what: 'apex SOA',
        build: (id) => query('mesos', TYPE_SOA, { id }),
        verify: (r) => (header(r).rcode === 0 && parse(r).answers.length === 1 && parse(r).answers[0]!.type === TYPE_SOA ? undefined : `rcode ${header(r).rcode}`),
      },
      ...(FORWARD
        ? [
            {
              what: 'example.com A (forwarded)',
              build: (id: number) => query('example.com', TYPE_A, { id }),
              verify: (r: Buffer) => {
                if (header(r).rcode === 2) {
                  extra.forwardedServfail++;
                  return undefined;
                }
                return header(r).rcode === 0 && addresses(r).length === 3 && addresses(r).every((a) => a.startsWith('192.0.2.')) ? undefined : `rcode ${header(r).rcode}, ${addresses(r).length} answers`;
              },
            },
          ]
        : []),
    ];

    const bases = [
      ...BASES,
      query('_ipt-prod._tcp.marathon.mesos', TYPE_SRV, { edns: 65535 }),
      query('ipt-prod.marathon.mesos', TYPE_ANY),
      query('_web-prod._tcp.marathon.mesos', TYPE_ANY, { edns: 4096 }),
    ];
    const names = ['web-prod.marathon.mesos', 'ipt-prod.marathon.mesos', '_ipt-prod._tcp.marathon.mesos', '_web-prod._tcp.marathon.mesos', 'mesos', 'nope.marathon.mesos', 'example.com', 'loop.example.com'];
    const rand = seededRandom(SEED);

    // Warm up, then take the starting RSS.
    await tcpAsk(port, [frame(query('web-prod.marathon.mesos', TYPE_A))]);
    figures.rssStartMB = rssMB(pid);
    const heapStart = await heapMB(pacer.admin);
    const malformedBefore = await metric(pacer.admin, 'pacer_dns_malformed_total');

    const open = async () => {
      const s = createSocket('udp4');
      s.on('error', () => {});
      await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', () => resolve()));
      sockets.push(s);
      return s;
    };
    const fuzz = await open();
    const valid = await open();
    fuzz.on('message', (msg) => {
      figures.answered++;
      if (msg.length > extra.maxReplyBytes) extra.maxReplyBytes = msg.length;
      if (msg.length > UDP_EDNS_MAX) fail(`a UDP reply of ${msg.length} bytes (over ${UDP_EDNS_MAX})`);
      if (msg.length < 12 || (msg[2]! & 0x80) === 0) fail(`a UDP reply that is not a response: ${msg.subarray(0, 16).toString('hex')}`);
    });

    // Valid queries: ids of their own socket; each must be answered right (resent every second, up to 5 times).
    const waiting = new Map<number, (reply: Buffer) => void>();
    valid.on('message', (msg) => {
      if (msg.length >= 2) waiting.get(msg.readUInt16BE(0))?.(msg);
    });
    let validId = 0;
    const ask = (check: Check): Promise<void> => {
      const id = validId++ & 0xffff;
      const q = check.build(id);
      return new Promise((resolve) => {
        let tries = 0;
        const send = () => {
          if (tries++ > 0) { extra.validResent++; if (process.env.DEBUG_FUZZ) console.error("resend", check.what, id); }
          if (tries > 5) {
            waiting.delete(id);
            fail(`${check.what}: no answer after 5 tries`);
            resolve();
            return;
          }
          valid.send(q, port, '127.0.0.1');
        };
        const timer = setInterval(send, 1_000);
        waiting.set(id, (reply) => {
          clearInterval(timer);
          waiting.delete(id);
          extra.validChecked++;
          const wrong = check.verify(reply);
          if (wrong) fail(`${check.what}: ${wrong}`);
          resolve();
        });
        send();
      });
    };

    // TCP: fuzzed messages (some with a lying length prefix) on one connection; pacer must close it once we end ours.
    const tcpInFlight = new Set<Promise<void>>();
    const tcpFuzz = (): Promise<void> => {
      const messages: Buffer[] = [];
      for (let i = 0; i < TCP_FRAMES; i++) {
        const m = hostileMutate(rand, bases, names);
        messages.push(rand() < 0.1 ? frame(m, Math.floor(rand() * 65536)) : frame(m));
      }
      extra.tcpConnections++;
      extra.tcpMessages += messages.length;
      return tcpAsk(port, messages, 15_000).then(({ replies, closed }) => {
        extra.tcpReplies += replies.length;
        if (!closed) fail('a TCP fuzz connection was not closed by pacer within 15 s of our FIN');
        for (const r of replies) if (r.length < 12 || (r[2]! & 0x80) === 0) fail('a TCP reply that is not a response');
      });
    };
    const tcpValid = async (): Promise<void> => {
      const picks = Array.from({ length: 10 }, (_, i) => checks[i % checks.length]!);
      const { replies } = await tcpAsk(port, picks.map((c, i) => frame(c.build(0xf000 + i))));
      extra.tcpConnections++;
      if (replies.length !== picks.length) {
        fail(`pipelined valid TCP queries: ${replies.length} of ${picks.length} answered`);
        return;
      }
      // Forwarded replies may come back out of order: match by id.
      for (const r of replies) {
        const i = r.readUInt16BE(0) - 0xf000;
        const check = picks[i];
        if (!check) {
          fail(`a TCP reply with an unknown id ${r.readUInt16BE(0)}`);
          continue;
        }
        extra.validChecked++;
        const problem = check.what.startsWith('_web-prod._tcp') ? (header(r).tc || header(r).an !== 2 * TASKS ? `TCP SRV: ${header(r).an} answers, tc ${header(r).tc}` : undefined) : check.verify(r);
        if (problem) fail(`TCP ${check.what}: ${problem}`);
      }
    };

    const fuzzStarted = Date.now();
    const pending: Promise<void>[] = [];
    let batches = 0;
    const progressEvery = Math.max(1, Math.floor(PACKETS / 10));
    let nextProgress = progressEvery;
    while (figures.packets < PACKETS) {
      if (pending.length >= WINDOW) await pending.shift();
      for (let i = 0; i < BATCH && figures.packets < PACKETS; i++, figures.packets++) fuzz.send(hostileMutate(rand, bases, names), port, '127.0.0.1');
      pending.push(ask(checks[batches % checks.length]!));
      batches++;
      if (batches % TCP_EVERY === 0) {
        if (tcpInFlight.size >= 4) await Promise.race(tcpInFlight);
        const p = (batches % (TCP_EVERY * 10) === 0 ? tcpValid() : tcpFuzz()).finally(() => tcpInFlight.delete(p));
        tcpInFlight.add(p);
      }
      if (figures.packets >= nextProgress) {
        nextProgress += progressEvery;
        const heap = await heapMB(pacer.admin);
        console.error(`  ${figures.packets.toLocaleString('en')} packets, ${((Date.now() - fuzzStarted) / 1000).toFixed(0)} s, RSS ${rssMB(pid)} MB (JS heap used ${heap.used} MB, external ${heap.external} MB), ${failures.length} failures`);
      }
      if (pacer.child.exitCode !== null || pacer.child.signalCode !== null) {
        fail(`pacer exited (${pacer.child.exitCode ?? pacer.child.signalCode}) after ${figures.packets} packets`);
        break;
      }
    }
    await Promise.all(pending);
    await Promise.all(tcpInFlight);

    // The end: alive, right over UDP and TCP, no error logged, the counters.
    if (pacer.child.exitCode !== null || pacer.child.signalCode !== null) fail('pacer is not running at the end');
    else {
      for (const check of checks) await ask(check);
      await tcpValid();
    }
    const output = pacer.output();
    const errorLine = output.split('\n').find((l) => /"level":"(error|fatal)"/.test(l));
    if (errorLine) fail(`pacer logged an error: ${errorLine.slice(0, 300)}`);
    figures.seconds = Math.round((Date.now() - fuzzStarted) / 100) / 10;
    figures.rssEndMB = rssMB(pid);
    const heapEnd = await heapMB(pacer.admin);
    extra.heap = `JS heap used ${heapStart.used} → ${heapEnd.used} MB, external ${heapStart.external} → ${heapEnd.external} MB`;
    if (figures.rssEndMB - figures.rssStartMB > MAX_RSS_GROWTH_MB) fail(`RSS grew by ${(figures.rssEndMB - figures.rssStartMB).toFixed(1)} MB`);
    figures.malformedCounted = (await metric(pacer.admin, 'pacer_dns_malformed_total')) - malformedBefore;
    extra.queriesCounted = await metric(pacer.admin, 'pacer_dns_queries_total');
    extra.truncatedCounted = await metric(pacer.admin, 'pacer_dns_truncated_total');
    extra.forwardedCounted = await metric(pacer.admin, 'pacer_dns_forwarded_total');
    extra.upstreamAnswered = upstream?.answered() ?? 0;
    if (figures.malformedCounted < figures.packets / 10) fail(`only ${figures.malformedCounted} malformed packets counted for ${figures.packets} sent`);
    if (figures.answered < figures.packets / 10) fail(`only ${figures.answered} UDP replies for ${figures.packets} packets`);
  } catch (error) {
    fail(`the run failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  } finally {
    for (const s of sockets) s.close();
    const code = await pacer?.stop();
    if (pacer && code !== 0 && code !== null) fail(`pacer exited with ${code} on SIGTERM`);
    await emulator?.stop();
    await upstream?.close();
  }

  const ok = failures.length === 0;
  console.log(
    [
      `dns-fuzz: ${ok ? 'OK' : 'FAILED'} — ${figures.packets.toLocaleString('en')} fuzzed UDP packets (seed ${SEED}) + ${extra.tcpMessages.toLocaleString('en')} TCP messages on ${extra.tcpConnections} connections in ${figures.seconds} s (${Math.round(figures.packets / Math.max(figures.seconds, 0.001)).toLocaleString('en')} packets/s; ${Math.round((Date.now() - started) / 1000)} s with start-up and checks)`,
      `  UDP replies to fuzz: ${figures.answered.toLocaleString('en')} (largest ${extra.maxReplyBytes} bytes); TCP replies: ${extra.tcpReplies.toLocaleString('en')}`,
      `  valid queries checked: ${extra.validChecked.toLocaleString('en')} (resent ${extra.validResent}${FORWARD ? `, forwarded SERVFAIL ${extra.forwardedServfail}` : ''})`,
      `  pacer counted: ${figures.malformedCounted.toLocaleString('en')} malformed, ${extra.queriesCounted.toLocaleString('en')} queries, ${extra.truncatedCounted.toLocaleString('en')} truncated, ${extra.forwardedCounted.toLocaleString('en')} forward attempts (upstream answered ${extra.upstreamAnswered.toLocaleString('en')})`,
      `  pacer RSS: ${figures.rssStartMB} MB → ${figures.rssEndMB} MB (${extra.heap})`,
      ...failures.map((f) => `  FAILURE: ${f}`),
    ].join('\n'),
  );
  console.log(JSON.stringify({ name: 'dns-fuzz', ok, figures }));
  process.exitCode = ok ? 0 : 1;
}

await main();
