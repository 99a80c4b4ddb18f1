/**
 * The zone as the query path sees it: for every name (keyed by its lower-cased wire form) and
 * every type it has, the answer section already encoded, so that a query costs a map lookup, a
 * shuffle of record indexes and a copy. Built from a RecordSet once per routing-table version. Pure.
 *
 * Every answer record's owner is a compression pointer to the question (offset 12), so records are
 * position independent and the owner reads exactly as the client asked. SRV targets are written
 * in full (RFC 2782); SOA and NS names too.
 */
import type { RecordSet, SrvTarget } from './names.ts';
import { encodeName, ipv4Rdata, ipv6Rdata, nameKey, pointerRecord, recordTail, soaRdata, srvRdata, TYPE } from './wire.ts';

/** SOA timers (Mesos-DNS's defaults); MINIMUM is the TTL, as in Mesos-DNS. */
export const SOA_REFRESH = 60;
export const SOA_RETRY = 600;
export const SOA_EXPIRE = 86_400;

/** The records of one (name, type): encoded answer records, and for SRV the additional A/AAAA of each target. */
export interface AnswerSet {
  readonly type: number;
  readonly count: number;
  /** The records, back to back; record i is `data[offsets[i], offsets[i + 1])`. */
  readonly data: Buffer;
  readonly offsets: Uint32Array;
  /** SRV: index of record i's target in `targets` (-1 when the target has no address here). */
  readonly targetOf: Int32Array | undefined;
  /**
   * SRV: per distinct target, its A then AAAA records with a placeholder owner pointer, ready to
   * have the pointer set to where the target was written in the answer.
   */
  readonly targets: readonly AdditionalBlock[];
  /** Total size of all additional blocks (for size checks). */
  readonly additionalBytes: number;
  readonly additionalCount: number;
}

export interface AdditionalBlock {
  readonly data: Buffer;
  /** Positions of the owner pointers in `data`. */
  readonly pointers: readonly number[];
}

export interface NameEntry {
  readonly a: AnswerSet | undefined;
  readonly aaaa: AnswerSet | undefined;
  readonly srv: AnswerSet | undefined;
  readonly soa: AnswerSet | undefined;
  readonly ns: AnswerSet | undefined;
  readonly any: AnswerSet | undefined;
}

export interface Zone {
  readonly domain: string;
  /** Wire form of the domain (lower case). */
  readonly domainWire: Buffer;
  readonly serial: number;
  readonly ttl: number;
  /** Every name that exists (with records, or an empty non-terminal), by key. */
  readonly names: ReadonlyMap<string, NameEntry>;
  /** The SOA record without its owner, for the authority section of negative answers. */
  readonly soaTail: Buffer;
  /** Largest answer set (for the shuffle scratch space). */
  readonly maxAnswers: number;
  /** Names with records, and records, for metrics. */
  readonly recordCount: number;
  readonly records: RecordSet;
}

export interface ZoneOptions {
  readonly ttl: number;
  readonly serial: number;
}

const EMPTY_ENTRY: NameEntry = { a: undefined, aaaa: undefined, srv: undefined, soa: undefined, ns: undefined, any: undefined };

function answerSet(type: number, records: readonly Buffer[], targetOf?: Int32Array, targets: readonly AdditionalBlock[] = []): AnswerSet | undefined {
  if (records.length === 0) return undefined;
  const offsets = new Uint32Array(records.length + 1);
  let size = 0;
  records.forEach((r, i) => {
    offsets[i] = size;
    size += r.length;
  });
  offsets[records.length] = size;
  let additionalBytes = 0;
  let additionalCount = 0;
  for (const t of targets) {
    additionalBytes += t.data.length;
    additionalCount += t.pointers.length;
  }
  return { type, count: records.length, data: Buffer.concat(records, size), offsets, targetOf, targets, additionalBytes, additionalCount };
}

