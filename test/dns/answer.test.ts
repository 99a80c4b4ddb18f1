/**
 * The query path on plain data: a zone built from records, queries as bytes, replies checked byte
 * by byte or through dns2's decoder.
 */
import { describe, expect, it } from 'vitest';
import { Answerer, FORWARD, TCP, UDP } from '../../src/dns/answer.ts';
import type { NameRecords, RecordSet } from '../../src/dns/names.ts';
import { encodeName, truncateReply, TYPE } from '../../src/dns/wire.ts';
import { buildZone } from '../../src/dns/zone.ts';
import { parse, query } from '../helpers/dns.ts';

function target(i: number): string {
  return `big-app-with-a-rather-long-name-${String(i).padStart(2, '0')}-abcde-s0.marathon.mesos`;
}

function recordSet(): RecordSet {
  const names = new Map<string, NameRecords>([
    ['web-prod.marathon.mesos', { a: ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5'], aaaa: [], srv: [] }],
    ['web-prod-abcde-s0.marathon.mesos', { a: ['10.0.0.1'], aaaa: ['fd00::1'], srv: [] }],
    ['web-prod-fghij-s1.marathon.mesos', { a: ['10.0.0.2'], aaaa: [], srv: [] }],
    [
      '_web-prod._tcp.marathon.mesos',
      {
        a: [],
        aaaa: [],
        srv: [
          { priority: 0, weight: 1, port: 31000, target: 'web-prod-abcde-s0.marathon.mesos' },
          { priority: 0, weight: 1, port: 31001, target: 'web-prod-abcde-s0.marathon.mesos' },
          { priority: 0, weight: 1, port: 31002, target: 'web-prod-fghij-s1.marathon.mesos' },
        ],
      },
    ],
    ['_big._tcp.marathon.mesos', { a: [], aaaa: [], srv: Array.from({ length: 40 }, (_, i) => ({ priority: 0, weight: 1, port: 30000 + i, target: target(i) })) }],
  ]);
  // 14 SRV records fit 1232 bytes, but not with their targets' addresses.
  names.set('_mid._tcp.marathon.mesos', { a: [], aaaa: [], srv: Array.from({ length: 14 }, (_, i) => ({ priority: 0, weight: 1, port: 30000 + i, target: target(i) })) });
  for (let i = 0; i < 40; i++) names.set(target(i), { a: [`10.1.0.${i}`], aaaa: [], srv: [] });
  return { domain: 'mesos', framework: 'marathon', frameworkName: 'marathon', names, tasks: [], nsName: 'ns1.mesos' };
}

function answerer(forwarding = false, serial = 7): Answerer {
  const a = new Answerer({ domain: 'mesos', forwarding });
  a.setZone(buildZone(recordSet(), { ttl: 60, serial }));
  return a;
}

function ask(a: Answerer, q: Buffer, transport: typeof UDP | typeof TCP = UDP): Buffer {
  const reply = a.answer(q, transport);
  if (!(reply instanceof Buffer)) throw new Error(`no reply: ${String(reply)}`);
  return reply;
}

const flags = (reply: Buffer) => reply.readUInt16BE(2);
const rcode = (reply: Buffer) => flags(reply) & 0xf;
const AA = 0x0400;
const TC = 0x0200;
const RD = 0x0100;
const RA = 0x0080;

describe('authoritative answers', () => {
  it('answers A with AA, RD copied, RA off without forwarding, every record', () => {
    const reply = ask(answerer(), query('web-prod.marathon.mesos', TYPE.A, { id: 4242 }));
    expect(reply.readUInt16BE(0)).toBe(4242);
    expect(flags(reply) & (0x8000 | AA | RD | RA | TC)).toBe(0x8000 | AA | RD);
    const p = parse(reply);
    expect(p.answers.map((r) => r.address).sort()).toEqual(['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5']);
    expect(p.answers.every((r) => r.ttl === 60 && r.name === 'web-prod.marathon.mesos')).toBe(true);
    expect(flags(ask(answerer(true), query('web-prod.marathon.mesos', TYPE.A))) & RA).toBe(RA);
  });

  it('looks names up case-insensitively and echoes the question as received', () => {
    const q = query('WEB-Prod.Marathon.MESOS', TYPE.A);
    const reply = ask(answerer(), q);
    expect(rcode(reply)).toBe(0);
    const questionEnd = q.length;
    expect(reply.subarray(12, questionEnd)).toEqual(q.subarray(12, questionEnd));
    expect(parse(reply).answers[0]?.name).toBe('WEB-Prod.Marathon.MESOS');
  });

  it('shuffles the answer records per response', () => {
    const a = answerer();
    const orders = new Set<string>();
    for (let i = 0; i < 50; i++) orders.add(parse(ask(a, query('web-prod.marathon.mesos', TYPE.A))).answers.map((r) => r.address).join(','));
    expect(orders.size).toBeGreaterThan(5);
  });

  it('writes SRV targets in full (never compressed) and adds the targets’ addresses', () => {
    const reply = ask(answerer(), query('_web-prod._tcp.marathon.mesos', TYPE.SRV));
    const p = parse(reply);
    expect(p.answers.map((r) => `${r.target}:${r.port}:${r.priority}:${r.weight}`).sort()).toEqual([
      'web-prod-abcde-s0.marathon.mesos:31000:0:1',
      'web-prod-abcde-s0.marathon.mesos:31001:0:1',
      'web-prod-fghij-s1.marathon.mesos:31002:0:1',
    ]);
    // Walk the answer section: each SRV's rdata is priority, weight, port and the full target.
    let pos = query('_web-prod._tcp.marathon.mesos', TYPE.SRV).length;
    for (let i = 0; i < 3; i++) {
      expect(reply.readUInt16BE(pos)).toBe(0xc00c);
      expect(reply.readUInt16BE(pos + 2)).toBe(TYPE.SRV);
      const rdlength = reply.readUInt16BE(pos + 10);
      const rdata = reply.subarray(pos + 12, pos + 12 + rdlength);
      const name = rdata.subarray(6);
      expect([encodeName('web-prod-abcde-s0.marathon.mesos'), encodeName('web-prod-fghij-s1.marathon.mesos')]).toContainEqual(name);
      expect(name.includes(0xc0)).toBe(false);
      pos += 12 + rdlength;
    }
    expect(p.additionals.map((r) => `${r.name} ${r.address}`).sort()).toEqual([
      'web-prod-abcde-s0.marathon.mesos 10.0.0.1',
      'web-prod-abcde-s0.marathon.mesos fd00::1',
      'web-prod-fghij-s1.marathon.mesos 10.0.0.2',
    ]);
  });

  it('serves SOA and NS at the apex in the answer section', () => {
    const soa = parse(ask(answerer(), query('mesos', TYPE.SOA)));
    expect(soa.answers).toEqual([expect.objectContaining({ name: 'mesos', primary: 'ns1.mesos', admin: 'root.ns1.mesos', serial: 7, minimum: 60 })]);
    expect(soa.authorities).toEqual([]);
    const ns = parse(ask(answerer(), query('mesos', TYPE.NS)));
    expect(ns.answers).toEqual([expect.objectContaining({ ns: 'ns1.mesos' })]);
    const any = parse(ask(answerer(), query('mesos', TYPE.ANY)));
    expect(any.answers.map((r) => r.type).sort()).toEqual([TYPE.NS, TYPE.SOA]);
  });
});

describe('negative answers', () => {
  const soaOf = (reply: Buffer) => parse(reply).authorities.map((r) => `${r.name} ${r.type} ${r.serial}`);

  it('NXDOMAIN with the SOA for a name that does not exist', () => {
    const reply = ask(answerer(), query('nope.marathon.mesos', TYPE.A));
    expect(rcode(reply)).toBe(3);
    expect(flags(reply) & AA).toBe(AA);
    expect(parse(reply).answers).toEqual([]);
    expect(soaOf(reply)).toEqual([`mesos ${TYPE.SOA} 7`]);
  });

  it('NOERROR/NODATA with the SOA for a name that exists without the type, SRV included', () => {
    for (const [name, type] of [
      ['web-prod.marathon.mesos', TYPE.AAAA],
      ['web-prod.marathon.mesos', TYPE.SRV],
      ['_web-prod._tcp.marathon.mesos', TYPE.A],
      ['mesos', TYPE.A],
      ['web-prod.marathon.mesos', 16 /* TXT */],
    ] as const) {
      const reply = ask(answerer(), query(name, type));
      expect(rcode(reply), `${name} ${type}`).toBe(0);
      expect(parse(reply).answers).toEqual([]);
      expect(soaOf(reply), `${name} ${type}`).toEqual([`mesos ${TYPE.SOA} 7`]);
    }
  });

  it('treats empty non-terminals as existing (NODATA, not NXDOMAIN)', () => {
    for (const name of ['_tcp.marathon.mesos', 'marathon.mesos']) expect(rcode(ask(answerer(), query(name, TYPE.A))), name).toBe(0);
    expect(rcode(ask(answerer(), query('x._tcp.marathon.mesos', TYPE.A)))).toBe(3);
  });
});

describe('sizes: truncation and EDNS', () => {
  const big = (options: Parameters<typeof query>[2] = {}) => query('_big._tcp.marathon.mesos', TYPE.SRV, options);

  it('sends a partial answer with TC when a UDP reply does not fit 512 bytes', () => {
    const reply = ask(answerer(), big());
    expect(reply.length).toBeLessThanOrEqual(512);
    expect(flags(reply) & TC).toBe(TC);
    const p = parse(reply);
    expect(p.answers.length).toBeGreaterThan(3);
    expect(p.answers.length).toBeLessThan(40);
    expect(p.additionals).toEqual([]);
    expect(reply.readUInt16BE(6)).toBe(p.answers.length);
  });

  it('honours the client’s EDNS size up to 1232 bytes, and TCP gets everything', () => {
    const edns = ask(answerer(), big({ edns: 4096 }));
    expect(edns.length).toBeLessThanOrEqual(1232);
    expect(flags(edns) & TC).toBe(TC);
    expect(parse(edns).answers.length).toBeGreaterThan(parse(ask(answerer(), big())).answers.length);
    const small = ask(answerer(), big({ edns: 1000 }));
    expect(small.length).toBeLessThanOrEqual(1000);
    expect(small.length).toBeGreaterThan(512);
    const tcp = ask(answerer(), big(), TCP);
    expect(flags(tcp) & TC).toBe(0);
    expect(parse(tcp).answers).toHaveLength(40);
    expect(parse(tcp).additionals).toHaveLength(40);
  });

  it('drops the additional section before any answer, without TC', () => {
    const reply = ask(answerer(), query('_mid._tcp.marathon.mesos', TYPE.SRV, { edns: 1232 }));
    const p = parse(reply);
    expect(p.answers).toHaveLength(14);
    expect(parse(ask(answerer(), query('_mid._tcp.marathon.mesos', TYPE.SRV), TCP)).additionals).toHaveLength(14);
    expect(flags(reply) & TC).toBe(0);
    expect(p.additionals.filter((r) => r.type !== 41)).toEqual([]);
  });

  it('echoes OPT with the size it honours, only when the query had one', () => {
    const optOf = (reply: Buffer) => parse(reply).additionals.filter((r) => r.type === 41).map((r) => r.class);
    expect(optOf(ask(answerer(), query('web-prod.marathon.mesos', TYPE.A, { edns: 1232 })))).toEqual([1232]);
    expect(optOf(ask(answerer(), query('web-prod.marathon.mesos', TYPE.A, { edns: 100 })))).toEqual([512]);
    expect(optOf(ask(answerer(), query('web-prod.marathon.mesos', TYPE.A, { edns: 65000 })))).toEqual([1232]);
    expect(optOf(ask(answerer(), query('web-prod.marathon.mesos', TYPE.A)))).toEqual([]);
    expect(optOf(ask(answerer(), query('nope.marathon.mesos', TYPE.A, { edns: 1400 })))).toEqual([1232]);
    expect(optOf(ask(answerer(), query('nope.marathon.mesos', TYPE.A, { edns: 1000 })))).toEqual([1000]);
  });

  it('re-truncates a forwarded reply to the client’s size, keeping whole records', () => {
    const full = ask(answerer(), big(), TCP);
    const cut = truncateReply(full, 512);
    expect(cut).toBeDefined();
    expect(cut!.length).toBeLessThanOrEqual(512);
    expect(cut!.readUInt16BE(2) & TC).toBe(TC);
    expect(parse(cut!).answers.length).toBe(cut!.readUInt16BE(6));
    expect(truncateReply(full, 65535)).toBe(full);
  });
});

describe('everything else', () => {
  it('refuses names outside the zone, or asks to forward them', () => {
    const reply = ask(answerer(), query('example.com', TYPE.A));
    expect(rcode(reply)).toBe(5);
    expect(answerer(true).answer(query('example.com', TYPE.A), UDP)).toBe(FORWARD);
    // A label that merely ends in the domain's bytes is not inside it.
    expect(rcode(ask(answerer(), query('ab\x05mesos', TYPE.A)))).toBe(5);
    expect(rcode(ask(answerer(), query('notmesos', TYPE.A)))).toBe(5);
    expect(rcode(ask(answerer(), query('web-prod.marathon.mesos', TYPE.A, { qclass: 3 })))).toBe(5);
    expect(rcode(ask(answerer(), query('mesos', TYPE.AXFR)))).toBe(5);
  });

  it('FORMERR, NOTIMP, BADVERS and drops', () => {
    const a = answerer();
    const good = query('web-prod.marathon.mesos', TYPE.A);
    const twoQuestions = Buffer.from(good);
    twoQuestions.writeUInt16BE(2, 4);
    expect(rcode(ask(a, twoQuestions))).toBe(1);
    expect(rcode(ask(a, good.subarray(0, good.length - 2)))).toBe(1);
    const pointerLoop = Buffer.from(good);
    pointerLoop[12] = 0xc0;
    pointerLoop[13] = 12;
    expect(rcode(ask(a, pointerLoop))).toBe(1);
    expect(rcode(ask(a, query('web-prod.marathon.mesos', TYPE.A, { opcode: 2 })))).toBe(4);
    const badvers = parse(ask(a, query('web-prod.marathon.mesos', TYPE.A, { edns: 1232, ednsVersion: 1 })));
    expect(badvers.answers).toEqual([]);
    expect(badvers.additionals[0]).toEqual(expect.objectContaining({ type: 41, extendedRcode: 1, version: 0 }));
    const response = Buffer.from(good);
    response[2] = response[2]! | 0x80;
    expect(a.answer(response, UDP)).toBeUndefined();
    expect(a.answer(Buffer.alloc(5), UDP)).toBeUndefined();
    expect(a.malformed).toBe(5);
  });

  it('answers SERVFAIL until the first zone arrives', () => {
    const a = new Answerer({ domain: 'mesos', forwarding: false });
    expect(rcode(ask(a, query('web-prod.marathon.mesos', TYPE.A)))).toBe(2);
  });
});
