/**
 * The zone as the query path sees it: for every name (keyed by its lower-cased wire form) and
 * every type it has, the answer section already encoded, so that a query costs a map lookup, a
 * shuffle of record indexes and a copy.
 *
 * Two ways to get one: `buildZone` builds it from a RecordSet in one go (pure; the reference), and
 * `LiveZone` keeps it up to date record by record, re-encoding only the names whose records changed
 * (what the server uses: a table change costs what changed, not what the cluster holds).
 *
 * Every answer record's owner is a compression pointer to the question (offset 12), so records are
 * position independent and the owner reads exactly as the client asked. SRV targets are written
 * in full (RFC 2782); SOA and NS names too.
 */
import { SRV_WEIGHT, type NameRecords, type RecordSet, type SrvTarget, type ZoneRecord } from './names.ts';
import { encodeName, ipv4Rdata, ipv6Rdata, nameKey, pointerRecord, recordTail, soaRdata, srvRdata, TYPE } from './wire.ts';

/** SOA timers (Mesos-DNS's defaults); MINIMUM is the TTL, as in Mesos-DNS. */
export const SOA_REFRESH = 60;
export const SOA_RETRY = 600;
export const SOA_EXPIRE = 86_400;

/** The records of one (name, type): encoded answer records, and for SRV the additional A/AAAA of each target. */
export interface AnswerSet {
  /** The records' type (ANY when they are of several types). */
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
  /** At least the largest answer set (for the shuffle scratch space). */
  readonly maxAnswers: number;
  /** Records, for metrics. */
  readonly recordCount: number;
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

/**
 * Build the zone for a record set, from scratch. The server keeps a LiveZone instead (below); this is
 * the reference it is tested against, and what the query-path tests use.
 */
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

  return { domain, domainWire, serial, ttl, names, soaTail, maxAnswers, recordCount };
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

// ---------------------------------------------------------------------------------------------
// The live zone: records are added and removed (counted, as several sources may give the same
// record), and `commit` re-encodes the names that changed. Kept lean: a full build holds a name per
// task and per app, and the time it takes is mostly the garbage collector's.

const KIND_A = 0;
const KIND_AAAA = 1;
const KIND_SRV = 2;
type Kind = typeof KIND_A | typeof KIND_AAAA | typeof KIND_SRV;

/** One distinct value of a name, and how many sources give it. */
interface Value {
  readonly kind: Kind;
  /** The IP, or `port target` (unique within the name across kinds: only SRV keys have a space, only AAAA a colon). */
  readonly key: string;
  count: number;
  /** Where it is in its name's `values`. */
  slot: number;
  /** A: the address as a number. */
  readonly ip: number;
  /** AAAA: the address. */
  readonly rdata: Buffer | undefined;
  /** SRV. */
  readonly port: number;
  readonly target: NameState | undefined;
}

/** Values are found by a scan up to this many, through a map beyond. */
const SCAN_LIMIT = 8;

/** Everything the live zone knows about one name. */
class NameState {
  readonly name: string;
  /** The lower-case wire form as a latin1 string: the key of `names`. */
  readonly key: string;
  #wire: Buffer | undefined;
  readonly values: Value[] = [];
  index: Map<string, Value> | undefined;
  a = 0;
  aaaa = 0;
  srv = 0;
  /** The names with SRV records pointing here, and how many records each. */
  referrers: Map<NameState, number> | undefined;
  /** This name's A/AAAA records for the additional section of the names pointing here (valid unless `blockStale`). */
  block: AdditionalBlock | undefined;
  blockStale = true;
  /** The encoded records (undefined: none). */
  entry: NameEntry | undefined;
  dirty = false;
  addressesChanged = false;

  constructor(name: string, key: string) {
    this.name = name;
    this.key = key;
  }

