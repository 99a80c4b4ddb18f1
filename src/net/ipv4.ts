/** A dotted IPv4 address as its 32-bit number (for ordering), without allocating. The input must be a valid IPv4 literal. */
export function ipv4Number(ip: string): number {
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

/** The dotted form of a 32-bit number (the inverse of `ipv4Number`). */
export function ipv4String(n: number): string {
  return `${Math.floor(n / 16777216) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}
