/**
 * DNS under hostile input, against a real pacer process (`--dns-port`, fed by the Marathon
 * emulator) and a hostile upstream resolver of the test's own: compression-pointer loops, EDNS
 * abuse, bad headers and counts, responses sent to the server, names too long, an ANY flood, DNS
 * over TCP abuse, and the amplification cap (every UDP reply at most 512 bytes without EDNS and
 * 1232 with it, whatever the query, forwarded ones included).
 *
 * How a drop is told from a late reply without sleeping: the bad packet is followed, on the same
 * socket, by a valid probe query; pacer handles datagrams in order and loopback keeps them in
 * order, so a reply to the bad packet would arrive before the probe's.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Answerer, TCP, UDP } from '../../src/dns/answer.ts';
import type { NameRecords } from '../../src/dns/names.ts';
import { buildZone } from '../../src/dns/zone.ts';
import { frame, freePort, parse, query, splitFrames, tcpExchange } from '../helpers/dns.ts';
import { getJson, metric, startEmulator, startPacer, waitFor, within, type EmulatorProc, type PacerProc } from '../helpers/processes.ts';
import {
  type HostileUpstream,
  ednsOption,
  header,
  opt,
  packet,
  pointerAbuse,
  question,
  record,
  shortPointerChain,
  startHostileUpstream,
  TYPE_A,
  TYPE_AAAA,
  TYPE_ANY,
  TYPE_NS,
  TYPE_SOA,
  TYPE_SRV,
  TYPE_TXT,
  IPT,
  TASKS,
  WEB,
} from './dns-fuzz-lib.ts';

const FORMERR = 1;
const SERVFAIL = 2;
const NXDOMAIN = 3;
const NOTIMP = 4;
const BAD_ID = 0xbad0;
/** RFC 1035's UDP size without EDNS, and the most pacer honours with it (DNS Flag Day 2020). */
const UDP_PLAIN = 512;
const UDP_EDNS_MAX = 1232;


let emulator: EmulatorProc;
let pacer: PacerProc;
let port: number;
let upstream: HostileUpstream;
/** Records in every answer of the hostile upstream: about 4 KB. */
const UPSTREAM_RECORDS = 250;
/** A TCP connection opened at the start that announced 100 bytes, sent 10, then went silent. */
let silent: { socket: Socket; closed: Promise<void>; isClosed: () => boolean };

// ---------------------------------------------------------------------------------------------
// Clients

/** One UDP socket: every reply is kept in arrival order; `ask` waits for the reply with the query's id. */
class UdpClient {
  readonly replies: Buffer[] = [];
  readonly #socket: UdpSocket;
  readonly #waiting = new Map<number, (reply: Buffer) => void>();

  private constructor(socket: UdpSocket) {
    this.#socket = socket;
    socket.on('message', (msg) => {
      this.replies.push(msg);
      if (msg.length >= 2) this.#waiting.get(msg.readUInt16BE(0))?.(msg);
    });
  }

