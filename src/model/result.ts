/** The outcome of decoding untrusted input: a value, or a reason that names what was wrong. */
export type Result<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

export function ok<T>(value: T): Result<T> {
  return { ok: true, value };
}

export function fail<T = never>(error: string): Result<T> {
  return { ok: false, error };
}

/**
 * A short, bounded rendering of a bad value for an error message. Never `JSON.stringify` of
 * untrusted input: a deeply nested value overflows the stack (a throw out of the decoder), and a
 * 1 MB string would become a 1 MB log line.
 */
export function show(v: unknown): string {
  if (v === undefined) return 'undefined';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === null) return String(v);
  return Array.isArray(v) ? 'an array' : `a ${typeof v}`;
}