/** Build the zone for a record set. */
export function buildZone(records: RecordSet, options: ZoneOptions): Zone {
  const { ttl, serial } = options;
  const domain = records.domain;
  const domainWire = encodeName(domain);
  if (!domainWire) throw new Error(`dns: cannot encode the domain ${domain}`);
  const nsWire = encodeName(records.nsName) ?? domainWire;
  const rnameWire = encodeName(`root.${records.nsName}`) ?? domainWire;
  const soa = soaRdata(nsWire, rnameWire, serial, SOA_REFRESH, SOA_RETRY, SOA_EXPIRE, ttl);
  const soaTail = recordTail(TYPE.SOA, ttl, soa);

  // Encoded A/AAAA rdata per name, for the additional section of SRV answers.
  const addressBlocks = new Map<string, AdditionalBlock>();
  const addressBlock = (name: string): AdditionalBlock | undefined => {
    const cached = addressBlocks.get(name);
    if (cached) return cached;
    const r = records.names.get(name);
    if (!r || r.a.length + r.aaaa.length === 0) return undefined;
    const parts: Buffer[] = [];
    const pointers: number[] = [];
    let size = 0;
    for (const ip of r.a) {
      const rr = pointerRecord(0, TYPE.A, ttl, ipv4Rdata(ip));
      pointers.push(size);
      parts.push(rr);
      size += rr.length;
    }
    for (const ip of r.aaaa) {
      const rr = pointerRecord(0, TYPE.AAAA, ttl, ipv6Rdata(ip));
      pointers.push(size);
      parts.push(rr);
      size += rr.length;
    }
    const block = { data: Buffer.concat(parts, size), pointers };
    addressBlocks.set(name, block);
    return block;
  };

  const names = new Map<string, NameEntry>();
  let maxAnswers = 0;
  let recordCount = 0;
  const targetWire = new Map<string, Buffer>();
  const srvCache = new Map<string, Buffer>();

  const srvSet = (srvs: readonly SrvTarget[]): AnswerSet | undefined => {
    const rrs: Buffer[] = [];
    const targetOf = new Int32Array(srvs.length);
    const blocks: AdditionalBlock[] = [];
    const blockIndex = new Map<string, number>();
    for (const s of srvs) {
      let wire = targetWire.get(s.target);
      if (!wire) {
        wire = encodeName(s.target);
        if (!wire) continue;
        targetWire.set(s.target, wire);
      }
      let index = blockIndex.get(s.target);
      if (index === undefined) {
        const block = addressBlock(s.target);
        index = block ? blocks.push(block) - 1 : -1;
        blockIndex.set(s.target, index);
      }
      targetOf[rrs.length] = index;
      const srvKey = `${s.priority} ${s.weight} ${s.port} ${s.target}`;
      let rr = srvCache.get(srvKey);
      if (!rr) srvCache.set(srvKey, (rr = pointerRecord(12, TYPE.SRV, ttl, srvRdata(s.priority, s.weight, s.port, wire))));
      rrs.push(rr);
    }
    return answerSet(TYPE.SRV, rrs, targetOf.subarray(0, rrs.length), blocks);
  };

  // The same address is in many answer sets (T.F.D, T-H-S.F.D, .slave …): encode it once per build.
  const aCache = new Map<string, Buffer>();
  const aaaaCache = new Map<string, Buffer>();
  const aRecord = (ip: string) => {
    let rr = aCache.get(ip);
    if (!rr) aCache.set(ip, (rr = pointerRecord(12, TYPE.A, ttl, ipv4Rdata(ip))));
    return rr;
  };
  const aaaaRecord = (ip: string) => {
    let rr = aaaaCache.get(ip);
    if (!rr) aaaaCache.set(ip, (rr = pointerRecord(12, TYPE.AAAA, ttl, ipv6Rdata(ip))));
    return rr;
  };

  for (const [name, r] of records.names) {
    const key = nameKey(name);
    if (key === undefined) continue;
    const aRecords = r.a.map(aRecord);
    const aaaaRecords = r.aaaa.map(aaaaRecord);
    const a = answerSet(TYPE.A, aRecords);
    const aaaa = answerSet(TYPE.AAAA, aaaaRecords);
    const srv = srvSet(r.srv);
    const anyRecords = [...aRecords, ...aaaaRecords];
    if (srv) for (let i = 0; i < srv.count; i++) anyRecords.push(srv.data.subarray(srv.offsets[i], srv.offsets[i + 1]));
    const any = answerSet(TYPE.ANY, anyRecords);
    if (!any) continue;
    names.set(key, { a, aaaa, srv, soa: undefined, ns: undefined, any });
    recordCount += any.count;
    if (any.count > maxAnswers) maxAnswers = any.count;
  }

  // The apex: SOA and NS (in the answer section), plus whatever else is there.
  const apexKey = domainWire.toString('latin1');
  const apex = names.get(apexKey) ?? EMPTY_ENTRY;
  const soaRecord = pointerRecord(12, TYPE.SOA, ttl, soa);
  const nsRecord = pointerRecord(12, TYPE.NS, ttl, nsWire);
  const apexAny: Buffer[] = [soaRecord, nsRecord];
  if (apex.any) for (let i = 0; i < apex.any.count; i++) apexAny.push(apex.any.data.subarray(apex.any.offsets[i], apex.any.offsets[i + 1]));
  names.set(apexKey, {
    ...apex,
    soa: answerSet(TYPE.SOA, [soaRecord]),
    ns: answerSet(TYPE.NS, [nsRecord]),
    any: answerSet(TYPE.ANY, apexAny),
  });
  recordCount += 2;
  maxAnswers = Math.max(maxAnswers, apexAny.length);

  // Empty non-terminals (`_tcp.marathon.mesos`, `marathon.slave.mesos`, …) exist: NODATA, not NXDOMAIN (RFC 8020).
  for (const key of [...names.keys()]) {
    let pos = 0;
    while (pos < key.length) {
      const len = key.charCodeAt(pos);
      if (len === 0) break;
      pos += 1 + len;
      const parent = key.slice(pos);
      if (parent.length < apexKey.length || names.has(parent)) {
        if (parent.length <= apexKey.length) break;
        continue;
      }
      if (!parent.endsWith(apexKey)) break;
      names.set(parent, EMPTY_ENTRY);
    }
  }

  return { domain, domainWire, serial, ttl, names, soaTail, maxAnswers, recordCount, records };
}

/** The answer set of a name for a query type (undefined: none of that type). */
export function answersFor(entry: NameEntry, qtype: number): AnswerSet | undefined {
  switch (qtype) {
    case TYPE.A:
      return entry.a;
    case TYPE.AAAA:
      return entry.aaaa;
    case TYPE.SRV:
      return entry.srv;
    case TYPE.SOA:
      return entry.soa;
    case TYPE.NS:
      return entry.ns;
    case TYPE.ANY:
      return entry.any;
    default:
      return undefined;
  }
}