  static async open(): Promise<UdpClient> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
    return new UdpClient(socket);
  }

  send(p: Buffer): void {
    this.#socket.send(p, port, '127.0.0.1');
  }

  /** Send `p` and wait for the reply with its id, resending every `retryMs` (UDP may drop under load) until `timeoutMs`. */
  ask(p: Buffer, timeoutMs = 3_000, retryMs = 1_000): Promise<Buffer | undefined> {
    const id = p.readUInt16BE(0);
    return new Promise((resolve) => {
      const done = (reply: Buffer | undefined) => {
        clearTimeout(timer);
        clearInterval(resend);
        this.#waiting.delete(id);
        resolve(reply);
      };
      const timer = setTimeout(() => done(undefined), timeoutMs);
      const resend = setInterval(() => this.send(p), retryMs);
      this.#waiting.set(id, done);
      this.send(p);
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#socket.close(() => resolve()));
  }
}

let probeIds = 1;

/** A valid query and a check of its answer: `web-prod.marathon.mesos A` is 127.0.0.1 (every host-networking task is on the one agent). */
function probe(): Buffer {
  return query('web-prod.marathon.mesos', TYPE_A, { id: probeIds++ });
}

function expectProbeAnswer(reply: Buffer | undefined): void {
  expect(reply, 'the probe query was not answered').toBeDefined();
  const h = header(reply!);
  expect(h.rcode).toBe(0);
  expect(parse(reply!).answers.map((r) => r.address)).toEqual(['127.0.0.1']);
}

/**
 * Send `bad`, then a probe on the same socket: the reply to `bad` (undefined when dropped), after
 * checking that the probe right behind it was answered correctly.
 */
async function verdict(bad: Buffer): Promise<Buffer | undefined> {
  const client = await UdpClient.open();
  try {
    client.send(bad);
    const p = probe();
    const reply = await client.ask(p);
    expectProbeAnswer(reply);
    const before = client.replies.slice(0, client.replies.indexOf(reply!)).filter((r) => r.length < 2 || r.readUInt16BE(0) !== p.readUInt16BE(0));
    expect(before.length).toBeLessThanOrEqual(1);
    return before[0];
  } finally {
    await client.close();
  }
}

function expectRcode(reply: Buffer | undefined, rcode: number, id = BAD_ID): void {
  expect(reply, `expected rcode ${rcode}, got no reply`).toBeDefined();
  const h = header(reply!);
  expect(h.qr).toBe(true);
  expect(h.id).toBe(id);
  expect(h.rcode).toBe(rcode);
  expect(h.an).toBe(0);
}

/** The OPT record pacer writes last in a reply (no options): size, extended rcode, version, rdlength. */
function lastOpt(reply: Buffer): { size: number; extendedRcode: number; version: number; rdlength: number } | undefined {
  const at = reply.length - 11;
  if (at < 12 || reply[at] !== 0 || reply.readUInt16BE(at + 1) !== 41) return undefined;
  return { size: reply.readUInt16BE(at + 3), extendedRcode: reply[at + 5]!, version: reply[at + 6]!, rdlength: reply.readUInt16BE(at + 9) };
}

/** A DNS-over-TCP connection: framed replies collected in order, and whether pacer closed it. */
function tcpSession(): Promise<{ socket: Socket; replies: Buffer[]; closed: Promise<void>; isClosed: () => boolean }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1' });
    const replies: Buffer[] = [];
    let buffered = Buffer.alloc(0);
    let isClosed = false;
    const closed = new Promise<void>((r) =>
      socket.once('close', () => {
        isClosed = true;
        r();
      }),
    );
    socket.on('data', (chunk: Buffer) => {
      const { messages, rest } = splitFrames(Buffer.concat([buffered, chunk]));
      replies.push(...messages);
      buffered = rest;
    });
    socket.on('error', () => {});
    socket.once('connect', () => resolve({ socket, replies, closed, isClosed: () => isClosed }));
    socket.once('error', reject);
  });
}

async function running(appId: string, n: number): Promise<void> {
  await waitFor(
    `${n} running tasks of ${appId}`,
    async () => {
      const { body } = await getJson<{ tasks: { state: string }[] }>(`${emulator.leader}/v2/apps${appId}/tasks`);
      return body.tasks.filter((t) => t.state === 'TASK_RUNNING').length === n ? true : undefined;
    },
    15_000,
  );
}

