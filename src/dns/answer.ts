/**
 * The query path: one request in, one reply out (or "forward", or nothing). Synchronous, and
 * allocation-light: the query is decoded into a reused object, the answer is copied from the
 * zone's pre-encoded records in a shuffled order into one Buffer of the exact size.
 *
 * Behaviour (reference §2 and §10): AA on every authoritative answer; RD and CD copied; RA when
 * forwarding is configured; NXDOMAIN for names that do not exist and NOERROR/NODATA for names that
 * exist without the type, both with the zone's SOA in the authority section (SRV included); SOA and
 * NS at the apex in the answer section; OPT echoed with the size honoured (at most 1232); partial
 * answers with TC when a UDP reply does not fit (512 bytes without EDNS); ANY over UDP answered with
 * one RRset (RFC 8482); REFUSED outside the zone, or forwarding for the clients allowed to have it
 * (`forwardAllow`); FORMERR/NOTIMP/BADVERS
 * for queries pacer cannot read; SERVFAIL until the first routing table arrived.
 */
import { answersFor, type AnswerSet, type Zone } from './zone.ts';
import {
  BADVERS,
  CLASS_ANY,
  CLASS_IN,
  DECODE,
  decodeQuery,
  errorReply,
  FLAG_AA,
  FLAG_RA,
  FLAG_TC,
  HEADER_SIZE,
  nameKey,
  OPT_SIZE,
  Query,
  RCODE,
  replyFlags,
  TYPE,
  udpLimit,
  writeOpt,
} from './wire.ts';

export const UDP = 0;
export const TCP = 1;
export type Transport = typeof UDP | typeof TCP;

/** `answer` asks its caller to forward the query. */
export const FORWARD = Symbol('forward');

/** Label values for the query counter (bounded sets). */
export const QTYPE_LABELS = ['A', 'AAAA', 'SRV', 'SOA', 'NS', 'ANY', 'other'] as const;
export const RCODE_LABELS = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'other'] as const;
export const TRANSPORT_LABELS = ['udp', 'tcp'] as const;

export function qtypeIndex(qtype: number): number {
  switch (qtype) {
    case TYPE.A:
      return 0;
    case TYPE.AAAA:
      return 1;
    case TYPE.SRV:
      return 2;
    case TYPE.SOA:
      return 3;
    case TYPE.NS:
      return 4;
    case TYPE.ANY:
      return 5;
    default:
      return 6;
  }
}

export function rcodeIndex(rcode: number): number {
  return rcode >= 0 && rcode <= 5 ? rcode : 6;
}

const TCP_LIMIT = 65_535;
/** Compression pointers reach 14 bits: the additional section is only written below this size. */
const POINTER_REACH = 0x3fff;

/** Below this many bytes a plain loop beats `Buffer#copy` (whose argument checks cost more than the copy). */
const LOOP_COPY_MAX = 64;

/** Copy `src[start, end)` to `dst` at `at` (ranges are known to be in bounds). */
function copyBytes(src: Uint8Array, start: number, end: number, dst: Uint8Array, at: number): void {
  if (end - start > LOOP_COPY_MAX) {
    dst.set(src.subarray(start, end), at);
    return;
  }
  for (let i = start; i < end; i++) dst[at++] = src[i]!;
}

export interface AnswererOptions {
  readonly domain: string;
  /** Names outside the zone are forwarded (else REFUSED); also the RA bit. */
  readonly forwarding: boolean;
  /**
   * Which clients may have names outside the zone forwarded (`--dns-forward-allow`); the others
   * get REFUSED, so that pacer is no open resolver. Default: every client.
   */
  readonly forwardAllow?: { allows(client: string): boolean };
}

export class Answerer {
  readonly #q = new Query();
  readonly #domainKey: string;
  readonly #domainLength: number;
  readonly #forwarding: boolean;
  readonly #forwardAllow: { allows(client: string): boolean } | undefined;
  #zone: Zone | undefined;
  #perm = new Uint32Array(16);
  #blockPos = new Int32Array(16);
  /** Queries by [transport][qtype][rcode]; read and reset by the metrics flush. */
  readonly counts = new Float64Array(TRANSPORT_LABELS.length * QTYPE_LABELS.length * RCODE_LABELS.length);
  malformed = 0;
  truncated = 0;
  /** Queries for names outside the zone REFUSED because the client may not have them forwarded (never reset). */
  forwardRefused = 0;

  constructor(options: AnswererOptions) {
    const key = nameKey(options.domain);
    if (key === undefined) throw new Error(`dns: bad domain ${options.domain}`);
    this.#domainKey = key;
    this.#domainLength = key.length;
    this.#forwarding = options.forwarding;
    this.#forwardAllow = options.forwardAllow;
  }

