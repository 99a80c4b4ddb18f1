/**
 * Hostile DNS input, shared by the fuzz test (`test/dns/fuzz.test.ts`), the hostile-input test
 * (`test/reliability/dns-hostile.test.ts`) and the long fuzz run (`test/reliability/soak/dns-fuzz.ts`):
 * raw packet builders, hand-made hostile packets (compression-pointer loops, EDNS abuse, bad counts)
 * and seeded mutators. No test framework here: the soak script runs it under plain Node.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';
import { frame, freePort, query, splitFrames } from '../helpers/dns.ts';

/** How many tasks each of the two apps below runs. */
export const TASKS = 50;

/** Host networking: every task on the emulator's one agent (127.0.0.1), two ports each. */
export const WEB = {
  id: '/prod/web',
  instances: TASKS,
  cmd: 'serve',
  portDefinitions: [
    { port: 0, name: 'http', protocol: 'tcp' },
    { port: 0, name: 'gossip', protocol: 'udp,tcp' },
  ],
};

/** IP-per-task: every task its own address (127.0.x.y): 50 A records for one name. */
export const IPT = {
  id: '/prod/ipt',
  instances: TASKS,
  cmd: 'serve',
  networks: [{ mode: 'container', name: 'dcos' }],
  container: { type: 'DOCKER', docker: { image: 'ipt' }, portMappings: [{ containerPort: 8080, name: 'http', protocol: 'tcp' }] },
};

export const TYPE_A = 1;
export const TYPE_NS = 2;
export const TYPE_SOA = 6;
export const TYPE_TXT = 16;
export const TYPE_AAAA = 28;
export const TYPE_SRV = 33;
const TYPE_OPT = 41;
export const TYPE_ANY = 255;

/** The queries the fuzz test's zone answers (an app `/prod/web` with named ports `http` and `gossip`), mutated by `mutate`. */
export const BASES: readonly Buffer[] = [
  query('web-prod.marathon.mesos', TYPE_A),
  query('_web-prod._tcp.marathon.mesos', TYPE_SRV, { edns: 4096 }),
  query('_http._web-prod._udp.marathon.mesos', TYPE_SRV),
  query('mesos', TYPE_SOA, { edns: 1232 }),
  query('nope.marathon.mesos', TYPE_AAAA),
  query('example.com', TYPE_ANY, { edns: 512 }),
];

/** One mutated or random packet (the 8 mutations of the original fuzz test, unchanged: same seed, same packets). */
export function mutate(rand: () => number, bases: readonly Buffer[] = BASES): Buffer {
  const int = (n: number) => Math.floor(rand() * n);
  const base = bases[int(bases.length)]!;
  let p: Buffer;
  switch (int(8)) {
    case 0:
      p = Buffer.alloc(int(600));
      for (let i = 0; i < p.length; i++) p[i] = int(256);
      break;
    case 1:
      p = Buffer.from(base);
      for (let k = 1 + int(8); k > 0; k--) p[int(p.length)] = int(256);
      break;
    case 2:
      p = Buffer.from(base.subarray(0, int(base.length)));
      break;
    case 3: {
      const tail = Buffer.alloc(1 + int(300));
      for (let i = 0; i < tail.length; i++) tail[i] = int(256);
      p = Buffer.concat([base, tail]);
      break;
    }
    case 4:
      p = Buffer.from(base);
      for (const at of [4, 6, 8, 10]) if (rand() < 0.5) p.writeUInt16BE(int(65536), at);
      break;
    case 5: {
      p = Buffer.from(base);
      const at = 12 + int(Math.max(1, p.length - 13));
      p[at] = 0xc0 | int(64);
      if (at + 1 < p.length) p[at + 1] = rand() < 0.5 ? at & 0xff : int(256);
      break;
    }
    case 6:
      p = Buffer.from(base);
      p[12 + int(Math.max(1, p.length - 16))] = [0x3f, 0x40, 0x7f, 0xff, 0][int(5)]!;
      break;
    default: {
      const names = ['web-prod.marathon.mesos', 'WEB-PROD.Marathon.Mesos', '_tcp.marathon.mesos', 'a.b.c.d.mesos', 'x'.repeat(63) + '.mesos'];
      p = query(names[int(names.length)]!, int(65536), {
        edns: rand() < 0.5 ? int(65536) : undefined,
        ednsVersion: rand() < 0.1 ? 1 : 0,
        qclass: rand() < 0.8 ? 1 : int(65536),
        opcode: rand() < 0.1 ? int(16) : 0,
      });
    }
  }
  // Most mutations should get past the QR check.
  if (p.length > 2 && rand() < 0.8) p[2] = p[2]! & 0x7f;
  return p;
}