beforeAll(async () => {
  port = await freePort();
  upstream = await startHostileUpstream({ records: UPSTREAM_RECORDS });
  emulator = await startEmulator(['--keepalive-ms', '1000']);
  await emulator.post('/apps', { app: WEB, backend: 'none' });
  await emulator.post('/apps', { app: IPT, backend: 'none' });
  await Promise.all([running(WEB.id, TASKS), running(IPT.id, TASKS)]);
  pacer = await startPacer([
    '--marathon',
    emulator.leader,
    '--dns-bind',
    '127.0.0.1',
    '--dns-port',
    String(port),
    '--dns-resolvers',
    `127.0.0.1:${upstream.port}`,
  ]);
  await waitFor(
    'pacer to serve every task in DNS',
    async () => {
      const srv = await tcpExchange(port, query('_web-prod._tcp.marathon.mesos', TYPE_SRV));
      const a = await tcpExchange(port, query('ipt-prod.marathon.mesos', TYPE_A));
      return srv && a && header(srv).an === 2 * TASKS && header(a).an === TASKS ? true : undefined;
    },
    15_000,
  );
  // Announce 100 bytes, send 10, then nothing: only pacer's idle timeout (10 s) can end this; it is checked last.
  const s = await tcpSession();
  s.socket.write(Buffer.concat([Buffer.from([0, 100]), Buffer.alloc(10)]));
  silent = s;
}, 60_000);

afterAll(async () => {
  silent?.socket.destroy();
  await pacer?.stop();
  await emulator?.stop();
  await upstream?.close();
});

// ---------------------------------------------------------------------------------------------

describe('compression pointers', () => {
  it('answers FORMERR to pointer loops, forward pointers and long chains, in the question and in additional records, and keeps answering', async () => {
    for (const { label, packet: bad } of pointerAbuse(BAD_ID)) {
      const reply = await verdict(bad);
      expect(reply, label).toBeDefined();
      expect(header(reply!).rcode, label).toBe(FORMERR);
      expect(header(reply!).id, label).toBe(BAD_ID);
    }
    // A short backwards chain is odd but well formed: answered.
    const ok = await verdict(shortPointerChain(BAD_ID));
    expect(header(ok!).rcode).toBe(0);
    expect(parse(ok!).answers.map((r) => r.address)).toEqual(['127.0.0.1']);
  });

  it('refuses a datagram packed with pointer chains past its hop budget (FORMERR, not seconds of CPU)', async () => {
    // 120 additional records whose owners form a chain of pointers (each to the previous owner),
    // then 3,800 more whose owners all point at the end of it: every name is within the 128 hops
    // one name may take, but walking them all would be about 460,000 hops for one datagram.
    const q = question('web-prod.marathon.mesos', TYPE_A);
    const records: Buffer[] = [];
    let previous = 12;
    let at = 12 + q.length;
    for (let i = 0; i < 3_920; i++) {
      const r = record(Buffer.from([0xc0 | (previous >> 8), previous & 0xff]), TYPE_A);
      records.push(r);
      if (i < 120) previous = at;
      at += r.length;
    }
    const bad = packet({ id: BAD_ID, question: q, additional: records });
    expect(bad.length).toBeLessThan(65_000);
    expectRcode(await verdict(bad), FORMERR);
    // The same with a few records is a valid query.
    const few = await verdict(packet({ id: BAD_ID, question: q, additional: records.slice(0, 8) }));
    expect(header(few!).rcode).toBe(0);
    expect(parse(few!).answers.map((r) => r.address)).toEqual(['127.0.0.1']);
  });
});

