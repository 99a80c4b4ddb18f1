/**
 * DNS wire format, written for the hot path: decoding a query into a reusable object without
 * allocating records, encoding names and resource records once per zone build, and walking a
 * foreign reply to cut it down to a size (RFC 1035 §4, RFC 6891 for OPT, RFC 2782 for SRV).
 *
 * Nothing here throws on bad input: decoders report a status instead.
 */

export const TYPE = { A: 1, NS: 2, SOA: 6, AAAA: 28, SRV: 33, OPT: 41, IXFR: 251, AXFR: 252, ANY: 255 } as const;
export const CLASS_IN = 1;
export const CLASS_ANY = 255;
export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
/** Extended rcode 16 (RFC 6891 §9): upper 8 bits go in the OPT TTL. */
export const BADVERS = 16;

export const HEADER_SIZE = 12;
/** RFC 1035's UDP limit without EDNS. */
export const UDP_MIN = 512;
/**
 * The most pacer honours from a client's EDNS UDP size: the DNS Flag Day 2020 value, which fits an
 * IPv6 packet in a 1280-byte MTU without fragmenting. It also caps amplification: no UDP reply is
 * larger than this, whatever the query (a bigger answer is cut with TC, and the client asks over TCP).
 */
export const UDP_MAX = 1232;
/** Labels plus compression pointers followed in one name before it is refused (a 255-byte name has at most 127 labels). */
const MAX_NAME_HOPS = 128;
/**
 * Labels plus pointers followed over all the record names of one query (a normal query has one OPT
 * record, owned by the root: 1). Beyond it the query is FORMERR: a datagram packed with records
 * whose names are long pointer chains costs at most this many steps, not records × MAX_NAME_HOPS.
 */
const MAX_QUERY_HOPS = 1_024;
export const OPT_SIZE = 11;

export const FLAG_QR = 0x8000;
export const FLAG_AA = 0x0400;
export const FLAG_TC = 0x0200;
export const FLAG_RD = 0x0100;
export const FLAG_RA = 0x0080;
export const FLAG_CD = 0x0010;

/** What `decodeQuery` concluded. */
export const DECODE = {
  OK: 0,
  /** Not worth an answer: shorter than a header, or a response (QR=1). */
  DROP: 1,
  FORMERR: 2,
  NOTIMP: 3,
} as const;
export type DecodeStatus = (typeof DECODE)[keyof typeof DECODE];

/** A decoded query. One instance is reused for every packet (nothing here survives an await). */
export class Query {
  id = 0;
  /** The request's flags word. */
  flags = 0;
  opcode = 0;
  /** End of the question name: the name is `buf[12, qnameEnd)`. */
  qnameEnd = HEADER_SIZE;
  /** End of the question (name + type + class). */
  questionEnd = HEADER_SIZE;
  qtype = 0;
  qclass = 0;
  /** The question name in wire format, lower-cased (ASCII only), as a latin1 string: the zone's map key. */
  key = '';
  /** Start offsets of the question's labels (relative to the name), and how many. */
  readonly labelStarts = new Uint16Array(128);
  labels = 0;
  hasOpt = false;
  /** Offset of the OPT record's class field (the UDP size) in the packet, when it has one. */
  optSizeAt = 0;
  /** The requestor's UDP payload size (OPT class), as sent. */
  udpSize = 0;
  ednsVersion = 0;
  dnssecOk = false;
}

const lowerScratch = Buffer.alloc(256);

/**
 * The labels and pointers `skipName` may still follow in one message: each message has its own,
 * passed along (an object, so that `skipName` spends it; it costs nothing measurable in decodeQuery).
 */
interface HopBudget {
  left: number;
}

/**
 * Skip a (possibly compressed) name and check it; returns the offset after it, or -1. A pointer
 * must point before every byte of the name read so far (and past the header): pointers only go
 * backwards, so a name cannot loop, point at itself or forward, or point past the packet. At most
 * MAX_NAME_HOPS labels and pointers (and what is `left` of the message's budget, which it spends),
 * and 255 bytes once expanded.
 */
function skipName(buf: Buffer, pos: number, budget: HopBudget): number {
  let end = -1;
  let floor = pos;
  let length = 1;
  for (let hops = 0; hops < MAX_NAME_HOPS; hops++) {
    if (--budget.left < 0 || pos >= buf.length) return -1;
    const len = buf[pos]!;
    if (len === 0) return end < 0 ? pos + 1 : end;
    if ((len & 0xc0) === 0xc0) {
      if (pos + 2 > buf.length) return -1;
      const target = ((len & 0x3f) << 8) | buf[pos + 1]!;
      if (target < HEADER_SIZE || target >= floor) return -1;
      if (end < 0) end = pos + 2;
      pos = floor = target;
      continue;
    }
    if ((len & 0xc0) !== 0) return -1;
    length += 1 + len;
    if (length > 255) return -1;
    pos += 1 + len;
  }
  return -1;
}

