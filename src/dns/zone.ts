/**
 * The zone as the query path sees it: for every name (keyed by its lower-cased wire form) and
 * every type it has, the answer section already encoded, so that a query costs a map lookup, a
 * shuffle of record indexes and a copy.
 *
 * Two ways to get one: `buildZone` builds it from a RecordSet in one go (pure; the reference), and
 * `LiveZone` keeps it up to date record by record (what the server uses: a table change costs what
 * changed, not what the cluster holds), encoding a name's answers when it is first asked for after
 * a change.
 *
 * Every answer record's owner is a compression pointer to the question (offset 12), so records are
 * position independent and the owner reads exactly as the client asked. SRV targets are written
 * in full (RFC 2782); SOA and NS names too.
 */
import { SRV_WEIGHT, type NameRecords, type RecordSet, type SrvTarget, type ZoneRecord } from './names.ts';
import { encodeName, ipv4Rdata, ipv6Rdata, nameKey, pointerRecord, recordTail, soaRdata, srvRdata, TYPE } from './wire.ts';
import { ipv4Number, ipv4String } from '../net/ipv4.ts';

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
// record), and `commit` settles the names that changed. Kept lean, because a full build at 10,000
// apps × 10 tasks holds about 900,000 names: one Map by owner name, each name's values in flat
// arrays (no object per value), empty non-terminals as counters, and answers encoded only when a
// name is first asked for (and again after it changed), not for every name at every commit.

/** Values are found by a scan up to this many (per name), through an index beyond. */
const SCAN_LIMIT = 16;

/** Wire keys remembered as absent (per commit); the cache starts over when full. */
const ABSENT_CACHE = 4096;

/** Arrays up to this long grow by copying (to their exact size), longer ones by pushing. */
const SMALL = 64;

/** NameState.flags. */
const DIRTY = 1;
/** Its A/AAAA values changed since the last commit (the SRV names pointing here must be redone). */
const ADDRESSES_CHANGED = 2;
/** It existed (had records) at the last commit. */
const EXISTED = 4;
/** `block` is up to date. */
const BLOCK_VALID = 8;

/** Everything the live zone knows about one name. */
class NameState {
  /** Lower case, dotted, no trailing dot: the key of the zone's map. */
  readonly name: string;
  /** The wire form as a latin1 string (what queries look up), once it was needed. */
  key: string | undefined = undefined;
  /** A records: `[address as a number, sources, …]`. */
  ips: number[] | undefined = undefined;
  /**
   * AAAA records: `[address, sources, rdata, …]`, the rdata parsed once, when the value is added,
   * and kept as a latin1 string of its 16 bytes (about 32 bytes of heap, where a Buffer takes 200).
   */
  v6: (string | number)[] | undefined = undefined;
  /** SRV records: `[target, port, sources, …]`. */
  srv: (NameState | number)[] | undefined = undefined;
  /** Distinct values of all types (its record count). */
  size = 0;
  /** Position of each value in its array, once there are more than SCAN_LIMIT (A by number, AAAA by address, SRV by `port target`). */
  index: Map<string | number, number> | undefined = undefined;
  /** The names with SRV records pointing here: one entry per record. */
  referrers: NameState[] | undefined = undefined;
  /** This name's A/AAAA records for the additional section of the SRV answers pointing here. */
  block: AdditionalBlock | undefined = undefined;
  /** The encoded answers (undefined: not encoded since the last change). */
  entry: NameEntry | undefined = undefined;
  flags = 0;

  constructor(name: string) {
    this.name = name;
  }

  findA(ip: number): number {
    const ips = this.ips;
    if (!ips) return -1;
    if (this.index) return this.index.get(ip) ?? -1;
    for (let i = 0; i < ips.length; i += 2) if (ips[i] === ip) return i;
    return -1;
  }

  findV6(address: string): number {
    const v6 = this.v6;
    if (!v6) return -1;
    if (this.index) return this.index.get(address) ?? -1;
    for (let i = 0; i < v6.length; i += 3) if (v6[i] === address) return i;
    return -1;
  }

  /** `key`: the record's `port target`, for the index. */
  findSrv(port: number, target: NameState, key: string): number {
    const srv = this.srv;
    if (!srv) return -1;
    if (this.index) return this.index.get(key) ?? -1;
    for (let i = 0; i < srv.length; i += 3) if (srv[i] === target && srv[i + 1] === port) return i;
    return -1;
  }