// ---------------------------------------------------------------------------------------------
// Builders

/** The wire form of a dotted name (labels as given, no checks: a label may be longer than 63). */
function wireName(name: string): Buffer {
  const labels = name.replace(/\.$/, '').split('.').filter((l) => l !== '');
  return Buffer.concat([...labels.flatMap((l) => [Buffer.from([l.length & 0xff]), Buffer.from(l, 'latin1')]), Buffer.from([0])]);
}

/** A compression pointer to `offset`. */
function pointer(offset: number): Buffer {
  return Buffer.from([0xc0 | ((offset >> 8) & 0x3f), offset & 0xff]);
}

/** A resource record: owner (wire bytes), type, class, TTL, rdata. */
export function record(owner: Buffer, type: number, rdata: Buffer = Buffer.alloc(4), klass = 1, ttl = 60): Buffer {
  const fixed = Buffer.alloc(10);
  fixed.writeUInt16BE(type, 0);
  fixed.writeUInt16BE(klass, 2);
  fixed.writeUInt32BE(ttl >>> 0, 4);
  fixed.writeUInt16BE(rdata.length, 8);
  return Buffer.concat([owner, fixed, rdata]);
}

export interface OptSpec {
  /** UDP payload size (the OPT class). */
  readonly size?: number;
  readonly version?: number;
  readonly dnssecOk?: boolean;
  /** The options (rdata), raw. */
  readonly rdata?: Buffer;
  /** Owner bytes (the root, a single 0, unless given). */
  readonly owner?: Buffer;
}

/** An OPT pseudo-record. */
export function opt(spec: OptSpec = {}): Buffer {
  const ttl = ((spec.version ?? 0) << 16) | (spec.dnssecOk ? 0x8000 : 0);
  return record(spec.owner ?? Buffer.from([0]), TYPE_OPT, spec.rdata ?? Buffer.alloc(0), spec.size ?? 1232, ttl);
}

/** An EDNS option (code, data). */
export function ednsOption(code: number, data: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt16BE(code, 0);
  head.writeUInt16BE(data.length, 2);
  return Buffer.concat([head, data]);
}

export interface PacketSpec {
  readonly id?: number;
  /** The whole flags word (default: RD only). */
  readonly flags?: number;
  /** Counts written in the header (default: the number of each section given). */
  readonly qdcount?: number;
  readonly ancount?: number;
  readonly nscount?: number;
  readonly arcount?: number;
  /** The question section, raw (default: `web-prod.marathon.mesos A IN`). */
  readonly question?: Buffer;
  readonly answers?: readonly Buffer[];
  readonly authority?: readonly Buffer[];
  readonly additional?: readonly Buffer[];
}

/** The wire form of a question: name, type, class. */
export function question(name: string | Buffer, qtype: number, qclass = 1): Buffer {
  const tail = Buffer.alloc(4);
  tail.writeUInt16BE(qtype, 0);
  tail.writeUInt16BE(qclass, 2);
  return Buffer.concat([typeof name === 'string' ? wireName(name) : name, tail]);
}

/** A whole message from raw sections; counts default to what is given. */
export function packet(spec: PacketSpec = {}): Buffer {
  const q = spec.question ?? question('web-prod.marathon.mesos', TYPE_A);
  const answers = spec.answers ?? [];
  const authority = spec.authority ?? [];
  const additional = spec.additional ?? [];
  const header = Buffer.alloc(12);
  header.writeUInt16BE(spec.id ?? 0x1234, 0);
  header.writeUInt16BE(spec.flags ?? 0x0100, 2);
  header.writeUInt16BE(spec.qdcount ?? (q.length > 0 ? 1 : 0), 4);
  header.writeUInt16BE(spec.ancount ?? answers.length, 6);
  header.writeUInt16BE(spec.nscount ?? authority.length, 8);
  header.writeUInt16BE(spec.arcount ?? additional.length, 10);
  return Buffer.concat([header, q, ...answers, ...authority, ...additional]);
}