  get zone(): Zone | undefined {
    return this.#zone;
  }

  /**
   * Swap in a zone (atomically: the next query sees it whole). A live zone keeps changing after
   * this, one name at a time (each name's entry is swapped whole).
   */
  setZone(zone: Zone): void {
    if (zone.maxAnswers > this.#perm.length) this.#grow(zone.maxAnswers);
    this.#zone = zone;
  }

  #grow(size: number): void {
    this.#perm = new Uint32Array(size);
    this.#blockPos = new Int32Array(size);
  }

  count(transport: Transport, qtype: number, rcode: number): void {
    this.counts[(transport * QTYPE_LABELS.length + qtypeIndex(qtype)) * RCODE_LABELS.length + rcodeIndex(rcode)]!++;
  }

  /**
   * The query as the last `answer` decoded it (the same object every time): after FORWARD, what
   * the forwarding needs (question end, OPT, UDP size), to be read before the next `answer`.
   */
  get query(): Readonly<Query> {
    return this.#q;
  }

  /**
   * The reply to `req` from `client` (its address, checked against `forwardAllow`); FORWARD to hand
   * it to the resolvers (`query` holds it decoded); undefined to drop it. Never throws on bad input.
   */
  answer(req: Buffer, transport: Transport, client = ''): Buffer | typeof FORWARD | undefined {
    const q = this.#q;
    const status = decodeQuery(req, q);
    if (status !== DECODE.OK) {
      if (status === DECODE.NOTIMP) {
        this.count(transport, -1, RCODE.NOTIMP);
        return errorReply(req, q, RCODE.NOTIMP, 0, false);
      }
      this.malformed++;
      if (status === DECODE.DROP) return undefined;
      this.count(transport, -1, RCODE.FORMERR);
      return errorReply(req, q, RCODE.FORMERR, 0, false);
    }
    const qtype = q.qtype;
    if (q.ednsVersion > 0) {
      this.count(transport, qtype, BADVERS);
      return errorReply(req, q, BADVERS, 0, true);
    }
    const ra = this.#forwarding ? FLAG_RA : 0;
    if (!this.#inZone(q)) {
      if (this.#forwarding) {
        if (!this.#forwardAllow || this.#forwardAllow.allows(client)) return FORWARD;
        // Not an open resolver: outside --dns-forward-allow, names outside the zone are REFUSED (no RA either).
        this.forwardRefused++;
      }
      this.count(transport, qtype, RCODE.REFUSED);
      return errorReply(req, q, RCODE.REFUSED, 0, true);
    }
    if ((q.qclass !== CLASS_IN && q.qclass !== CLASS_ANY) || qtype === TYPE.AXFR || qtype === TYPE.IXFR) {
      this.count(transport, qtype, RCODE.REFUSED);
      return errorReply(req, q, RCODE.REFUSED, ra, true);
    }
    if (qtype === TYPE.OPT) {
      this.malformed++;
      this.count(transport, qtype, RCODE.FORMERR);
      return errorReply(req, q, RCODE.FORMERR, ra, true);
    }
    const zone = this.#zone;
    if (!zone) {
      this.count(transport, qtype, RCODE.SERVFAIL);
      return errorReply(req, q, RCODE.SERVFAIL, ra, true);
    }
    const entry = zone.names.get(q.key);
    const limit = transport === UDP ? udpLimit(q) : TCP_LIMIT;
    if (!entry) {
      this.count(transport, qtype, RCODE.NXDOMAIN);
      return this.#write(req, q, zone, undefined, RCODE.NXDOMAIN, ra, limit);
    }
    // ANY over UDP (RFC 8482 §4.1): one RRset, not everything the name has (A, else AAAA, else SRV
    // without its additional section); the apex keeps its SOA and NS. Over TCP, where the source
    // address is proven (RFC 8482 allows a conventional answer there), the whole set.
    const set = qtype === TYPE.ANY && transport === UDP && entry.soa === undefined ? (entry.a ?? entry.aaaa ?? entry.any) : answersFor(entry, qtype);
    this.count(transport, qtype, RCODE.NOERROR);
    return this.#write(req, q, zone, set, RCODE.NOERROR, ra, limit);
  }

  /** Whether the question's name is the domain or below it. */
  #inZone(q: Query): boolean {
    const key = q.key;
    const offset = key.length - this.#domainLength;
    if (offset < 0 || !key.endsWith(this.#domainKey)) return false;
    if (offset === 0) return true;
    for (let i = 0; i < q.labels; i++) if (q.labelStarts[i] === offset) return true;
    return false;
  }

  #write(req: Buffer, q: Query, zone: Zone, set: AnswerSet | undefined, rcode: number, ra: number, limit: number): Buffer {
    const questionEnd = q.questionEnd;
    const opt = q.hasOpt ? OPT_SIZE : 0;
    let soa = set ? 0 : 2 + zone.soaTail.length;
    const count = set ? set.count : 0;
    const answerBytes = set ? set.data.length : 0;
    let additionalBytes = set ? set.additionalBytes : 0;
    let additionalCount = set ? set.additionalCount : 0;
    let size = questionEnd + answerBytes + soa + additionalBytes + opt;
    if (additionalBytes > 0 && (size > limit || size > POINTER_REACH)) {
      size -= additionalBytes;
      additionalBytes = 0;
      additionalCount = 0;
    }
    let bits = FLAG_AA | ra;
    let answers = count;

    // A live zone may have grown an answer set past the scratch space since it was set.
    if (count > this.#perm.length) this.#grow(count);
    // Shuffle the record order (Fisher-Yates): simple load spreading, and a random subset when truncated.
    const perm = this.#perm;
    for (let i = 0; i < count; i++) perm[i] = i;
    for (let i = count - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      const t = perm[i]!;
      perm[i] = perm[j]!;
      perm[j] = t;
    }

    if (size > limit) {
      bits |= FLAG_TC;
      this.truncated++;
      if (set) {
        const room = limit - questionEnd - opt;
        let used = 0;
        answers = 0;
        const offsets = set.offsets;
        while (answers < count) {
          const r = perm[answers]!;
          const length = offsets[r + 1]! - offsets[r]!;
          if (used + length > room) break;
          used += length;
          answers++;
        }
        size = questionEnd + used + opt;
      } else {
        size -= soa;
        soa = 0;
      }
    }

    const out = Buffer.allocUnsafe(size);
    // Header and question written byte by byte: cheaper than the bounds-checked helpers for a few bytes.
    const flags = replyFlags(q, bits, rcode);
    const arcount = additionalCount + (opt > 0 ? 1 : 0);
    out[0] = q.id >>> 8;
    out[1] = q.id & 0xff;
    out[2] = flags >>> 8;
    out[3] = flags & 0xff;
    out[4] = 0;
    out[5] = 1;
    out[6] = answers >>> 8;
    out[7] = answers & 0xff;
    out[8] = 0;
    out[9] = soa > 0 ? 1 : 0;
    out[10] = arcount >>> 8;
    out[11] = arcount & 0xff;
    copyBytes(req, HEADER_SIZE, questionEnd, out, HEADER_SIZE);
    let pos = questionEnd;
    if (set) {
      const { data, offsets, targetOf } = set;
      const blockPos = this.#blockPos;
      const withAdditional = additionalCount > 0 && targetOf !== undefined;
      if (withAdditional) blockPos.fill(-1, 0, set.targets.length);
      for (let k = 0; k < answers; k++) {
        const r = perm[k]!;
        const start = offsets[r]!;
        const end = offsets[r + 1]!;
        if (withAdditional) {
          const block = targetOf[r]!;
          // The SRV target sits 18 bytes into the record: owner(2) type class ttl rdlength(10) priority weight port(6).
          if (block >= 0 && blockPos[block]! < 0) blockPos[block] = pos + 18;
        }
        copyBytes(data, start, end, out, pos);
        pos += end - start;
      }
      if (withAdditional) {
        const targets = set.targets;
        for (let b = 0; b < targets.length; b++) {
          const block = targets[b]!;
          const blockData = block.data;
          copyBytes(blockData, 0, blockData.length, out, pos);
          const pointer = 0xc000 | blockPos[b]!;
          const pointers = block.pointers;
          for (let i = 0; i < pointers.length; i++) {
            const at = pos + pointers[i]!;
            out[at] = pointer >>> 8;
            out[at + 1] = pointer & 0xff;
          }
          pos += blockData.length;
        }
      }
    } else if (soa > 0) {
      // Owner: the apex, as the tail of the question name.
      out.writeUInt16BE(0xc000 | (q.qnameEnd - this.#domainLength), pos);
      zone.soaTail.copy(out, pos + 2);
      pos += soa;
    }
    // Our OPT carries the UDP size we honour for this client (over TCP too, where it does not matter).
    if (opt > 0) writeOpt(out, pos, udpLimit(q), 0, q.dnssecOk);
    return out;
  }
}
