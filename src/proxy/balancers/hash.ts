/** Small non-cryptographic hashes for the balancers; no allocation. */

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** FNV-1a (32-bit) over the UTF-16 code units of `text[from..]`, as an unsigned integer. */
export function fnv1a32(text: string, from = 0): number {
  let h = FNV_OFFSET;
  for (let i = from; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h ^= c & 0xff;
    h = Math.imul(h, FNV_PRIME);
    if (c > 0xff) {
      h ^= c >>> 8;
      h = Math.imul(h, FNV_PRIME);
    }
  }
  return h >>> 0;
}

/** MurmurHash3's 32-bit finaliser: a bijective avalanche mix. */
export function mix32(value: number): number {
  let h = value | 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