  /** The wire form (SRV targets only need it). */
  get wire(): Buffer {
    return (this.#wire ??= Buffer.from(this.key, 'latin1'));
  }

  find(key: string): Value | undefined {
    if (this.index) return this.index.get(key);
    const values = this.values;
    for (let i = 0; i < values.length; i++) if (values[i]!.key === key) return values[i];
    return undefined;
  }

  insert(v: Value): void {
    v.slot = this.values.push(v) - 1;
    if (this.index) this.index.set(v.key, v);
    else if (this.values.length > SCAN_LIMIT) this.index = new Map(this.values.map((x) => [x.key, x]));
    if (v.kind === KIND_A) this.a++;
    else if (v.kind === KIND_AAAA) this.aaaa++;
    else this.srv++;
  }

  delete(v: Value): void {
    const values = this.values;
    const last = values.pop()!;
    if (last !== v) {
      values[v.slot] = last;
      last.slot = v.slot;
    }
    this.index?.delete(v.key);
    if (v.kind === KIND_A) this.a--;
    else if (v.kind === KIND_AAAA) this.aaaa--;
    else this.srv--;
  }
}

/** The wire key of a valid lower-case name (what `nameKey` gives), without a Buffer. */
function keyOf(name: string): string {
  let key = '';
  let start = 0;
  for (;;) {
    const dot = name.indexOf('.', start);
    const end = dot < 0 ? name.length : dot;
    key += String.fromCharCode(end - start) + name.slice(start, end);
    if (dot < 0) return `${key}\0`;
    start = dot + 1;
  }
}

function ipv4Number(ip: string): number {
  let n = 0;
  let part = 0;
  for (let i = 0; i < ip.length; i++) {
    const c = ip.charCodeAt(i);
    if (c === 46) {
      n = n * 256 + part;
      part = 0;
    } else part = part * 10 + (c - 48);
  }
  return n * 256 + part;
}

function writeHeader(out: Buffer, pos: number, pointer: number, type: number, ttl: number, rdlength: number): void {
  out.writeUInt16BE(0xc000 | pointer, pos);
  out.writeUInt16BE(type, pos + 2);
  out.writeUInt16BE(1, pos + 4);
  out.writeUInt32BE(ttl >>> 0, pos + 6);
  out.writeUInt16BE(rdlength, pos + 10);
}

/** Offsets of `count` records of `size` bytes each, shared (they are never written to). */
const uniform = new Map<number, Uint32Array>();
function uniformOffsets(size: number, count: number): Uint32Array {
  if (count > 64) return Uint32Array.from({ length: count + 1 }, (_, i) => i * size);
  const id = size * 100 + count;
  let offsets = uniform.get(id);
  if (!offsets) uniform.set(id, (offsets = Uint32Array.from({ length: count + 1 }, (_, i) => i * size)));
  return offsets;
}

const NO_TARGETS: readonly AdditionalBlock[] = [];

function plainSet(type: number, count: number, data: Buffer, offsets: Uint32Array): AnswerSet {
  return { type, count, data, offsets, targetOf: undefined, targets: NO_TARGETS, additionalBytes: 0, additionalCount: 0 };
}

export interface LiveZoneOptions {
  readonly domain: string;
  /** The name server (`ns1.<domain>`). */
  readonly nsName: string;
  readonly ttl: number;
}

/**
 * A zone maintained record by record. `add` and `remove` count each (name, value) — the same
 * record may come from several sources (`slave.D` from every task on an agent) — and note the names
 * whose set of values changed; `commit` re-encodes those names (and the SRV names whose targets'
 * addresses changed, for their additional section), keeps the empty non-terminals, and writes the
 * apex's SOA with the new serial. Each name's entry is an immutable object swapped into `names` in
 * one `set`, and everything runs synchronously: a query never sees a half-updated name.
 */
export class LiveZone implements Zone {
  readonly domain: string;
  readonly domainWire: Buffer;
  readonly ttl: number;
  serial = 0;
  soaTail: Buffer;
  maxAnswers = 2;
  /** SOA and NS at the apex, plus every record. */
  recordCount = 2;
  readonly names = new Map<string, NameEntry>();
  /** A read-only view of the records by owner name (`/v1` answers). */
  readonly recordNames: ReadonlyMap<string, NameRecords>;

  readonly #states = new Map<string, NameState>();
  #dirty: NameState[] = [];
  /** How many existing names each name has right below it (a name with children exists: an empty non-terminal if it has no records). */
  readonly #children = new Map<string, number>();
  readonly #apexKey: string;
  readonly #nsWire: Buffer;
  readonly #rnameWire: Buffer;
  readonly #nsSet: AnswerSet | undefined;
  readonly #nsRecord: Buffer;
  /** Names with records. */
  #named = 0;