describe('EDNS abuse', () => {
  const srv50 = '_ipt-prod._tcp.marathon.mesos';

  it('caps a UDP size of 65535 at 1232: the reply says so and fits, with TC', async () => {
    const reply = await verdict(packet({ id: BAD_ID, question: question(srv50, TYPE_SRV), additional: [opt({ size: 65535 })] }));
    expect(reply!.length).toBeLessThanOrEqual(UDP_EDNS_MAX);
    expect(header(reply!).tc).toBe(true);
    expect(header(reply!).an).toBeGreaterThan(0);
    expect(lastOpt(reply!)).toEqual({ size: UDP_EDNS_MAX, extendedRcode: 0, version: 0, rdlength: 0 });
  });

  it('treats a UDP size under 512 as 512', async () => {
    const reply = await verdict(packet({ id: BAD_ID, question: question(srv50, TYPE_SRV), additional: [opt({ size: 0 })] }));
    expect(reply!.length).toBeLessThanOrEqual(UDP_PLAIN);
    expect(lastOpt(reply!)?.size).toBe(UDP_PLAIN);
  });

  it('answers FORMERR to two OPT records, an OPT in the answer section, and an OPT whose rdata runs past the packet', async () => {
    const q = question('web-prod.marathon.mesos', TYPE_A);
    expectRcode(await verdict(packet({ id: BAD_ID, question: q, additional: [opt(), opt()] })), FORMERR);
    expectRcode(await verdict(packet({ id: BAD_ID, question: q, answers: [opt()] })), FORMERR);
    const overrun = packet({ id: BAD_ID, question: q, additional: [opt({ rdata: ednsOption(12, Buffer.alloc(8)) })] });
    overrun.writeUInt16BE(5_000, overrun.length - 12 - 2);
    expectRcode(await verdict(overrun), FORMERR);
  });

  it('answers normally past 3,000 bytes of EDNS options, echoing none of them', async () => {
    const options = Buffer.concat([ednsOption(12, Buffer.alloc(2_000)), ednsOption(65001, Buffer.alloc(1_000, 0xff)), ednsOption(10, Buffer.alloc(8, 1))]);
    const bad = packet({ id: BAD_ID, question: question('web-prod.marathon.mesos', TYPE_A), additional: [opt({ size: 4096, rdata: options })] });
    const reply = await verdict(bad);
    expect(header(reply!).rcode).toBe(0);
    expect(parse(reply!).answers.map((r) => r.address)).toEqual(['127.0.0.1']);
    expect(lastOpt(reply!)).toEqual({ size: UDP_EDNS_MAX, extendedRcode: 0, version: 0, rdlength: 0 });
    expect(reply!.length).toBeLessThan(bad.length);
  });

  it('answers BADVERS to EDNS versions other than 0 (RFC 6891 §6.1.3)', async () => {
    for (const version of [1, 2, 255]) {
      const reply = await verdict(packet({ id: BAD_ID, question: question('web-prod.marathon.mesos', TYPE_A), additional: [opt({ version })] }));
      const h = header(reply!);
      expect(h.rcode).toBe(0); // BADVERS = 16: the low 4 bits in the header, the high 8 in the OPT
      expect(h.an).toBe(0);
      expect(lastOpt(reply!)).toEqual({ size: UDP_EDNS_MAX, extendedRcode: 1, version: 0, rdlength: 0 });
    }
  });
});

