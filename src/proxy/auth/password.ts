/**
 * Password-hash verification for `HAPROXY_{n}_AUTH` (`realm:user:hash`): the crypt(3) formats
 * marathon-lb users put in that label, as HAProxy's `userlist ... password` accepted them.
 *
 * - `$6$` / `$5$` SHA-crypt (`mkpasswd -m sha-512`, `openssl passwd -6`), see `sha-crypt.ts`;
 * - `$2a$` / `$2b$` / `$2y$` bcrypt (`htpasswd -B`), through bcryptjs;
 * - `$1$` MD5-crypt and `$apr1$` (`openssl passwd -1` / `-apr1`, `htpasswd -m`), see `md5-crypt.ts`.
 *
 * Not supported (verification is false): traditional DES crypt (13 characters, no prefix), which
 * HAProxy accepted through the system's crypt(3), plain-text `insecure-password`, `{SHA}` and any
 * other scheme.
 *
 * Successful verifications are cached (LRU keyed by the hash and the SHA-256 of the password), so
 * a client that sends basic auth on every request pays the deliberately slow hash once; concurrent
 * verifications of the same pair share one computation. Failures are not cached.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import bcrypt from 'bcryptjs';
import { md5Crypt } from './md5-crypt.ts';
import { shaCrypt } from './sha-crypt.ts';

export type HashScheme = 'sha512-crypt' | 'sha256-crypt' | 'bcrypt' | 'md5-crypt' | 'apr1';

/** Passwords longer than this (in UTF-8 bytes) are refused without hashing: SHA-crypt's cost grows with the length. */
export const MAX_PASSWORD_BYTES = 1024;

/** The scheme of a hash, by its prefix; undefined for anything else. */
export function hashScheme(hash: string): HashScheme | undefined {
  if (hash.startsWith('$6$')) return 'sha512-crypt';
  if (hash.startsWith('$5$')) return 'sha256-crypt';
  if (hash.startsWith('$2a$') || hash.startsWith('$2b$') || hash.startsWith('$2y$')) return 'bcrypt';
  if (hash.startsWith('$1$')) return 'md5-crypt';
  if (hash.startsWith('$apr1$')) return 'apr1';
  return undefined;
}

/** crypt(3)'s characters: hashes are ASCII; anything else is malformed. */
const HASH_SHAPE = /^[\x21-\x7e]+$/;

function constantTimeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, 'latin1');
  const y = Buffer.from(b, 'latin1');
  return x.length === y.length && timingSafeEqual(x, y);
}

async function computeVerify(password: string, hash: string): Promise<boolean> {
  const scheme = hashScheme(hash);
  if (scheme === undefined || !HASH_SHAPE.test(hash)) return false;
  const pw = Buffer.from(password, 'utf8');
  if (pw.length > MAX_PASSWORD_BYTES) return false;
  switch (scheme) {
    case 'sha512-crypt':
    case 'sha256-crypt': {
      const computed = await shaCrypt(pw, hash);
      return computed !== undefined && constantTimeEqual(computed, hash);
    }
    case 'md5-crypt':
    case 'apr1': {
      const computed = md5Crypt(pw, hash);
      return computed !== undefined && constantTimeEqual(computed, hash);
    }
    case 'bcrypt': {
      // bcryptjs also knows `$2y$` (the same algorithm under PHP's name); normalise it to `$2b$`.
      const normalised = hash.startsWith('$2y$') ? `$2b$${hash.slice(4)}` : hash;
      if (!/^\$2[ab]\$\d\d\$[./A-Za-z0-9]{53}$/.test(normalised)) return false;
      return await bcrypt.compare(password, normalised);
    }
  }
}

export interface PasswordVerifierOptions {
  /** Successful verifications remembered (LRU); default 1000. 0 disables the cache. */
  readonly cacheSize?: number;
}

/** A verifier with its own cache; `verifyPassword` uses a shared one. */
export class PasswordVerifier {
  readonly #cacheSize: number;
  /** Keys of verified (hash, password) pairs, oldest first (a Map keeps insertion order). */
  readonly #cache = new Map<string, true>();
  readonly #inFlight = new Map<string, Promise<boolean>>();
  #hits = 0;
  #computations = 0;

  constructor(options: PasswordVerifierOptions = {}) {
    this.#cacheSize = Math.max(0, Math.floor(options.cacheSize ?? 1000));
  }

  /** True when `password` matches `hash`; false for a wrong password or an unsupported or malformed hash. Never rejects. */
  async verify(password: string, hash: string): Promise<boolean> {
    if (typeof password !== 'string' || typeof hash !== 'string') return false;
    const key = `${hash}\n${createHash('sha256').update(password, 'utf8').digest('base64')}`;
    if (this.#cache.delete(key)) {
      this.#cache.set(key, true);
      this.#hits++;
      return true;
    }
    const pending = this.#inFlight.get(key);
    if (pending !== undefined) return pending;
    this.#computations++;
    const promise = computeVerify(password, hash).catch(() => false).then((ok) => {
      this.#inFlight.delete(key);
      if (ok && this.#cacheSize > 0) {
        this.#cache.set(key, true);
        if (this.#cache.size > this.#cacheSize) {
          const oldest = this.#cache.keys().next();
          if (oldest.done !== true) this.#cache.delete(oldest.value);
        }
      }
      return ok;
    });
    this.#inFlight.set(key, promise);
    return promise;
  }

  /** Counters for tests and metrics: cache hits, full hash computations, entries cached. */
  get stats(): { hits: number; computations: number; cached: number } {
    return { hits: this.#hits, computations: this.#computations, cached: this.#cache.size };
  }

  clear(): void {
    this.#cache.clear();
  }
}

const shared = new PasswordVerifier();

/**
 * True when `password` matches `hash` (constant-time comparison of the final crypt strings).
 * False for a wrong password, an unsupported or malformed hash, or a password over
 * `MAX_PASSWORD_BYTES`; never throws.
 */
export function verifyPassword(password: string, hash: string): Promise<boolean> {
  return shared.verify(password, hash);
}