/**
 * Decode a query into `q`. Only the header, the one question and an OPT record are read; other
 * records are skipped after their framing and names are checked (FORMERR on a compression-pointer
 * loop, a pointer forward or past the packet, a label over 63, a name over 255 bytes). On
 * FORMERR/NOTIMP, `q.id`, `q.flags` and `q.opcode` are set (enough for an error reply) and
 * `q.questionEnd` is 12 unless the question was read.
 */
export function decodeQuery(buf: Buffer, q: Query): DecodeStatus {
  const n = buf.length;
  if (n < HEADER_SIZE) return DECODE.DROP;
  const flags = (buf[2]! << 8) | buf[3]!;
  if ((flags & FLAG_QR) !== 0) return DECODE.DROP;
  q.id = (buf[0]! << 8) | buf[1]!;
  q.flags = flags;
  q.opcode = (flags >> 11) & 0xf;
  q.qnameEnd = HEADER_SIZE;
  q.questionEnd = HEADER_SIZE;
  q.hasOpt = false;
  q.optSizeAt = 0;
  q.udpSize = 0;
  q.ednsVersion = 0;
  q.dnssecOk = false;
  q.labels = 0;
  if (q.opcode !== 0) return DECODE.NOTIMP;
  const qdcount = (buf[4]! << 8) | buf[5]!;
  if (qdcount !== 1) return DECODE.FORMERR;

  // The question name: plain labels only (a pointer could only point into the header).
  let pos = HEADER_SIZE;
  let upper = false;
  for (;;) {
    if (pos >= n) return DECODE.FORMERR;
    const len = buf[pos]!;
    if (len === 0) {
      pos++;
      break;
    }
    if (len > 63) return DECODE.FORMERR;
    if (pos + 1 + len > n || pos + 1 + len - HEADER_SIZE >= 255) return DECODE.FORMERR;
    q.labelStarts[q.labels++] = pos - HEADER_SIZE;
    for (let i = pos + 1; i <= pos + len; i++) {
      const c = buf[i]!;
      if (c >= 65 && c <= 90) upper = true;
    }
    pos += 1 + len;
  }
  if (pos + 4 > n) return DECODE.FORMERR;
  q.qnameEnd = pos;
  q.qtype = (buf[pos]! << 8) | buf[pos + 1]!;
  q.qclass = (buf[pos + 2]! << 8) | buf[pos + 3]!;
  pos += 4;
  q.questionEnd = pos;

  if (upper) {
    const len = q.qnameEnd - HEADER_SIZE;
    for (let i = 0; i < len; i++) {
      const c = buf[HEADER_SIZE + i]!;
      lowerScratch[i] = c >= 65 && c <= 90 ? c + 32 : c;
    }
    q.key = lowerScratch.toString('latin1', 0, len);
  } else {
    q.key = buf.toString('latin1', HEADER_SIZE, q.qnameEnd);
  }

  // A query carries no answer records, and authority records only for IXFR (RFC 1995); as NSD does,
  // anything else is FORMERR. The records it has are walked (framing and names checked, within
  // MAX_QUERY_HOPS), and an OPT is looked for in the additional section.
  const answerCount = (buf[6]! << 8) | buf[7]!;
  const authorityCount = (buf[8]! << 8) | buf[9]!;
  if (answerCount !== 0 || (authorityCount !== 0 && q.qtype !== TYPE.IXFR)) return DECODE.FORMERR;
  const records = authorityCount;
  const additional = (buf[10]! << 8) | buf[11]!;
  const budget: HopBudget = { left: MAX_QUERY_HOPS };
  for (let i = 0; i < records + additional; i++) {
    const start = pos;
    pos = skipName(buf, pos, budget);
    if (pos < 0 || pos + 10 > n) return DECODE.FORMERR;
    const type = (buf[pos]! << 8) | buf[pos + 1]!;
    const rdlen = (buf[pos + 8]! << 8) | buf[pos + 9]!;
    if (pos + 10 + rdlen > n) return DECODE.FORMERR;
    if (type === TYPE.OPT) {
      // RFC 6891 §6.1.1: one OPT, owned by the root, in the additional section.
      if (i < records || q.hasOpt || buf[start] !== 0) return DECODE.FORMERR;
      q.hasOpt = true;
      q.optSizeAt = pos + 2;
      q.udpSize = (buf[pos + 2]! << 8) | buf[pos + 3]!;
      q.ednsVersion = buf[pos + 5]!;
      q.dnssecOk = (buf[pos + 6]! & 0x80) !== 0;
    }
    pos += 10 + rdlen;
  }
  return DECODE.OK;
}