  // Small arrays are replaced by copies of exactly their new size: pushing reserves 17 slots or
  // more, and most names have one value, or a handful.
  insertA(ip: number): void {
    const ips = this.ips;
    if (!ips) this.ips = [ip, 1];
    else if (ips.length < SMALL) this.ips = ips.concat([ip, 1]);
    else ips.push(ip, 1);
    this.#inserted(ip, this.ips!.length - 2);
  }

  insertV6(address: string): void {
    const v6 = this.v6;
    const rdata = ipv6Rdata(address).toString('latin1');
    if (!v6) this.v6 = [address, 1, rdata];
    else if (v6.length < SMALL) this.v6 = v6.concat([address, 1, rdata]);
    else v6.push(address, 1, rdata);
    this.#inserted(address, this.v6!.length - 3);
  }

  insertSrv(target: NameState, port: number, key: string): void {
    const srv = this.srv;
    if (!srv) this.srv = [target, port, 1];
    else if (srv.length < SMALL) this.srv = srv.concat([target, port, 1]);
    else srv.push(target, port, 1);
    this.#inserted(key, this.srv!.length - 3);
  }

  addReferrer(s: NameState): void {
    const refs = this.referrers;
    if (!refs) this.referrers = [s];
    else if (refs.length < SMALL) this.referrers = refs.concat([s]);
    else refs.push(s);
  }

  /** Take out the value at `at` of an array of tuples of `width` (the last one moves into its place). */
  removeAt(list: (string | number | NameState)[], at: number, width: number, key: string | number): void {
    const last = list.length - width;
    this.index?.delete(key);
    if (at !== last) {
      for (let k = 0; k < width; k++) list[at + k] = list[last + k]!;
      this.index?.set(indexKey(list, at), at);
    }
    list.length = last;
    this.size--;
  }

  #inserted(key: string | number, at: number): void {
    this.size++;
    if (this.index) this.index.set(key, at);
    else if (this.size > SCAN_LIMIT) {
      const index = new Map<string | number, number>();
      const { ips, v6, srv } = this;
      if (ips) for (let i = 0; i < ips.length; i += 2) index.set(ips[i]!, i);
      if (v6) for (let i = 0; i < v6.length; i += 3) index.set(v6[i]!, i);
      if (srv) for (let i = 0; i < srv.length; i += 3) index.set(indexKey(srv, i), i);
      this.index = index;
    }
  }
}

/** The index key of the tuple at `at`: an A's number, an AAAA's address, an SRV's `port target`. */
function indexKey(list: readonly (string | number | NameState)[], at: number): string | number {
  const first = list[at]!;
  if (first instanceof NameState) return `${list[at + 1] as number} ${first.name}`;
  return first as string | number;
}

/** Shards of a NameMap (a power of two). */
const SHARDS = 64;

/**
 * A Map by name split in SHARDS Maps. A Map grows by copying itself whole into one twice its size,
 * which at the 720,000 names of a full build at 10,000 apps × 10 tasks blocked the loop for 25-40
 * ms (on the 2-core machine) when it reached 262,144 and 524,288 entries; shards of about 11,000
 * names grow in steps of about 1 ms. The shard comes from the length and 8 characters spread over
 * the name (hashing all of it made the build 25 % slower; 8 cost about 7 %): the random `H` of the
 * task names (most of the names) is always among them in names up to 40 characters, and a part of
 * `T` in the others.
 */
class NameMap<V> {
  readonly #shards: Map<string, V>[] = Array.from({ length: SHARDS }, () => new Map<string, V>());