describe('headers and counts', () => {
  const q = question('web-prod.marathon.mesos', TYPE_A);
  const a = record(Buffer.from([0xc0, 12]), TYPE_A, Buffer.from([10, 0, 0, 1]));
  const soa = record(Buffer.from([0]), TYPE_SOA, Buffer.alloc(22));

  it('answers FORMERR to QDCOUNT 0 or over 1, and to answer or authority records in a query', async () => {
    expectRcode(await verdict(packet({ id: BAD_ID, question: Buffer.alloc(0), qdcount: 0 })), FORMERR);
    expectRcode(await verdict(packet({ id: BAD_ID, question: q, qdcount: 0 })), FORMERR);
    expectRcode(await verdict(packet({ id: BAD_ID, question: Buffer.concat([q, q]), qdcount: 2 })), FORMERR);
    expectRcode(await verdict(packet({ id: BAD_ID, question: q, qdcount: 65535 })), FORMERR);
    expectRcode(await verdict(packet({ id: BAD_ID, question: q, answers: [a] })), FORMERR);
    expectRcode(await verdict(packet({ id: BAD_ID, question: q, authority: [soa] })), FORMERR);
    expectRcode(await verdict(packet({ id: BAD_ID, question: q, ancount: 5 })), FORMERR);
  });

  it('drops responses (QR=1), even a real reply of its own sent back: no reflection loop between servers', async () => {
    const client = await UdpClient.open();
    const real = await client.ask(query('_web-prod._tcp.marathon.mesos', TYPE_SRV, { id: BAD_ID }));
    await client.close();
    expect(header(real!).qr).toBe(true);
    expect(await verdict(real!)).toBeUndefined();
    const asResponse = Buffer.from(query('web-prod.marathon.mesos', TYPE_A, { id: BAD_ID }));
    asResponse[2] = asResponse[2]! | 0x80;
    expect(await verdict(asResponse)).toBeUndefined();
    // A response with an error rcode and another opcode: still dropped, not NOTIMP.
    asResponse[2] = 0x80 | (5 << 3);
    asResponse[3] = 0x01;
    expect(await verdict(asResponse)).toBeUndefined();
  });

  it('answers NOTIMP to every opcode other than QUERY', async () => {
    for (let opcode = 1; opcode < 16; opcode++) {
      const reply = await verdict(packet({ id: BAD_ID, question: q, flags: (opcode << 11) | 0x0100 }));
      expectRcode(reply, NOTIMP);
      expect(header(reply!).opcode).toBe(opcode);
    }
  });

  it('drops datagrams shorter than a header (0 to 11 bytes)', async () => {
    const whole = query('web-prod.marathon.mesos', TYPE_A, { id: BAD_ID });
    for (let length = 0; length < 12; length++) expect(await verdict(whole.subarray(0, length)), `${length} bytes`).toBeUndefined();
  });

  it('answers FORMERR to labels over 63 bytes and names over 255, and reads a name of exactly 255', async () => {
    expectRcode(await verdict(packet({ id: BAD_ID, question: question(`${'x'.repeat(64)}.marathon.mesos`, TYPE_A) })), FORMERR);
    for (const lengthByte of [0x40, 0x80, 0xbf]) {
      const bad = Buffer.from(q);
      bad[0] = lengthByte;
      expectRcode(await verdict(packet({ id: BAD_ID, question: bad })), FORMERR);
    }
    const name = (last: number) => `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(last)}.mesos`;
    // 3 × 64 + (1 + 55) + 6 ("mesos") + 1 (root) = 255 bytes.
    expectRcode(await verdict(packet({ id: BAD_ID, question: question(name(55), TYPE_A) })), NXDOMAIN);
    expectRcode(await verdict(packet({ id: BAD_ID, question: question(name(56), TYPE_A) })), FORMERR);
    expectRcode(await verdict(packet({ id: BAD_ID, question: question(`${'e'.repeat(63)}.${name(55)}`, TYPE_A) })), FORMERR);
  });
});