/** The UDP reply size a query allows: 512, or its EDNS size (at least 512, at most UDP_MAX = 1232). */
export function udpLimit(q: Query): number {
  if (!q.hasOpt) return UDP_MIN;
  return q.udpSize < UDP_MIN ? UDP_MIN : q.udpSize > UDP_MAX ? UDP_MAX : q.udpSize;
}

/** Flags of a reply to `q`: QR, the opcode, RD and CD copied, plus the given bits and rcode. */
export function replyFlags(q: Query, bits: number, rcode: number): number {
  return FLAG_QR | (q.opcode << 11) | (q.flags & (FLAG_RD | FLAG_CD)) | bits | (rcode & 0xf);
}

/** Write an OPT record at `pos` (root owner, our size, extended rcode, version 0, DO copied, no options). */
export function writeOpt(out: Buffer, pos: number, size: number, extendedRcode: number, dnssecOk: boolean): number {
  out[pos] = 0;
  out.writeUInt16BE(TYPE.OPT, pos + 1);
  out.writeUInt16BE(size, pos + 3);
  out[pos + 5] = extendedRcode;
  out[pos + 6] = 0;
  out[pos + 7] = dnssecOk ? 0x80 : 0;
  out[pos + 8] = 0;
  out.writeUInt16BE(0, pos + 9);
  return pos + OPT_SIZE;
}

/**
 * A reply carrying only the header, the question (when it was read) and OPT (when the query had
 * one): errors, REFUSED, SERVFAIL, BADVERS.
 */
