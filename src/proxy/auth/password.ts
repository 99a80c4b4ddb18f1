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
 * verifications of the same pair share one computation. Failures are cached briefly (a few
 * seconds, a small LRU), and `tryVerify` caps how many hashes run at once (`'busy'` beyond), so
 * a flood of wrong passwords cannot starve the event loop: the slow hashes run on the main thread.
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
  /** Failed verifications remembered for this long (ms); default 0: not cached. */
  readonly failureTtlMs?: number;
  /** Failed verifications remembered at most (LRU); default 1000. */
  readonly failureCacheSize?: number;
  /** Hash computations at once for `tryVerify` (beyond: `'busy'`); default unlimited. */
  readonly maxConcurrent?: number;
}

/** A verifier with its own cache; `verifyPassword` uses a shared one. */
export class PasswordVerifier {
  readonly #cacheSize: number;
  /** Keys of verified (hash, password) pairs, oldest first (a Map keeps insertion order). */
  readonly #cache = new Map<string, true>();
  readonly #inFlight = new Map<string, Promise<boolean>>();
  /** Keys of failed pairs → when the entry expires, oldest first. */
  readonly #failures = new Map<string, number>();
  readonly #failureTtlMs: number;
  readonly #failureCacheSize: number;
  readonly #maxConcurrent: number;
  #hits = 0;
  #computations = 0;

  constructor(options: PasswordVerifierOptions = {}) {
    this.#cacheSize = Math.max(0, Math.floor(options.cacheSize ?? 1000));
    this.#failureTtlMs = Math.max(0, options.failureTtlMs ?? 0);
    this.#failureCacheSize = Math.max(0, Math.floor(options.failureCacheSize ?? 1000));
    this.#maxConcurrent = Math.max(1, options.maxConcurrent ?? Number.POSITIVE_INFINITY);
  }

  /** True when `password` matches `hash`; false for a wrong password or an unsupported or malformed hash. Never rejects. */
  async verify(password: string, hash: string): Promise<boolean> {
    const result = await this.#verify(password, hash, false);
    return result === true;
  }

  /** As `verify`, but `'busy'` (without hashing) when `maxConcurrent` hashes are already running. */
  tryVerify(password: string, hash: string): Promise<boolean | 'busy'> {
    return this.#verify(password, hash, true);
  }

  async #verify(password: string, hash: string, limited: boolean): Promise<boolean | 'busy'> {
    if (typeof password !== 'string' || typeof hash !== 'string') return false;
    const key = `${hash}\n${createHash('sha256').update(password, 'utf8').digest('base64')}`;
    if (this.#cache.delete(key)) {
      this.#cache.set(key, true);
      this.#hits++;
      return true;
    }
    const failedUntil = this.#failures.get(key);
    if (failedUntil !== undefined) {
      if (Date.now() < failedUntil) {
        this.#hits++;
        return false;
      }
      this.#failures.delete(key);
    }
    const pending = this.#inFlight.get(key);
    if (pending !== undefined) return pending;
    if (limited && this.#inFlight.size >= this.#maxConcurrent) return 'busy';
    this.#computations++;
    const promise = computeVerify(password, hash).catch(() => false).then((ok) => {
      this.#inFlight.delete(key);
      if (!ok && this.#failureTtlMs > 0 && this.#failureCacheSize > 0) {
        this.#failures.delete(key);
        this.#failures.set(key, Date.now() + this.#failureTtlMs);
        if (this.#failures.size > this.#failureCacheSize) {
          const oldest = this.#failures.keys().next();
          if (oldest.done !== true) this.#failures.delete(oldest.value);
        }
      }
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
    this.#failures.clear();
  }
}

/** The process's verifier: at most 4 hashes at once, failures remembered for 5 s. */
const shared = new PasswordVerifier({ maxConcurrent: 4, failureTtlMs: 5_000, failureCacheSize: 1000 });

/** `verifyPassword`, but `'busy'` when the process already runs its maximum of password hashes. */
export function tryVerifyPassword(password: string, hash: string): Promise<boolean | 'busy'> {
  return shared.tryVerify(password, hash);
}

/**
 * True when `password` matches `hash` (constant-time comparison of the final crypt strings).
 * False for a wrong password, an unsupported or malformed hash, or a password over
 * `MAX_PASSWORD_BYTES`; never throws.
 */
export function verifyPassword(password: string, hash: string): Promise<boolean> {
  return shared.verify(password, hash);
}
