/**
 * MD5-crypt (`$1$`, Poul-Henning Kamp's FreeBSD algorithm) and Apache's variant (`$apr1$`, the
 * same algorithm with another magic string), as `openssl passwd -1` / `-apr1` and `htpasswd -m`
 * produce them. `md5Crypt(password, setting)` behaves like crypt(3): the setting may be a whole
 * hash; the salt is cut at `$` or 8 characters.
 */
import { hash } from 'node:crypto';
import { cryptBase64 } from './crypt-base64.ts';

const SALT_MAX = 8;
const GROUPS = [[0, 6, 12, 4], [1, 7, 13, 4], [2, 8, 14, 4], [3, 9, 15, 4], [4, 10, 5, 4], [-1, -1, 11, 2]] as const;

const md5 = (data: Uint8Array): Buffer => hash('md5', data, 'buffer');

export function md5Crypt(password: Uint8Array, setting: string): string | undefined {
  const magic = setting.startsWith('$1$') ? '$1$' : setting.startsWith('$apr1$') ? '$apr1$' : undefined;
  if (magic === undefined) return undefined;
  const rest = setting.slice(magic.length);
  const end = rest.indexOf('$');
  const saltText = (end < 0 ? rest : rest.slice(0, end)).slice(0, SALT_MAX);
  const salt = Buffer.from(saltText, 'utf8');
  const pw = password;

  let final = md5(Buffer.concat([pw, salt, pw]));
  const parts: Uint8Array[] = [pw, Buffer.from(magic, 'latin1'), salt];
  for (let left = pw.length; left > 0; left -= 16) parts.push(final.subarray(0, Math.min(16, left)));
  const zero = new Uint8Array(1);
  const first = pw.subarray(0, 1);
  // "Then something really weird": a zero byte for each set bit, the first password byte otherwise.
  for (let n = pw.length; n > 0; n >>>= 1) parts.push((n & 1) !== 0 ? zero : first);
  final = md5(Buffer.concat(parts));

  const buf = Buffer.allocUnsafe(2 * Math.max(16, pw.length) + salt.length + pw.length);
  for (let i = 0; i < 1000; i++) {
    let len = 0;
    const odd = (i & 1) !== 0;
    if (odd) { buf.set(pw, len); len += pw.length; } else { buf.set(final, len); len += 16; }
    if (i % 3 !== 0) { buf.set(salt, len); len += salt.length; }
    if (i % 7 !== 0) { buf.set(pw, len); len += pw.length; }
    if (odd) { buf.set(final, len); len += 16; } else { buf.set(pw, len); len += pw.length; }
    final = md5(buf.subarray(0, len));
  }
  return `${magic}${saltText}$${cryptBase64(final, GROUPS)}`;
}