/** A message's header: id, QR, TC, opcode, rcode (the 4 header bits only; BADVERS's upper bits are in the OPT), counts. */
export function header(reply: Buffer): { id: number; qr: boolean; tc: boolean; opcode: number; rcode: number; qd: number; an: number; ns: number; ar: number } {
  const flags = reply.readUInt16BE(2);
  return {
    id: reply.readUInt16BE(0),
    qr: (flags & 0x8000) !== 0,
    tc: (flags & 0x0200) !== 0,
    opcode: (flags >> 11) & 0xf,
    rcode: flags & 0xf,
    qd: reply.readUInt16BE(4),
    an: reply.readUInt16BE(6),
    ns: reply.readUInt16BE(8),
    ar: reply.readUInt16BE(10),
  };
}

// ---------------------------------------------------------------------------------------------
// Hand-made hostile packets

export interface Hostile {
  readonly label: string;
  readonly packet: Buffer;
}

/** Additional records whose owners form a chain of `hops` compression pointers (each to the previous owner; the first to the question). */
function pointerChain(hops: number, id = 0x1234): Buffer {
  const q = question('web-prod.marathon.mesos', TYPE_A);
  const records: Buffer[] = [];
  let previous = 12; // the question name
  let at = 12 + q.length;
  for (let i = 0; i < hops; i++) {
    const r = record(pointer(previous), TYPE_A);
    records.push(r);
    previous = at;
    at += r.length;
  }
  return packet({ id, question: q, additional: records });
}

/**
 * Compression-pointer abuse, in the question and in additional records. Every one must get FORMERR
 * (or be dropped), never hang the server.
 */
export function pointerAbuse(id = 0x1234): Hostile[] {
  const tail = Buffer.from([0, TYPE_A, 0, 1]);
  const q = question('web-prod.marathon.mesos', TYPE_A);
  const firstRecord = 12 + q.length;
  const cases: Hostile[] = [
    // The question: a name is never compressed there (it could only point into the header).
    { label: 'question: pointer to itself', packet: packet({ id, question: Buffer.concat([pointer(12), tail]) }) },
    { label: 'question: two pointers pointing at each other', packet: packet({ id, question: Buffer.concat([pointer(14), pointer(12), tail]) }) },
    { label: 'question: pointer forward beyond the packet', packet: packet({ id, question: Buffer.concat([pointer(0x3fff), tail]) }) },
    { label: 'question: pointer into the header', packet: packet({ id, question: Buffer.concat([pointer(2), tail]) }) },
    { label: 'question: a label, then a pointer back to it (loop)', packet: packet({ id, question: Buffer.concat([Buffer.from([1, 0x61]), pointer(12), tail]) }) },
    // Additional records.
    { label: 'additional: owner pointing to itself', packet: packet({ id, question: q, additional: [record(pointer(firstRecord), TYPE_A)] }) },
    {
      label: 'additional: two owners pointing at each other',
      packet: packet({ id, question: q, additional: [record(pointer(firstRecord + 16), TYPE_A), record(pointer(firstRecord), TYPE_A)] }),
    },
    {
      // Pointers refer to a prior occurrence (RFC 1035 §4.1.4): one to a name further on is refused even when that name is fine.
      label: 'additional: owner pointing forward to a later, valid name',
      packet: packet({ id, question: q, additional: [record(pointer(firstRecord + 16), TYPE_A), record(wireName('a.mesos'), TYPE_A)] }),
    },
    { label: 'additional: owner pointing forward beyond the packet', packet: packet({ id, question: q, additional: [record(pointer(0x3fff), TYPE_A)] }) },
    {
      label: 'additional: a label, then a pointer back to it (loop)',
      packet: packet({ id, question: q, additional: [record(Buffer.concat([Buffer.from([1, 0x61]), pointer(firstRecord)]), TYPE_A)] }),
    },
    { label: 'additional: a chain of 150 pointers', packet: pointerChain(150, id) },
    { label: 'additional: a chain of 1,000 pointers', packet: pointerChain(1_000, id) },
    { label: 'additional: OPT owned by a pointer', packet: packet({ id, question: q, additional: [opt({ owner: pointer(12) })] }) },
    // Pointers in the answer and authority sections (a query has none: FORMERR anyway).
    { label: 'answer: owner pointing to itself', packet: packet({ id, question: q, answers: [record(pointer(firstRecord), TYPE_A)] }) },
    { label: 'authority: owner pointing forward', packet: packet({ id, question: q, authority: [record(pointer(0x3fff), TYPE_SOA)] }) },
  ];
  return cases;
}

/** A chain short enough to be a valid (if odd) query: answered normally. */
export function shortPointerChain(id = 0x1234): Buffer {
  return pointerChain(20, id);
}