  constructor(options: LiveZoneOptions) {
    this.domain = options.domain;
    this.ttl = options.ttl;
    const domainWire = encodeName(options.domain);
    if (!domainWire) throw new Error(`dns: cannot encode the domain ${options.domain}`);
    this.domainWire = domainWire;
    this.#apexKey = domainWire.toString('latin1');
    this.#nsWire = encodeName(options.nsName) ?? domainWire;
    this.#rnameWire = encodeName(`root.${options.nsName}`) ?? domainWire;
    this.#nsRecord = pointerRecord(12, TYPE.NS, this.ttl, this.#nsWire);
    this.#nsSet = answerSet(TYPE.NS, [this.#nsRecord]);
    this.soaTail = Buffer.alloc(0);
    this.recordNames = this.#view();
  }

  add(r: ZoneRecord): void {
    const s = this.#state(r.name);
    const v = s.find(r.key);
    if (v) {
      v.count++;
      return;
    }
    let kind: Kind = KIND_A;
    let ip = 0;
    let rdata: Buffer | undefined;
    let target: NameState | undefined;
    if (r.type === 'A') ip = ipv4Number(r.value);
    else if (r.type === 'AAAA') {
      kind = KIND_AAAA;
      rdata = ipv6Rdata(r.value);
    } else {
      kind = KIND_SRV;
      target = this.#state(r.value);
      const refs = (target.referrers ??= new Map());
      refs.set(s, (refs.get(s) ?? 0) + 1);
    }
    s.insert({ kind, key: r.key, count: 1, slot: 0, ip, rdata, port: r.port, target });
    if (kind !== KIND_SRV) s.addressesChanged = true;
    this.#mark(s);
  }

  /** Take back a record given by `add` (a record never added is ignored). */
  remove(r: ZoneRecord): void {
    const s = this.#states.get(r.name);
    const v = s?.find(r.key);
    if (!s || !v) return;
    if (--v.count > 0) return;
    s.delete(v);
    this.#mark(s);
    const target = v.target;
    if (!target) {
      s.addressesChanged = true;
      return;
    }
    const refs = target.referrers;
    if (!refs) return;
    const n = (refs.get(s) ?? 1) - 1;
    if (n > 0) refs.set(s, n);
    else refs.delete(s);
    if (refs.size === 0) {
      target.referrers = undefined;
      // Nothing points at it any more: let commit forget it if it has no records either.
      if (target.values.length === 0) this.#mark(target);
    }
  }

  /** Re-encode what changed since the last commit, and set the serial. Returns how many names were re-encoded. */
  commit(serial: number): number {
    const dirty = this.#dirty;
    // A name whose addresses changed is in the additional section of the SRV names pointing at it.
    for (let i = 0; i < dirty.length; i++) {
      const s = dirty[i]!;
      if (!s.addressesChanged) continue;
      s.addressesChanged = false;
      s.blockStale = true;
      if (s.referrers) for (const referrer of s.referrers.keys()) this.#mark(referrer);
    }
    for (const s of dirty) {
      s.dirty = false;
      const before = s.entry;
      const after = s.values.length > 0 ? this.#encode(s) : undefined;
      s.entry = after;
      const count = after?.any?.count ?? 0;
      this.recordCount += count - (before?.any?.count ?? 0);
      if (count > this.maxAnswers) this.maxAnswers = count;
      if (!before !== !after) this.#named += after ? 1 : -1;
      if (s.key !== this.#apexKey) {
        if (after) this.names.set(s.key, after);
        else if (before) {
          if (this.#children.has(s.key)) this.names.set(s.key, EMPTY_ENTRY);
          else this.names.delete(s.key);
        }
        // A name with children exists with or without records.
        if (!before !== !after && !this.#children.has(s.key)) this.#existence(s.key, after ? 1 : -1);
      }
      if (!after && !s.referrers) this.#states.delete(s.name);
    }
    const encoded = dirty.length;
    this.#dirty = [];
    this.#apex(serial);
    return encoded;
  }

  #state(name: string): NameState {
    let s = this.#states.get(name);
    if (!s) {
      s = new NameState(name, keyOf(name));
      this.#states.set(name, s);
    }
    return s;
  }

  #mark(s: NameState): void {
    if (s.dirty) return;
    s.dirty = true;
    this.#dirty.push(s);
  }