export function errorReply(req: Buffer, q: Query, rcode: number, bits: number, withQuestion: boolean): Buffer {
  const questionLength = withQuestion ? q.questionEnd - HEADER_SIZE : 0;
  const opt = withQuestion && q.hasOpt;
  const out = Buffer.allocUnsafe(HEADER_SIZE + questionLength + (opt ? OPT_SIZE : 0));
  out.writeUInt16BE(q.id, 0);
  out.writeUInt16BE(replyFlags(q, bits, rcode), 2);
  out.writeUInt16BE(withQuestion ? 1 : 0, 4);
  out.writeUInt32BE(0, 6);
  out.writeUInt16BE(opt ? 1 : 0, 10);
  if (questionLength > 0) req.copy(out, HEADER_SIZE, HEADER_SIZE, q.questionEnd);
  if (opt) writeOpt(out, HEADER_SIZE + questionLength, udpLimit(q), rcode >> 4, q.dnssecOk);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Encoding (once per zone build)

/** Wire form of a dotted name (no trailing dot; '' is the root). Undefined when a label is empty or too long. */
export function encodeName(name: string): Buffer | undefined {
  const labels = name === '' ? [] : name.split('.');
  let size = 1;
  for (const l of labels) {
    if (l.length === 0 || l.length > 63) return undefined;
    size += 1 + Buffer.byteLength(l, 'latin1');
  }
  if (size > 255) return undefined;
  const out = Buffer.allocUnsafe(size);
  let pos = 0;
  for (const l of labels) {
    out[pos++] = l.length;
    pos += out.write(l, pos, 'latin1');
  }
  out[pos] = 0;
  return out;
}

/** The map key of a name: its lower-cased wire form as a latin1 string (what `decodeQuery` puts in `q.key`). */
export function nameKey(name: string): string | undefined {
  return encodeName(name.toLowerCase())?.toString('latin1');
}

/** `type class ttl rdlength rdata`: a resource record without its owner. */
export function recordTail(type: number, ttl: number, rdata: Buffer): Buffer {
  const out = Buffer.allocUnsafe(10 + rdata.length);
  out.writeUInt16BE(type, 0);
  out.writeUInt16BE(CLASS_IN, 2);
  out.writeUInt32BE(ttl >>> 0, 4);
  out.writeUInt16BE(rdata.length, 8);
  rdata.copy(out, 10);
  return out;
}

/** A resource record whose owner is a compression pointer (to the question name when `pointer` is 12). */
export function pointerRecord(pointer: number, type: number, ttl: number, rdata: Buffer): Buffer {
  const out = Buffer.allocUnsafe(12 + rdata.length);
  out.writeUInt16BE(0xc000 | pointer, 0);
  out.writeUInt16BE(type, 2);
  out.writeUInt16BE(CLASS_IN, 4);
  out.writeUInt32BE(ttl >>> 0, 6);
  out.writeUInt16BE(rdata.length, 10);
  rdata.copy(out, 12);
  return out;
}

export function ipv4Rdata(ip: string): Buffer {
  const out = Buffer.allocUnsafe(4);
  const parts = ip.split('.');
  for (let i = 0; i < 4; i++) out[i] = Number(parts[i]);
  return out;
}

export function ipv6Rdata(ip: string): Buffer {
  const out = Buffer.alloc(16);
  let text = ip;
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two hex groups.
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = [v4[1], v4[2], v4[3], v4[4]].map(Number) as [number, number, number, number];
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? h : [...h, ...new Array<string>(8 - h.length - t.length).fill('0'), ...t];
  for (let i = 0; i < 8; i++) out.writeUInt16BE(parseInt(groups[i] ?? '0', 16) & 0xffff, i * 2);
  return out;
}

/** SRV rdata with the target written out in full: RFC 2782 forbids compressing it. */
export function srvRdata(priority: number, weight: number, port: number, target: Buffer): Buffer {
  const out = Buffer.allocUnsafe(6 + target.length);
  out.writeUInt16BE(priority, 0);
  out.writeUInt16BE(weight, 2);
  out.writeUInt16BE(port, 4);
  target.copy(out, 6);
  return out;
}

export function soaRdata(mname: Buffer, rname: Buffer, serial: number, refresh: number, retry: number, expire: number, minimum: number): Buffer {
  const out = Buffer.allocUnsafe(mname.length + rname.length + 20);
  mname.copy(out, 0);
  rname.copy(out, mname.length);
  let pos = mname.length + rname.length;
  for (const v of [serial, refresh, retry, expire, minimum]) {
    out.writeUInt32BE(v >>> 0, pos);
    pos += 4;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Foreign replies (forwarding)

/**
 * Cut an upstream reply down to `limit` bytes for a UDP client: keep the header, the question and
 * the longest run of whole records that fits (an OPT record is kept when it fits), set TC when
 * records were dropped. Pointers only point backwards, so a prefix stays valid. Undefined when the
 * reply cannot be walked.
 */
export function truncateReply(reply: Buffer, limit: number): Buffer | undefined {
  if (reply.length <= limit) return reply;
  if (reply.length < HEADER_SIZE) return undefined;
  const counts = [reply.readUInt16BE(4), reply.readUInt16BE(6), reply.readUInt16BE(8), reply.readUInt16BE(10)] as [number, number, number, number];
  // A reply of up to 64 KiB: names are checked, but the hop budget is the message's size.
  const budget: HopBudget = { left: reply.length };
  let pos = HEADER_SIZE;
  for (let i = 0; i < counts[0]; i++) {
    pos = skipName(reply, pos, budget);
    if (pos < 0 || pos + 4 > reply.length) return undefined;
    pos += 4;
  }
  const questionEnd = pos;
  if (questionEnd > limit) return undefined;
  const kept = [0, 0, 0];
  let keptEnd = questionEnd;
  let opt: Buffer | undefined;
  let full = true;
  for (let section = 1; section <= 3; section++) {
    for (let i = 0; i < counts[section as 1 | 2 | 3]; i++) {
      const start = pos;
      pos = skipName(reply, pos, budget);
      if (pos < 0 || pos + 10 > reply.length) return undefined;
      const type = reply.readUInt16BE(pos);
      const end = pos + 10 + reply.readUInt16BE(pos + 8);
      if (end > reply.length) return undefined;
      pos = end;
      if (section === 3 && type === TYPE.OPT) {
        opt = reply.subarray(start, end);
        continue;
      }
      const room = limit - (opt ? opt.length : OPT_SIZE);
      if (full && end - start + keptEnd <= room) {
        // Contiguous only: once a record is dropped, everything after it goes too.
        if (start === keptEnd) {
          kept[section - 1]!++;
          keptEnd = end;
          continue;
        }
      }
      full = false;
    }
  }
  const optLength = opt && keptEnd + opt.length <= limit ? opt.length : 0;
  const out = Buffer.allocUnsafe(keptEnd + optLength);
  reply.copy(out, 0, 0, keptEnd);
  if (opt && optLength > 0) opt.copy(out, keptEnd);
  out.writeUInt16BE(kept[0]!, 6);
  out.writeUInt16BE(kept[1]!, 8);
  out.writeUInt16BE(kept[2]! + (optLength > 0 ? 1 : 0), 10);
  // Dropping answers (or authority data) needs TC; RFC 2181 §9 lets additional data go silently.
  const droppedNeeded = kept[0]! < counts[1] || kept[1]! < counts[2];
  if (droppedNeeded) out[2] = out[2]! | (FLAG_TC >> 8);
  return out;
}
