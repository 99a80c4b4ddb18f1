/** The crypt(3) base-64 alphabet and the "b64_from_24bit" encoding used by MD5-crypt and SHA-crypt. */

const ALPHABET = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/**
 * Encode `bytes` by groups of three indices: each triple `[b2, b1, b0, n]` yields `n` characters of
 * `(bytes[b2] << 16) | (bytes[b1] << 8) | bytes[b0]`, least significant six bits first. An index of
 * -1 stands for a zero byte.
 */
export function cryptBase64(bytes: Uint8Array, groups: readonly (readonly [number, number, number, number])[]): string {
  let out = '';
  for (const [b2, b1, b0, n] of groups) {
    let w = ((b2 < 0 ? 0 : bytes[b2]!) << 16) | ((b1 < 0 ? 0 : bytes[b1]!) << 8) | (b0 < 0 ? 0 : bytes[b0]!);
    for (let i = 0; i < n; i++) {
      out += ALPHABET[w & 0x3f]!;
      w >>>= 6;
    }
  }
  return out;
}