  /**
   * A name came to exist (+1) or ceased to (-1): its parent counts it. A parent below the apex
   * without records of its own exists while it has children (an empty non-terminal), so the change
   * goes up until it reaches a parent that existed anyway.
   */
  #existence(key: string, delta: number): void {
    const apexKey = this.#apexKey;
    if (!key.endsWith(apexKey)) return;
    for (;;) {
      const parentStart = key.charCodeAt(0) + 1;
      if (key.length - parentStart <= apexKey.length) return;
      const parent = key.slice(parentStart);
      const n = (this.#children.get(parent) ?? 0) + delta;
      if (n > 0) this.#children.set(parent, n);
      else this.#children.delete(parent);
      // Only a change between none and some children matters, and only to a parent without records.
      if ((delta > 0 ? n !== 1 : n !== 0) || (this.names.get(parent) ?? EMPTY_ENTRY) !== EMPTY_ENTRY) return;
      if (delta > 0) this.names.set(parent, EMPTY_ENTRY);
      else this.names.delete(parent);
      key = parent;
    }
  }

  #apex(serial: number): void {
    const ttl = this.ttl;
    this.serial = serial;
    const soa = soaRdata(this.#nsWire, this.#rnameWire, serial, SOA_REFRESH, SOA_RETRY, SOA_EXPIRE, ttl);
    this.soaTail = recordTail(TYPE.SOA, ttl, soa);
    const soaRecord = pointerRecord(12, TYPE.SOA, ttl, soa);
    const apex = this.#states.get(this.domain)?.entry ?? EMPTY_ENTRY;
    const apexAny: Buffer[] = [soaRecord, this.#nsRecord];
    if (apex.any) for (let i = 0; i < apex.any.count; i++) apexAny.push(apex.any.data.subarray(apex.any.offsets[i], apex.any.offsets[i + 1]));
    this.names.set(this.#apexKey, { ...apex, soa: answerSet(TYPE.SOA, [soaRecord]), ns: this.#nsSet, any: answerSet(TYPE.ANY, apexAny) });
    if (apexAny.length > this.maxAnswers) this.maxAnswers = apexAny.length;
  }

  /** The A then AAAA records of a name, with placeholder owner pointers (for the additional section). */
  #block(s: NameState): AdditionalBlock | undefined {
    if (!s.blockStale) return s.block;
    s.blockStale = false;
    if (s.a + s.aaaa === 0) return (s.block = undefined);
    const data = Buffer.allocUnsafe(s.a * 16 + s.aaaa * 28);
    const pointers: number[] = [];
    let pa = 0;
    let p6 = s.a * 16;
    for (const v of s.values) {
      if (v.kind === KIND_A) {
        writeHeader(data, pa, 0, TYPE.A, this.ttl, 4);
        data.writeUInt32BE(v.ip >>> 0, pa + 12);
        pointers.push(pa);
        pa += 16;
      } else if (v.kind === KIND_AAAA) {
        writeHeader(data, p6, 0, TYPE.AAAA, this.ttl, 16);
        v.rdata!.copy(data, p6 + 12);
        pointers.push(p6);
        p6 += 28;
      }
    }
    pointers.sort((x, y) => x - y);
    return (s.block = { data, pointers });
  }

  /** Encode a name's records: A, AAAA and SRV back to back in one buffer; each type is a view of it, and ANY the whole. */
  #encode(s: NameState): NameEntry {
    const ttl = this.ttl;
    const na = s.a;
    const n6 = s.aaaa;
    const ns = s.srv;
    const count = na + n6 + ns;
    const start6 = na * 16;
    const startSrv = start6 + n6 * 28;
    let size = startSrv;
    if (ns > 0) for (const v of s.values) if (v.target) size += 18 + v.target.key.length;
    const data = Buffer.allocUnsafe(size);
    // Only names with SRV records (or several types) need offsets of their own.
    const mixed = (na > 0 ? 1 : 0) + (n6 > 0 ? 1 : 0) + (ns > 0 ? 1 : 0) > 1;
    const offsets = mixed || ns > 0 ? new Uint32Array(count + 1) : undefined;
    let ia = 0;
    let i6 = na;
    let is = na + n6;
    let pa = 0;
    let p6 = start6;
    let ps = startSrv;
    let targetOf: Int32Array | undefined;
    let targets: AdditionalBlock[] | undefined;
    let blockIndex: Map<NameState, number> | undefined;
    let additionalBytes = 0;
    let additionalCount = 0;
    if (ns > 0) {
      targetOf = new Int32Array(ns);
      targets = [];
      blockIndex = new Map();
    }
    for (const v of s.values) {
      if (v.kind === KIND_A) {
        if (offsets) offsets[ia] = pa;
        ia++;
        writeHeader(data, pa, 12, TYPE.A, ttl, 4);
        data.writeUInt32BE(v.ip >>> 0, pa + 12);
        pa += 16;
      } else if (v.kind === KIND_AAAA) {
        if (offsets) offsets[i6] = p6;
        i6++;
        writeHeader(data, p6, 12, TYPE.AAAA, ttl, 16);
        v.rdata!.copy(data, p6 + 12);
        p6 += 28;
      } else {
        const target = v.target!;
        let index = blockIndex!.get(target);
        if (index === undefined) {
          const block = this.#block(target);
          index = block ? targets!.push(block) - 1 : -1;
          blockIndex!.set(target, index);
          if (block) {
            additionalBytes += block.data.length;
            additionalCount += block.pointers.length;
          }
        }
        targetOf![is - na - n6] = index;
        offsets![is++] = ps;
        const wire = target.wire;
        writeHeader(data, ps, 12, TYPE.SRV, ttl, 6 + wire.length);
        data.writeUInt16BE(0, ps + 12);
        data.writeUInt16BE(SRV_WEIGHT, ps + 14);
        data.writeUInt16BE(v.port, ps + 16);
        wire.copy(data, ps + 18);
        ps += 18 + wire.length;
      }
    }
    if (offsets) offsets[count] = size;
    const a = na > 0 ? plainSet(TYPE.A, na, mixed ? data.subarray(0, start6) : data, uniformOffsets(16, na)) : undefined;
    const aaaa = n6 > 0 ? plainSet(TYPE.AAAA, n6, mixed ? data.subarray(start6, startSrv) : data, uniformOffsets(28, n6)) : undefined;
    let srv: AnswerSet | undefined;
    if (ns > 0) {
      let own = offsets!;
      if (mixed) {
        own = new Uint32Array(ns + 1);
        for (let i = 0; i <= ns; i++) own[i] = offsets![na + n6 + i]! - startSrv;
      }
      srv = { type: TYPE.SRV, count: ns, data: mixed ? data.subarray(startSrv) : data, offsets: own, targetOf, targets: targets!, additionalBytes, additionalCount };
    }
    // ANY: the same records without an additional section (a name of one address type shares its set).
    const any = mixed || ns > 0 ? plainSet(mixed ? TYPE.ANY : TYPE.SRV, count, data, offsets!) : (a ?? aaaa)!;
    return { a, aaaa, srv, soa: undefined, ns: undefined, any };
  }