describe('ANY', () => {
  it('answers ANY over UDP with one RRset (RFC 8482), over TCP with all of them; the apex keeps SOA and NS', () => {
    // The emulator's tasks have no IPv6: a name with A and AAAA records is built here, on the same query path.
    const names = new Map<string, NameRecords>([
      ['dual.marathon.mesos', { a: ['10.0.0.1', '10.0.0.2'], aaaa: ['fd00::1', 'fd00::2'], srv: [] }],
      ['_dual._tcp.marathon.mesos', { a: [], aaaa: [], srv: [{ priority: 0, weight: 1, port: 80, target: 'dual.marathon.mesos' }] }],
    ]);
    const answerer = new Answerer({ domain: 'mesos', forwarding: false });
    answerer.setZone(buildZone({ domain: 'mesos', framework: 'marathon', frameworkName: 'marathon', names, tasks: [], nsName: 'ns1.mesos' }, { ttl: 60, serial: 1 }));
    const ask = (name: string, transport: typeof UDP | typeof TCP) => parse(answerer.answer(query(name, TYPE_ANY, { edns: 4096 }), transport) as Buffer);
    expect(ask('dual.marathon.mesos', UDP).answers.map((r) => r.type)).toEqual([TYPE_A, TYPE_A]);
    expect(ask('dual.marathon.mesos', TCP).answers.map((r) => r.type).sort()).toEqual([TYPE_A, TYPE_A, TYPE_AAAA, TYPE_AAAA]);
    const srv = ask('_dual._tcp.marathon.mesos', UDP);
    expect(srv.answers.map((r) => r.type)).toEqual([TYPE_SRV]);
    expect(srv.additionals.filter((r) => r.type !== 41)).toEqual([]);
    expect(ask('mesos', UDP).answers.map((r) => r.type).sort()).toEqual([TYPE_NS, TYPE_SOA]);
  });

  it('survives an ANY flood (20,000 queries as fast as the socket takes them) and keeps answering A queries from another socket', async () => {
    const FLOOD = 20_000;
    const anyQuery = query('_ipt-prod._tcp.marathon.mesos', TYPE_ANY, { edns: 4096 });
    const anyBefore = await metric(pacer.admin, 'pacer_dns_queries_total', { qtype: 'ANY' });
    const flooder = await UdpClient.open();
    const prober = await UdpClient.open();
    let flooding = true;
    const probes: (Buffer | undefined)[] = [];
    const probing = (async () => {
      while (flooding) probes.push(await prober.ask(probe(), 5_000, 250));
    })();
    for (let sent = 0; sent < FLOOD; ) {
      for (let i = 0; i < 250; i++, sent++) {
        // A buffer per datagram: dgram may still hold the previous one when send() returns.
        const q = Buffer.from(anyQuery);
        q.writeUInt16BE(sent & 0xffff, 0);
        flooder.send(q);
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    // Every probe sent while the flood ran must be answered (within 5 s, resent every 250 ms).
    const countedAny = await waitFor('pacer to count the flood', async () => {
      const counted = (await metric(pacer.admin, 'pacer_dns_queries_total', { qtype: 'ANY' })) - anyBefore;
      return counted >= FLOOD / 20 && flooder.replies.length >= FLOOD / 20 ? counted : undefined;
    }, 10_000);
    flooding = false;
    await probing;
    await Promise.all([flooder.close(), prober.close()]);
    expect(probes.length).toBeGreaterThan(0);
    for (const reply of probes) expectProbeAnswer(reply);
    expect(countedAny).toBeGreaterThanOrEqual(FLOOD / 20);
    // Every ANY reply: the SRV set only (no additional section), within 1232 bytes.
    for (const reply of flooder.replies) {
      expect(reply.length).toBeLessThanOrEqual(UDP_EDNS_MAX);
      expect(header(reply).ar).toBe(1); // the OPT only
    }
    const sample = parse(flooder.replies[0]!);
    expect(new Set(sample.answers.map((r) => r.type))).toEqual(new Set([TYPE_SRV]));
  });
});

describe('DNS over TCP', () => {
  it('answers 2,000 pipelined queries on one connection in order, FORMERR ones included, without closing it', async () => {
    const session = await tcpSession();
    const frames: Buffer[] = [];
    const expected: { id: number; rcode: number; an: number }[] = [];
    for (let id = 0; id < 2_000; id++) {
      if (id % 10 === 7) {
        frames.push(frame(pointerAbuse(id)[id % 5]!.packet));
        expected.push({ id, rcode: FORMERR, an: 0 });
      } else if (id % 3 === 0) {
        frames.push(frame(query('_ipt-prod._tcp.marathon.mesos', TYPE_SRV, { id })));
        expected.push({ id, rcode: 0, an: TASKS });
      } else {
        frames.push(frame(query('web-prod.marathon.mesos', TYPE_A, { id })));
        expected.push({ id, rcode: 0, an: 1 });
      }
    }
    session.socket.write(Buffer.concat(frames));
    await waitFor('2,000 replies', () => (session.replies.length >= 2_000 ? true : undefined), 15_000);
    expect(session.replies.map((r) => ({ id: header(r).id, rcode: header(r).rcode, an: header(r).an }))).toEqual(expected);
    expect(session.isClosed()).toBe(false);
    session.socket.destroy();
  });

  it('closes a connection whose message has length 0, answering nothing', async () => {
    const session = await tcpSession();
    session.socket.write(Buffer.from([0, 0]));
    await within(session.closed, 5_000, 'pacer to close the connection');
    expect(session.replies).toEqual([]);
  });

  it('answers a query over TCP in full: no TC, no size cap (TCP proves the source)', async () => {
    const reply = (await tcpExchange(port, query('_ipt-prod._tcp.marathon.mesos', TYPE_SRV, { edns: 4096 })))!;
    expect(header(reply).tc).toBe(false);
    expect(header(reply).an).toBe(TASKS);
    expect(reply.length).toBeGreaterThan(UDP_EDNS_MAX);
  });
});

// Without --dns-resolvers, names outside the zone get REFUSED (pacer is no open resolver by default):
// test/dns/integration.test.ts 'refuses names outside the zone when no resolvers are configured', and
// test/dns/answer.test.ts 'refuses names outside the zone, or asks to forward them'.
describe('forwarding (--dns-resolvers set, to a resolver answering 4 KB whatever the size asked)', () => {
  it('cuts forwarded UDP answers to the client’s size (512 without EDNS, at most 1232 with), with TC, and asks the resolver for at most 1232', async () => {
    const client = await UdpClient.open();
    try {
      const seen = upstream.sizes.length;
      const plain = (await client.ask(query('example.com', TYPE_A, { id: 1 })))!;
      expect(plain.length).toBeLessThanOrEqual(UDP_PLAIN);
      expect(header(plain).tc).toBe(true);
      expect(header(plain).rcode).toBe(0);
      expect(parse(plain).answers.length).toBe(header(plain).an);
      for (const edns of [1232, 4096, 65535]) {
        const reply = (await client.ask(query('example.com', TYPE_A, { id: edns, edns })))!;
        expect(reply.length, `EDNS ${edns}`).toBeLessThanOrEqual(UDP_EDNS_MAX);
        expect(header(reply).tc).toBe(true);
        expect(header(reply).id).toBe(edns);
        expect(parse(reply).answers.length).toBe(header(reply).an);
      }
      expect(upstream.sizes.slice(seen)).toEqual([undefined, 1232, 1232, 1232]);
    } finally {
      await client.close();
    }
    // Over TCP the whole 4 KB answer.
    const tcp = (await tcpExchange(port, query('example.com', TYPE_A, { edns: 4096 })))!;
    expect(header(tcp).an).toBe(UPSTREAM_RECORDS);
    expect(header(tcp).tc).toBe(false);
  });

  it('answers SERVFAIL when an upstream answer too big for the client has a pointer loop (it cannot be cut safely)', async () => {
    const client = await UdpClient.open();
    try {
      const reply = (await client.ask(query('loop.example.com', TYPE_A, { id: 77 })))!;
      expect(header(reply).rcode).toBe(SERVFAIL);
      expect(reply.length).toBeLessThanOrEqual(UDP_PLAIN);
    } finally {
      await client.close();
    }
  });
});

describe('amplification', () => {
  it('keeps every UDP reply within 512 bytes without EDNS and 1232 with it, whatever the query; measures the worst ratio', async () => {
    const srvReply = (await tcpExchange(port, query('_ipt-prod._tcp.marathon.mesos', TYPE_SRV)))!;
    const taskName = parse(srvReply).answers[0]!.target!;
    const cases: [string, number][] = [
      ['mesos', TYPE_SOA],
      ['mesos', TYPE_NS],
      ['mesos', TYPE_ANY],
      ['mesos', TYPE_A],
      ['ns1.mesos', TYPE_A],
      ['leader.mesos', TYPE_A],
      ['_leader._tcp.mesos', TYPE_SRV],
      ['marathon.mesos', TYPE_A],
      ['_framework._tcp.marathon.mesos', TYPE_SRV],
      ['slave.mesos', TYPE_A],
      ['_slave._tcp.mesos', TYPE_SRV],
      ['web-prod.marathon.mesos', TYPE_A],
      ['web-prod.marathon.mesos', TYPE_AAAA],
      ['web-prod.marathon.mesos', TYPE_ANY],
      ['web-prod.marathon.mesos', TYPE_TXT],
      ['_web-prod._tcp.marathon.mesos', TYPE_SRV],
      ['_web-prod._tcp.marathon.mesos', TYPE_ANY],
      ['_web-prod._udp.marathon.mesos', TYPE_SRV],
      ['_web-prod._tcp.marathon.slave.mesos', TYPE_SRV],
      ['_http._web-prod._tcp.marathon.mesos', TYPE_SRV],
      ['ipt-prod.marathon.mesos', TYPE_A],
      ['ipt-prod.marathon.mesos', TYPE_ANY],
      ['_ipt-prod._tcp.marathon.mesos', TYPE_SRV],
      ['_ipt-prod._tcp.marathon.mesos', TYPE_ANY],
      ['_http._ipt-prod._tcp.marathon.mesos', TYPE_SRV],
      [taskName, TYPE_A],
      ['nope.marathon.mesos', TYPE_A],
      ['example.com', TYPE_A], // forwarded: the upstream answers 4 KB
      ['', TYPE_ANY], // the root, forwarded: the smallest query there is
    ];
    const client = await UdpClient.open();
    const rows: string[] = [];
    let worst = { ratio: 0, what: '' };
    let worstInZone = 0;
    let id = 1;
    try {
      for (const [name, qtype] of cases) {
        const full = (await tcpExchange(port, query(name, qtype)))!;
        for (const edns of [undefined, 4096, 65535] as const) {
          const q = query(name, qtype, { id: id++, edns });
          const reply = await client.ask(q);
          const what = `${name || '.'} ${qtype} ${edns === undefined ? 'no EDNS' : `EDNS ${edns}`}`;
          expect(reply, what).toBeDefined();
          const cap = edns === undefined ? UDP_PLAIN : UDP_EDNS_MAX;
          expect(reply!.length, what).toBeLessThanOrEqual(cap);
          // Cut only when the whole answer does not fit, and then with TC (an empty additional section needs none).
          if (header(reply!).tc) expect(full.length, what).toBeGreaterThan(cap - (edns === undefined ? 0 : 11));
          if (header(full).an > header(reply!).an) expect(header(reply!).tc, what).toBe(true);
          const ratio = reply!.length / q.length;
          if (ratio > worst.ratio) worst = { ratio, what };
          if (name.endsWith('mesos')) worstInZone = Math.max(worstInZone, ratio);
          rows.push(`${what.padEnd(58)} query ${String(q.length).padStart(3)} B  reply ${String(reply!.length).padStart(4)} B  x${ratio.toFixed(1)}${header(reply!).tc ? ' TC' : ''}`);
        }
      }
    } finally {
      await client.close();
    }
    console.log(`UDP reply / query sizes:\n${rows.join('\n')}\nworst: x${worst.ratio.toFixed(1)} (${worst.what}); in zone: x${worstInZone.toFixed(1)}`);
    // The bound follows from the caps: the smallest in-zone query with EDNS is 34 bytes (`mesos`:
    // header 12 + name 7 + type/class 4 + OPT 11), 23 without; 1232/34 = 36.2 and 512/23 = 22.3.
    // Forwarded, the smallest is the root with EDNS (28 bytes): 1232/28 = 44.
    expect(worstInZone).toBeLessThanOrEqual(UDP_EDNS_MAX / 34);
    expect(worst.ratio).toBeLessThanOrEqual(UDP_EDNS_MAX / 28);
  });
});

describe('after all of it', () => {
  it('closes the silent TCP connection at its idle timeout, counted every malformed packet, logged no error, and still answers', async () => {
    await within(silent.closed, 20_000, 'the idle timeout (10 s) to close the silent connection');
    expect(silent.isClosed()).toBe(true);
    expect(await metric(pacer.admin, 'pacer_dns_malformed_total')).toBeGreaterThanOrEqual(pointerAbuse().length + 20);
    expect(pacer.child.exitCode).toBeNull();
    expect(pacer.output()).not.toMatch(/"level":"(error|fatal)"/);
    const client = await UdpClient.open();
    expectProbeAnswer(await client.ask(probe()));
    await client.close();
  }, 30_000);
});
