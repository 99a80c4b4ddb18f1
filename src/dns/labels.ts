/**
 * Mesos-DNS's labels and the parts of a task's names (records/labels in Mesos-DNS). Pure, and
 * without imports from the rest of pacer, so that other modules naming things the Mesos-DNS way
 * (src/habitat/dns.ts) can use them without importing the zone builder. Re-exported by names.ts.
 */
import { hash } from 'node:crypto';

function mapChar(code: number): string {
  if (code >= 65 && code <= 90) return String.fromCharCode(code + 32);
  if ((code >= 97 && code <= 122) || (code >= 48 && code <= 57)) return String.fromCharCode(code);
  if (code === 45 || code === 46 || code === 95) return '-';
  return '';
}

function trimLeft(s: string, cut: string): string {
  let i = 0;
  while (i < s.length && cut.includes(s[i]!)) i++;
  return s.slice(i);
}

function trimRight(s: string, cut: string): string {
  let i = s.length;
  while (i > 0 && cut.includes(s[i - 1]!)) i--;
  return s.slice(0, i);
}

function label(name: string, maxLength: number, left: string, right: string): string {
  let mapped = '';
  // Go's bytes.Map works on runes: a non-ASCII character maps to nothing as a whole.
  for (const ch of name) mapped += ch.length === 1 ? mapChar(ch.charCodeAt(0)) : '';
  const trimmed = trimLeft(mapped, left);
  const size = Math.min(trimmed.length, maxLength);
  const head = trimRight(trimmed.slice(0, size), right);
  if (head.length === size) return head;
  const tail = trimLeft(trimmed.slice(size), right);
  return tail.length > 0 ? head + tail.slice(0, Math.min(tail.length, size - head.length)) : head;
}

/**
 * Mesos-DNS's RFC 1123 label (its default, `EnforceRFC952=false`): `A-Z` lower-cased, `a-z0-9` kept,
 * `-`, `.` and `_` become `-`, everything else dropped; leading dashes stripped, cut at 63, trailing
 * dashes stripped, with characters after the cut filling the gap.
 */
export function rfc1123Label(name: string): string {
  return label(name, 63, '-', '-');
}

/** Mesos-DNS's RFC 952 label (`EnforceRFC952=true`): at most 24, no leading digits. Kept for reference and tests. */
export function rfc952Label(name: string): string {
  return label(name, 24, '-0123456789', '-');
}

/** `DomainFrag`: split on `.`, sanitise each part, drop empty parts, join with `.`. */
export function domainFrag(name: string, spec: (s: string) => string = rfc1123Label): string {
  return name
    .split('.')
    .map(spec)
    .filter((l) => l !== '')
    .join('.');
}

/** Marathon's `PathId.toHostname`: `/prod/web` → `web.prod`. */
export function toHostname(appId: string): string {
  return appId
    .split('/')
    .filter((s) => s !== '')
    .reverse()
    .join('.');
}

const ZBASE32 = 'ybndrfg8ejkmcpqxot1uwisza345h769';

/** z-base-32 (Zooko's alphabet, most significant bits first, no padding). */
export function zbase32(bytes: Uint8Array): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = ((buffer << 8) | byte) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      out += ZBASE32[(buffer >> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += ZBASE32[(buffer << (5 - bits)) & 31];
  return out;
}

/**
 * `H`: the first 5 characters of z-base-32(SHA-1(task id)), i.e. the digest's first 25 bits, 5 at
 * a time. Derived once per task (100,000 times in a first build at 10,000 apps × 10 tasks): the
 * one-shot `crypto.hash` to hex and the first 8 hex digits are about 3x cheaper than `createHash`
 * and z-base-32 of the whole digest.
 */
export function taskHash(taskId: string): string {
  const n = Number.parseInt(hash('sha1', taskId, 'hex').slice(0, 8), 16);
  return ZBASE32[n >>> 27]! + ZBASE32[(n >>> 22) & 31]! + ZBASE32[(n >>> 17) & 31]! + ZBASE32[(n >>> 12) & 31]! + ZBASE32[(n >>> 7) & 31]!;
}

/** `S`: the agent id after its last `-`, lower-cased (`…-S1` → `s1`), sanitised as a label. */
export function agentSuffix(agentId: string): string {
  const i = agentId.lastIndexOf('-');
  return rfc1123Label(agentId.slice(i + 1).toLowerCase());
}

/** The framework part `F` (Marathon's `framework_name` through `DomainFrag`; `marathon` when empty). */
export function frameworkLabel(frameworkName: string | undefined): string {
  return domainFrag(frameworkName ?? 'marathon') || 'marathon';
}

/**
 * The canonical task label `T-H-S`. A `T` of 63 characters would make it longer than a DNS label
 * may be (Mesos-DNS then generates names nobody can ask for); pacer shortens `T` in this one label
 * so that the SRV targets of long app names still resolve.
 */
export function canonicalLabel(taskLabel: string, hash: string, suffix: string): string {
  const tail = `-${hash}-${suffix}`;
  const room = 63 - tail.length;
  const head = taskLabel.length > room ? trimRight(taskLabel.slice(0, room), '-') : taskLabel;
  return head + tail;
}

/** Whether a lower-case dotted name (no trailing dot) can be written on the wire: labels of 1-63 of `[a-z0-9_-]`, not starting with `-`. */
export function isEncodableName(name: string): boolean {
  if (name.length === 0 || name.length > 253) return false;
  let labelLength = 0;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c === 46) {
      if (labelLength === 0) return false;
      labelLength = 0;
      continue;
    }
    const ok = (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 95 || (c === 45 && labelLength > 0);
    if (!ok || ++labelLength > 63) return false;
  }
  return labelLength > 0;
}