  /** The records by owner name, read from the live state (a view for `/v1`, not a copy). */
  #view(): ReadonlyMap<string, NameRecords> {
    const states = this.#states;
    const records = (s: NameState): NameRecords => {
      const out: NameRecords = { a: [], aaaa: [], srv: [] };
      for (const v of s.values) {
        if (v.kind === KIND_A) out.a.push(v.key);
        else if (v.kind === KIND_AAAA) out.aaaa.push(v.key);
        else out.srv.push({ priority: 0, weight: SRV_WEIGHT, port: v.port, target: v.target!.name });
      }
      return out;
    };
    const get = (name: string): NameRecords | undefined => {
      const s = states.get(name);
      return s && s.values.length > 0 ? records(s) : undefined;
    };
    function* entries(): MapIterator<[string, NameRecords]> {
      for (const s of states.values()) if (s.values.length > 0) yield [s.name, records(s)];
    }
    function* keys(): MapIterator<string> {
      for (const [name] of entries()) yield name;
    }
    function* values(): MapIterator<NameRecords> {
      for (const [, r] of entries()) yield r;
    }
    const size = () => this.#named;
    return {
      get,
      has: (name) => get(name) !== undefined,
      get size() {
        return size();
      },
      forEach(callback, thisArg?: unknown) {
        for (const [name, r] of entries()) callback.call(thisArg, r, name, this);
      },
      entries,
      keys,
      values,
      [Symbol.iterator]: entries,
    };
  }
}