  #shard(name: string): Map<string, V> {
    const n = name.length;
    let h = n;
    for (let i = 0; i < 8; i++) h = (Math.imul(h, 31) + name.charCodeAt((i * n) >> 3)) | 0;
    h ^= h >>> 13;
    h = Math.imul(h, 0x5bd1e995);
    return this.#shards[(h ^ (h >>> 15)) & (SHARDS - 1)]!;
  }

  get(name: string): V | undefined {
    return this.#shard(name).get(name);
  }

  set(name: string, value: V): void {
    this.#shard(name).set(name, value);
  }

  delete(name: string): void {
    this.#shard(name).delete(name);
  }

  *values(): IterableIterator<V> {
    for (const shard of this.#shards) yield* shard.values();
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

/** The dotted name of a wire key; undefined when it cannot be one of the zone's names (a label with a dot, a bad length). */
function nameOfKey(key: string): string | undefined {
  let name = '';
  let pos = 0;
  for (;;) {
    const length = key.charCodeAt(pos);
    if (Number.isNaN(length)) return undefined;
    if (length === 0) return pos === key.length - 1 && pos > 0 ? name : undefined;
    const end = pos + 1 + length;
    if (length > 63 || end >= key.length) return undefined;
    const label = key.slice(pos + 1, end);
    if (label.includes('.')) return undefined;
    name = pos === 0 ? label : `${name}.${label}`;
    pos = end;
  }
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

/**
 * `LiveZone.names`: what the query path reads. A name asked for before is one map lookup (its
 * state, whose entry is encoded already); anything else goes through the zone.
 */
class NamesView implements ReadonlyMap<string, NameEntry> {
  readonly #byKey: ReadonlyMap<string, NameState>;
  /** The zone's lookup, given what `#byKey` holds for the key (so that a miss reads it once). */
  readonly #lookup: (key: string, state: NameState | undefined) => NameEntry | undefined;
  readonly #size: () => number;
  readonly #entries: () => MapIterator<[string, NameEntry]>;

  constructor(byKey: ReadonlyMap<string, NameState>, lookup: (key: string, state: NameState | undefined) => NameEntry | undefined, size: () => number, entries: () => MapIterator<[string, NameEntry]>) {
    this.#byKey = byKey;
    this.#lookup = lookup;
    this.#size = size;
    this.#entries = entries;
  }

  get(key: string): NameEntry | undefined {
    const state = this.#byKey.get(key);
    const entry = state?.entry;
    return entry !== undefined ? entry : this.#lookup(key, state);
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  get size(): number {
    return this.#size();
  }

  forEach(callback: (value: NameEntry, key: string, map: ReadonlyMap<string, NameEntry>) => void, thisArg?: unknown): void {
    for (const [key, entry] of this.#entries()) callback.call(thisArg, entry, key, this);
  }

  entries(): MapIterator<[string, NameEntry]> {
    return this.#entries();
  }

  *keys(): MapIterator<string> {
    for (const [key] of this.#entries()) yield key;
  }

  *values(): MapIterator<NameEntry> {
    for (const [, entry] of this.#entries()) yield entry;
  }

  [Symbol.iterator](): MapIterator<[string, NameEntry]> {
    return this.#entries();
  }
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
 * whose set of values changed; `commit` settles those names (and the SRV names whose targets'
 * addresses changed, for their additional section): existence, empty non-terminals, counts, and
 * the apex's SOA with the new serial. A name's answers are encoded when it is first looked up in
 * `names` after a change, into an immutable entry kept until the name changes again. Everything
 * runs synchronously: a query never sees a half-updated name.
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
  /** Every name that exists, by wire key (a view: entries are encoded on first lookup). */
  readonly names: ReadonlyMap<string, NameEntry>;
  /** A read-only view of the records by owner name (`/v1` answers). */
  readonly recordNames: ReadonlyMap<string, NameRecords>;

  /** Every name with records, or pointed at by an SRV record, by dotted name. */
  readonly #states = new NameMap<NameState>();
  /** The names looked up by wire key (queries): a cache in front of `#states`. */
  readonly #byKey = new Map<string, NameState>();
  /** How far `settle` went in `#dirty`: names whose referrers were marked, names settled. */
  #marked = 0;
  #settled = 0;
  /** Keys looked up that have no records (empty non-terminals, names that do not exist), until the next commit. */
  readonly #absent = new Map<string, NameEntry | false>();
  #dirty: NameState[] = [];
  /** How many existing names each name has right below it (a name with children exists: an empty non-terminal if it has no records). */
  readonly #children = new Map<string, number>();
  /** `.<domain>`. */
  readonly #dotDomain: string;
  readonly #apexKey: string;
  #apexEntry: NameEntry = EMPTY_ENTRY;
  readonly #nsWire: Buffer;
  readonly #rnameWire: Buffer;
  readonly #nsSet: AnswerSet | undefined;
  readonly #nsRecord: Buffer;
  /** Names that exist, the apex included. */
  #existing = 1;
  /** Names with records (as of the last commit). */
  #named = 0;

  constructor(options: LiveZoneOptions) {
    this.domain = options.domain;
    this.ttl = options.ttl;
    const domainWire = encodeName(options.domain);
    if (!domainWire) throw new Error(`dns: cannot encode the domain ${options.domain}`);
    this.domainWire = domainWire;
    this.#apexKey = domainWire.toString('latin1');
    this.#dotDomain = `.${options.domain}`;
    this.#nsWire = encodeName(options.nsName) ?? domainWire;
    this.#rnameWire = encodeName(`root.${options.nsName}`) ?? domainWire;
    this.#nsRecord = pointerRecord(12, TYPE.NS, this.ttl, this.#nsWire);
    this.#nsSet = answerSet(TYPE.NS, [this.#nsRecord]);
    this.soaTail = Buffer.alloc(0);
    this.names = this.#namesView();
    this.recordNames = this.#recordsView();
  }

  add(r: ZoneRecord): void {
    const s = this.#state(r.name);
    if (r.type === 'SRV') {
      const target = this.#state(r.value);
      const at = s.findSrv(r.port, target, r.key);
      if (at >= 0) {
        (s.srv![at + 2] as number)++;
        return;
      }
      s.insertSrv(target, r.port, r.key);
      target.addReferrer(s);
    } else if (r.type === 'A') {
      const ip = ipv4Number(r.value);
      const at = s.findA(ip);
      if (at >= 0) {
        s.ips![at + 1]!++;
        return;
      }
      s.insertA(ip);
      s.flags |= ADDRESSES_CHANGED;
    } else {
      const at = s.findV6(r.value);
      if (at >= 0) {
        (s.v6![at + 1] as number)++;
        return;
      }
      s.insertV6(r.value);
      s.flags |= ADDRESSES_CHANGED;
    }
    this.recordCount++;
    if (s.size > this.maxAnswers) this.maxAnswers = s.size;
    this.#mark(s);
  }

  /** Take back a record given by `add` (a record never added is ignored). */
  remove(r: ZoneRecord): void {
    const s = this.#states.get(r.name);
    if (!s) return;
    if (r.type === 'SRV') {
      const target = this.#states.get(r.value);
      const srv = s.srv;
      const at = target ? s.findSrv(r.port, target, r.key) : -1;
      if (!target || !srv || at < 0) return;
      if (--(srv[at + 2] as number) > 0) return;
      s.removeAt(srv, at, 3, r.key);
      const refs = target.referrers;
      if (refs) {
        const i = refs.lastIndexOf(s);
        if (i >= 0) {
          refs[i] = refs[refs.length - 1]!;
          refs.pop();
        }
        if (refs.length === 0) {
          target.referrers = undefined;
          // Nothing points at it any more: let commit forget it if it has no records either.
          if (target.size === 0) this.#mark(target);
        }
      }
    } else if (r.type === 'A') {
      const ip = ipv4Number(r.value);
      const ips = s.ips;
      const at = s.findA(ip);
      if (!ips || at < 0) return;
      if (--ips[at + 1]! > 0) return;
      s.removeAt(ips, at, 2, ip);
      s.flags |= ADDRESSES_CHANGED;
    } else {
      const v6 = s.v6;
      const at = s.findV6(r.value);
      if (!v6 || at < 0) return;
      if (--(v6[at + 1] as number) > 0) return;
      s.removeAt(v6, at, 3, r.value);
      s.flags |= ADDRESSES_CHANGED;
    }
    this.recordCount--;
    this.#mark(s);
  }

  /**
   * Settle at most `limit` of the names changed since the last commit (a full build settles its
   * 700,000 names in parts): true once all are. Records may be added and removed again only once it
   * returned true (a name whose addresses change after its referrers were marked would be missed);
   * the names they change are settled by the next call, or the commit.
   */
  settle(limit = Number.POSITIVE_INFINITY): boolean {
    const dirty = this.#dirty;
    let budget = limit;
    // A name whose addresses changed is in the additional section of the SRV names pointing at it
    // (all of them marked before any is settled).
    for (; this.#marked < dirty.length; this.#marked++) {
      if (budget-- <= 0) return false;
      const s = dirty[this.#marked]!;
      if ((s.flags & ADDRESSES_CHANGED) === 0) continue;
      s.flags &= ~(ADDRESSES_CHANGED | BLOCK_VALID);
      s.block = undefined;
      const refs = s.referrers;
      if (refs) for (let j = 0; j < refs.length; j++) this.#mark(refs[j]!);
    }
    for (; this.#settled < dirty.length; this.#settled++) {
      if (budget-- <= 0) return false;
      const s = dirty[this.#settled]!;
      s.flags &= ~DIRTY;
      s.entry = undefined;
      const exists = s.size > 0;
      if (exists !== ((s.flags & EXISTED) !== 0)) {
        s.flags ^= EXISTED;
        this.#named += exists ? 1 : -1;
        // A name with children exists with or without records.
        if (s.name !== this.domain && !this.#children.has(s.name)) this.#existence(s.name, exists ? 1 : -1);
      }
      if (!exists && !s.referrers) {
        this.#states.delete(s.name);
        if (s.key !== undefined) this.#byKey.delete(s.key);
      }
    }
    return true;
  }

  /** Settle what changed since the last commit (what `settle` has not yet), and set the serial. Returns how many names changed (their answers are encoded anew when next asked for). */
  commit(serial: number): number {
    this.settle();
    const changed = this.#dirty.length;
    this.#dirty = [];
    this.#marked = 0;
    this.#settled = 0;
    if (this.#absent.size > 0) this.#absent.clear();
    this.#apex(serial);
    return changed;
  }

  #state(name: string): NameState {
    let s = this.#states.get(name);
    if (!s) {
      s = new NameState(name);
      this.#states.set(name, s);
    }
    return s;
  }

  #mark(s: NameState): void {
    if ((s.flags & DIRTY) !== 0) return;
    s.flags |= DIRTY;
    this.#dirty.push(s);
  }

  /** Whether a name has records as of the last commit. */
  #hasRecords(name: string): boolean {
    const s = this.#states.get(name);
    return s !== undefined && (s.flags & EXISTED) !== 0;
  }

  /**
   * A name came to exist (+1) or ceased to (-1): its parent counts it. A parent below the apex
   * without records of its own exists while it has children (an empty non-terminal), so the change
   * goes up until it reaches a parent that existed anyway.
   */
  #existence(name: string, delta: number): void {
    this.#existing += delta;
    const domain = this.domain;
    if (!name.endsWith(this.#dotDomain)) return;
    for (;;) {
      const parent = name.slice(name.indexOf('.') + 1);
      if (parent.length <= domain.length) return;
      const n = (this.#children.get(parent) ?? 0) + delta;
      if (n > 0) this.#children.set(parent, n);
      else this.#children.delete(parent);
      // Only a change between none and some children matters, and only to a parent without records.
      if ((delta > 0 ? n !== 1 : n !== 0) || this.#hasRecords(parent)) return;
      this.#existing += delta;
      name = parent;
    }
  }

  #apex(serial: number): void {
    const ttl = this.ttl;
    this.serial = serial;
    const soa = soaRdata(this.#nsWire, this.#rnameWire, serial, SOA_REFRESH, SOA_RETRY, SOA_EXPIRE, ttl);
    this.soaTail = recordTail(TYPE.SOA, ttl, soa);
    const soaRecord = pointerRecord(12, TYPE.SOA, ttl, soa);
    const state = this.#states.get(this.domain);
    const apex = state && state.size > 0 ? this.#entry(state) : EMPTY_ENTRY;
    const apexAny: Buffer[] = [soaRecord, this.#nsRecord];
    if (apex.any) for (let i = 0; i < apex.any.count; i++) apexAny.push(apex.any.data.subarray(apex.any.offsets[i], apex.any.offsets[i + 1]));
    this.#apexEntry = { ...apex, soa: answerSet(TYPE.SOA, [soaRecord]), ns: this.#nsSet, any: answerSet(TYPE.ANY, apexAny) };
    if (apexAny.length > this.maxAnswers) this.maxAnswers = apexAny.length;
  }

  /**
   * A name's entry as of the last commit: the apex's, its encoded records, EMPTY_ENTRY for an empty
   * non-terminal, undefined when it does not exist. `s`: what `#byKey` holds for `key` (the caller
   * has read it already).
   */
  #lookup(key: string, s: NameState | undefined): NameEntry | undefined {
    if (s === undefined) {
      if (key === this.#apexKey) return this.#apexEntry;
      const known = this.#absent.get(key);
      if (known !== undefined) return known === EMPTY_ENTRY ? known : undefined;
      const name = nameOfKey(key);
      s = name === undefined ? undefined : this.#states.get(name);
      if (s === undefined) {
        // Not a name with records: an empty non-terminal, or nothing. Remembered until the next commit.
        const entry = name !== undefined && this.#children.has(name) ? EMPTY_ENTRY : undefined;
        if (this.#absent.size >= ABSENT_CACHE) this.#absent.clear();
        this.#absent.set(key, entry ?? false);
        return entry;
      }
      s.key = key;
      this.#byKey.set(key, s);
    }
    if ((s.flags & EXISTED) !== 0) return this.#entry(s);
    return this.#children.has(s.name) ? EMPTY_ENTRY : undefined;
  }

  #entry(s: NameState): NameEntry {
    return (s.entry ??= this.#encode(s));
  }

  /** The A then AAAA records of a name, with placeholder owner pointers (for the additional section). */
  #block(s: NameState): AdditionalBlock | undefined {
    if ((s.flags & BLOCK_VALID) !== 0) return s.block;
    s.flags |= BLOCK_VALID;
    const na = s.ips ? s.ips.length / 2 : 0;
    const n6 = s.v6 ? s.v6.length / 3 : 0;
    if (na + n6 === 0) return (s.block = undefined);
    const data = Buffer.allocUnsafe(na * 16 + n6 * 28);
    const pointers: number[] = [];
    let pos = 0;
    const ips = s.ips;
    if (ips) {
      for (let i = 0; i < ips.length; i += 2) {
        writeHeader(data, pos, 0, TYPE.A, this.ttl, 4);
        data.writeUInt32BE(ips[i]! >>> 0, pos + 12);
        pointers.push(pos);
        pos += 16;
      }
    }
    const v6 = s.v6;
    if (v6) {
      for (let i = 0; i < v6.length; i += 3) {
        writeHeader(data, pos, 0, TYPE.AAAA, this.ttl, 16);
        data.write(v6[i + 2] as string, pos + 12, 'latin1');
        pointers.push(pos);
        pos += 28;
      }
    }
    return (s.block = { data, pointers });
  }

  /** Encode a name's records: A, AAAA and SRV back to back in one buffer; each type is a view of it, and ANY the whole. */
  #encode(s: NameState): NameEntry {
    const ttl = this.ttl;
    const ips = s.ips;
    const v6 = s.v6;
    const srvs = s.srv;
    const na = ips ? ips.length / 2 : 0;
    const n6 = v6 ? v6.length / 3 : 0;
    const ns = srvs ? srvs.length / 3 : 0;
    const count = na + n6 + ns;
    const start6 = na * 16;
    const startSrv = start6 + n6 * 28;
    let size = startSrv;
    const targetKeys: string[] = [];
    if (srvs) {
      for (let i = 0; i < srvs.length; i += 3) {
        const target = srvs[i] as NameState;
        const key = (target.key ??= keyOf(target.name));
        targetKeys.push(key);
        size += 18 + key.length;
      }
    }
    const data = Buffer.allocUnsafe(size);
    // Only names with SRV records (or several types) need offsets of their own.
    const mixed = (na > 0 ? 1 : 0) + (n6 > 0 ? 1 : 0) + (ns > 0 ? 1 : 0) > 1;
    const offsets = mixed || ns > 0 ? new Uint32Array(count + 1) : undefined;
    let r = 0;
    let pos = 0;
    if (ips) {
      for (let i = 0; i < ips.length; i += 2) {
        if (offsets) offsets[r] = pos;
        r++;
        writeHeader(data, pos, 12, TYPE.A, ttl, 4);
        data.writeUInt32BE(ips[i]! >>> 0, pos + 12);
        pos += 16;
      }
    }
    if (v6) {
      for (let i = 0; i < v6.length; i += 3) {
        if (offsets) offsets[r] = pos;
        r++;
        writeHeader(data, pos, 12, TYPE.AAAA, ttl, 16);
        data.write(v6[i + 2] as string, pos + 12, 'latin1');
        pos += 28;
      }
    }
    let srv: AnswerSet | undefined;
    if (srvs) {
      const targetOf = new Int32Array(ns);
      const targets: AdditionalBlock[] = [];
      const blockIndex = new Map<NameState, number>();
      let additionalBytes = 0;
      let additionalCount = 0;
      for (let i = 0, j = 0; i < srvs.length; i += 3, j++) {
        const target = srvs[i] as NameState;
        let index = blockIndex.get(target);
        if (index === undefined) {
          const block = this.#block(target);
          index = block ? targets.push(block) - 1 : -1;
          blockIndex.set(target, index);
          if (block) {
            additionalBytes += block.data.length;
            additionalCount += block.pointers.length;
          }
        }
        targetOf[j] = index;
        offsets![r++] = pos;
        const key = targetKeys[j]!;
        writeHeader(data, pos, 12, TYPE.SRV, ttl, 6 + key.length);
        data.writeUInt16BE(0, pos + 12);
        data.writeUInt16BE(SRV_WEIGHT, pos + 14);
        data.writeUInt16BE(srvs[i + 1] as number, pos + 16);
        data.write(key, pos + 18, 'latin1');
        pos += 18 + key.length;
      }
      let own = offsets!;
      if (mixed) {
        own = new Uint32Array(ns + 1);
        for (let i = 0; i <= ns; i++) own[i] = offsets![na + n6 + i]! - startSrv;
      }
      srv = { type: TYPE.SRV, count: ns, data: mixed ? data.subarray(startSrv) : data, offsets: own, targetOf, targets, additionalBytes, additionalCount };
    }
    if (offsets) offsets[count] = size;
    const a = na > 0 ? plainSet(TYPE.A, na, mixed ? data.subarray(0, start6) : data, uniformOffsets(16, na)) : undefined;
    const aaaa = n6 > 0 ? plainSet(TYPE.AAAA, n6, mixed ? data.subarray(start6, startSrv) : data, uniformOffsets(28, n6)) : undefined;
    // ANY: the same records without an additional section (a name of one address type shares its set).
    const any = mixed || ns > 0 ? plainSet(mixed ? TYPE.ANY : TYPE.SRV, count, data, offsets!) : (a ?? aaaa)!;
    return { a, aaaa, srv, soa: undefined, ns: undefined, any };
  }

  /** The names that exist, by wire key: a view over the live state (entries encoded when looked up). */
  #namesView(): ReadonlyMap<string, NameEntry> {
    const states = this.#states;
    const children = this.#children;
    const domain = this.domain;
    const byKey = this.#byKey;
    const lookup = (key: string, state: NameState | undefined) => this.#lookup(key, state);
    function* entries(): MapIterator<[string, NameEntry]> {
      const apexKey = keyOf(domain);
      yield [apexKey, lookup(apexKey, byKey.get(apexKey))!];
      for (const s of states.values()) {
        if (s.name === domain || (s.flags & EXISTED) === 0) continue;
        const key = (s.key ??= keyOf(s.name));
        yield [key, lookup(key, byKey.get(key))!];
      }
      for (const name of children.keys()) {
        const s = states.get(name);
        if (s && (s.flags & EXISTED) !== 0) continue;
        yield [keyOf(name), EMPTY_ENTRY];
      }
    }
    return new NamesView(this.#byKey, lookup, () => this.#existing, entries);
  }

  /** The records by owner name, read from the live state (a view for `/v1`, not a copy). */
  #recordsView(): ReadonlyMap<string, NameRecords> {
    const states = this.#states;
    const records = (s: NameState): NameRecords => {
      const out: NameRecords = { a: [], aaaa: [], srv: [] };
      if (s.ips) for (let i = 0; i < s.ips.length; i += 2) out.a.push(ipv4String(s.ips[i]!));
      if (s.v6) for (let i = 0; i < s.v6.length; i += 3) out.aaaa.push(s.v6[i] as string);
      if (s.srv) for (let i = 0; i < s.srv.length; i += 3) out.srv.push({ priority: 0, weight: SRV_WEIGHT, port: s.srv[i + 1] as number, target: (s.srv[i] as NameState).name });
      return out;
    };
    const get = (name: string): NameRecords | undefined => {
      const s = states.get(name);
      return s && s.size > 0 ? records(s) : undefined;
    };
    function* entries(): MapIterator<[string, NameRecords]> {
      for (const s of states.values()) if (s.size > 0) yield [s.name, records(s)];
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
