/**
 * SHA-crypt, `$5$` (SHA-256) and `$6$` (SHA-512), implemented from Ulrich Drepper's specification
 * "Unix crypt using SHA-256 and SHA-512" (the algorithm glibc's crypt(3) and `mkpasswd -m sha-512`
 * use). `shaCrypt(password, setting)` behaves like glibc's `crypt(password, setting)` for these two
 * prefixes: the setting may be a whole hash; the salt is cut at `$` or 16 characters; `rounds=N$`
 * (default 5000, clamped to 1000..999,999,999) is echoed when given.
 *
 * The rounds loop yields to the event loop every `YIELD_EVERY` rounds so that a verification never
 * holds the proxy's thread for long.
 */
import { hash } from 'node:crypto';
import { setImmediate as tick } from 'node:timers/promises';
import { cryptBase64 } from './crypt-base64.ts';

export type ShaAlgorithm = 'sha256' | 'sha512';

export const ROUNDS_DEFAULT = 5000;
export const ROUNDS_MIN = 1000;
export const ROUNDS_MAX = 999_999_999;
const SALT_MAX = 16;
const YIELD_EVERY = 1000;

const GROUPS_256 = [
  [0, 10, 20, 4], [21, 1, 11, 4], [12, 22, 2, 4], [3, 13, 23, 4], [24, 4, 14, 4],
  [15, 25, 5, 4], [6, 16, 26, 4], [27, 7, 17, 4], [18, 28, 8, 4], [9, 19, 29, 4],
  [-1, 31, 30, 3],
] as const;

const GROUPS_512 = [
  [0, 21, 42, 4], [22, 43, 1, 4], [44, 2, 23, 4], [3, 24, 45, 4], [25, 46, 4, 4],
  [47, 5, 26, 4], [6, 27, 48, 4], [28, 49, 7, 4], [50, 8, 29, 4], [9, 30, 51, 4],
  [31, 52, 10, 4], [53, 11, 32, 4], [12, 33, 54, 4], [34, 55, 13, 4], [56, 14, 35, 4],
  [15, 36, 57, 4], [37, 58, 16, 4], [59, 17, 38, 4], [18, 39, 60, 4], [40, 61, 19, 4],
  [62, 20, 41, 4], [-1, -1, 63, 2],
] as const;

function digest(algorithm: ShaAlgorithm, data: Uint8Array): Buffer {
  return hash(algorithm, data, 'buffer');
}

/** `length` bytes made of `source` repeated. */
function repeatTo(source: Uint8Array, length: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  for (let at = 0; at < length; at += source.length) out.set(source.subarray(0, Math.min(source.length, length - at)), at);
  return out;
}

export interface ShaSetting {
  readonly algorithm: ShaAlgorithm;
  readonly prefix: '$5$' | '$6$';
  readonly rounds: number;
  readonly roundsCustom: boolean;
  readonly salt: string;
}

/** Parse the setting part of a `$5$`/`$6$` hash as glibc does; undefined when the prefix is not one of them. */
export function parseShaSetting(setting: string): ShaSetting | undefined {
  const prefix = setting.startsWith('$5$') ? '$5$' : setting.startsWith('$6$') ? '$6$' : undefined;
  if (prefix === undefined) return undefined;
  let rest = setting.slice(3);
  let rounds = ROUNDS_DEFAULT;
  let roundsCustom = false;
  const match = /^rounds=(\d+)\$/.exec(rest);
  if (match) {
    rounds = Math.min(ROUNDS_MAX, Math.max(ROUNDS_MIN, Number(match[1])));
    roundsCustom = true;
    rest = rest.slice(match[0].length);
  }
  const end = rest.indexOf('$');
  const salt = (end < 0 ? rest : rest.slice(0, end)).slice(0, SALT_MAX);
  return { algorithm: prefix === '$5$' ? 'sha256' : 'sha512', prefix, rounds, roundsCustom, salt };
}

/** crypt(3) for `$5$`/`$6$` settings; undefined for any other setting. */
export async function shaCrypt(password: Uint8Array, setting: string): Promise<string | undefined> {
  const parsed = parseShaSetting(setting);
  if (parsed === undefined) return undefined;
  const { algorithm, rounds, salt: saltText } = parsed;
  const pw = password;
  const salt = Buffer.from(saltText, 'utf8');
  const size = algorithm === 'sha256' ? 32 : 64;

  // Digest B = H(password salt password).
  const b = digest(algorithm, Buffer.concat([pw, salt, pw]));

  // Digest A = H(password salt B-repeated-to-|password| (one bit of |password| at a time: B or password)).
  const aParts: Uint8Array[] = [pw, salt, repeatTo(b, pw.length)];
  for (let n = pw.length; n > 0; n >>>= 1) aParts.push((n & 1) !== 0 ? b : pw);
  const a = digest(algorithm, Buffer.concat(aParts));

  // P: H(password repeated |password| times), repeated to |password| bytes.
  const dp = digest(algorithm, repeatTo(pw, pw.length * pw.length));
  const p = repeatTo(dp, pw.length);

  // S: H(salt repeated 16 + A[0] times), repeated to |salt| bytes.
  const ds = digest(algorithm, repeatTo(salt, salt.length * (16 + a[0]!)));
  const s = repeatTo(ds, salt.length);

  // The rounds: one reusable input buffer, large enough for the longest round input.
  const buf = Buffer.allocUnsafe(2 * Math.max(size, p.length) + s.length + p.length);
  let c: Buffer = a;
  for (let i = 0; i < rounds; i++) {
    let len = 0;
    const odd = (i & 1) !== 0;
    if (odd) { buf.set(p, len); len += p.length; } else { buf.set(c, len); len += size; }
    if (i % 3 !== 0) { buf.set(s, len); len += s.length; }
    if (i % 7 !== 0) { buf.set(p, len); len += p.length; }
    if (odd) { buf.set(c, len); len += size; } else { buf.set(p, len); len += p.length; }
    c = digest(algorithm, buf.subarray(0, len));
    if (i % YIELD_EVERY === YIELD_EVERY - 1 && i + 1 < rounds) await tick();
  }

  const encoded = cryptBase64(c, algorithm === 'sha256' ? GROUPS_256 : GROUPS_512);
  return `${parsed.prefix}${parsed.roundsCustom ? `rounds=${rounds}$` : ''}${saltText}$${encoded}`;
}