// ---------------------------------------------------------------------------------------------
// The long fuzz run's mutator: the original mutations plus hand-made hostile packets and EDNS variations

/** EDNS variations of a query for `name`: sizes from 0 to 65535, versions, DO, options of any size, several OPTs. */
function ednsVariant(rand: () => number, name: string, qtype: number): Buffer {
  const int = (n: number) => Math.floor(rand() * n);
  const q = question(name, qtype);
  const sizes = [0, 1, 511, 512, 1232, 1233, 4096, 65535, int(65536)];
  const size = sizes[int(sizes.length)]!;
  switch (int(6)) {
    case 0:
      return packet({ id: int(65536), question: q, additional: [opt({ size, dnssecOk: rand() < 0.5 })] });
    case 1:
      return packet({ id: int(65536), question: q, additional: [opt({ size, version: 1 + int(255) })] });
    case 2: {
      // Options: cookies, padding, garbage; sometimes a length that overruns the rdata.
      const options: Buffer[] = [];
      for (let k = int(5); k > 0; k--) {
        const data = Buffer.alloc(int(rand() < 0.1 ? 3000 : 40));
        for (let i = 0; i < data.length; i++) data[i] = int(256);
        options.push(ednsOption([10, 12, 8, int(65536)][int(4)]!, data));
      }
      const rdata = Buffer.concat(options);
      if (rdata.length > 4 && rand() < 0.2) rdata.writeUInt16BE(int(65536), 2);
      return packet({ id: int(65536), question: q, additional: [opt({ size, rdata })] });
    }
    case 3:
      return packet({ id: int(65536), question: q, additional: [opt({ size }), opt({ size })] });
    case 4:
      // An OPT whose rdlength runs past the packet.
      return Buffer.concat([packet({ id: int(65536), question: q, additional: [opt({ size })] }).subarray(0, -2), Buffer.from([0xff, 0xff])]);
    default:
      return packet({ id: int(65536), question: q, answers: [opt({ size })] });
  }
}

/** Bad headers: counts, opcodes, QR, lengths under 12. */
function headerVariant(rand: () => number, base: Buffer): Buffer {
  const int = (n: number) => Math.floor(rand() * n);
  const p = Buffer.from(base);
  switch (int(5)) {
    case 0:
      return p.subarray(0, int(12));
    case 1:
      p.writeUInt16BE(int(3) === 0 ? 0 : 2 + int(65534), 4);
      return p;
    case 2:
      p.writeUInt16BE(1 + int(4), 6 + 2 * int(2));
      return p;
    case 3:
      p[2] = (p[2]! & 0x87) | ((1 + int(15)) << 3);
      return p;
    default:
      p[2] = p[2]! | 0x80; // a response: must be dropped
      return p;
  }
}

/** Names too long: a label of 64+ bytes, a name over 255 bytes, a label length with the reserved 0x40/0x80 bits. */
function nameVariant(rand: () => number): Buffer {
  const int = (n: number) => Math.floor(rand() * n);
  switch (int(3)) {
    case 0:
      return packet({ id: int(65536), question: question(`${'x'.repeat(64 + int(64))}.marathon.mesos`, TYPE_A) });
    case 1: {
      const labels = Array.from({ length: 5 + int(5) }, () => 'y'.repeat(63));
      return packet({ id: int(65536), question: question(`${labels.join('.')}.mesos`, TYPE_A) });
    }
    default: {
      const q = question('web-prod.marathon.mesos', TYPE_A);
      q[0] = [0x40, 0x80, 0x7f, 0xbf][int(4)]!;
      return packet({ id: int(65536), question: q });
    }
  }
}

const abuseCases = new Map<number, Hostile[]>();
const chains = new Map<number, Buffer>();

/** A random pointer case: loops, forward pointers, chains of random length (built once, then copied with a random id). */
function pointerVariant(rand: () => number): Buffer {
  const int = (n: number) => Math.floor(rand() * n);
  let p: Buffer;
  if (rand() < 0.3) {
    const hops = 1 + int(300);
    let chain = chains.get(hops);
    if (!chain) chains.set(hops, (chain = pointerChain(hops)));
    p = Buffer.from(chain);
  } else {
    let cases = abuseCases.get(0);
    if (!cases) abuseCases.set(0, (cases = pointerAbuse(0)));
    p = Buffer.from(cases[int(cases.length)]!.packet);
  }
  p.writeUInt16BE(int(65536), 0);
  return p;
}

/**
 * The long run's mutator: half the original mutations, the rest hostile packets made on purpose
 * (pointers, EDNS, headers, names). `names` are in-zone names to build them around.
 */
export function hostileMutate(rand: () => number, bases: readonly Buffer[], names: readonly string[]): Buffer {
  const int = (n: number) => Math.floor(rand() * n);
  const r = rand();
  if (r < 0.5) return mutate(rand, bases);
  if (r < 0.62) return pointerVariant(rand);
  if (r < 0.8) return ednsVariant(rand, names[int(names.length)]!, [TYPE_A, TYPE_SRV, TYPE_ANY, TYPE_AAAA, TYPE_SOA, TYPE_TXT][int(6)]!);
  if (r < 0.92) return headerVariant(rand, bases[int(bases.length)]!);
  return nameVariant(rand);
}

// ---------------------------------------------------------------------------------------------
// A hostile upstream resolver for `--dns-resolvers`: every answer has `records` A records whatever
// the client's size (250 records: about 4 KB), over UDP and TCP; names containing "loop" get
// records whose owners point at themselves.

export interface HostileUpstream {
  readonly port: number;
  /** The EDNS UDP size of each query it got (undefined: no OPT). Kept only when `keepSizes`. */
  readonly sizes: (number | undefined)[];
  /** Queries answered. */
  readonly answered: () => number;
  close(): Promise<void>;
}

function upstreamReply(q: Buffer, records: number, sizes?: (number | undefined)[]): Buffer | undefined {
  if (q.length < 12 || (q[2]! & 0x80) !== 0) return undefined;
  let pos = 12;
  while (pos < q.length && q[pos] !== 0) {
    if ((q[pos]! & 0xc0) !== 0) return undefined;
    pos += 1 + q[pos]!;
  }
  pos += 5;
  if (pos > q.length) return undefined;
  const qname = q.toString('latin1', 12, pos - 4);
  let size: number | undefined;
  if (q.readUInt16BE(10) > 0 && pos + 5 <= q.length && q[pos] === 0 && q.readUInt16BE(pos + 1) === TYPE_OPT) size = q.readUInt16BE(pos + 3);
  sizes?.push(size);
  const loop = qname.includes('loop');
  const head = Buffer.from(q.subarray(0, 12));
  head.writeUInt16BE(0x8180 | (q.readUInt16BE(2) & 0x0100), 2);
  head.writeUInt16BE(1, 4);
  head.writeUInt16BE(records, 6);
  head.writeUInt16BE(0, 8);
  head.writeUInt16BE(size === undefined ? 0 : 1, 10);
  const out: Buffer[] = [head, q.subarray(12, pos)];
  let at = pos;
  for (let i = 0; i < records; i++) {
    const r = record(loop ? pointer(at) : pointer(12), TYPE_A, Buffer.from([192, 0, 2, i & 0xff]));
    out.push(r);
    at += r.length;
  }
  if (size !== undefined) out.push(opt({ size: 4096 }));
  return Buffer.concat(out);
}

export async function startHostileUpstream(options: { records: number; keepSizes?: boolean }): Promise<HostileUpstream> {
  const upstreamPort = await freePort();
  const sizes: (number | undefined)[] = [];
  const keep = options.keepSizes ?? true ? sizes : undefined;
  let answered = 0;
  const udp: UdpSocket = createSocket('udp4');
  udp.on('error', () => {});
  udp.on('message', (msg, rinfo) => {
    const out = upstreamReply(msg, options.records, keep);
    if (!out) return;
    answered++;
    udp.send(out, rinfo.port, rinfo.address, () => {});
  });
  await new Promise<void>((resolve) => udp.bind(upstreamPort, '127.0.0.1', () => resolve()));
  const sockets = new Set<Socket>();
  const tcp: Server = createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      const { messages, rest } = splitFrames(Buffer.concat([buffered, chunk]));
      buffered = rest;
      for (const message of messages) {
        const out = upstreamReply(message, options.records, keep);
        if (out) {
          answered++;
          socket.write(frame(out));
        }
      }
    });
  });
  await new Promise<void>((resolve) => tcp.listen(upstreamPort, '127.0.0.1', () => resolve()));
  return {
    port: upstreamPort,
    sizes,
    answered: () => answered,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => udp.close(() => resolve()));
      await new Promise<void>((resolve) => tcp.close(() => resolve()));
    },
  };
}
