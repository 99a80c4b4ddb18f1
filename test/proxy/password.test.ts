// Password hashes for HAPROXY_{n}_AUTH: SHA-crypt ($5$/$6$), MD5-crypt ($1$), apr1, bcrypt.
import bcrypt from 'bcryptjs';
import { describe, expect, it } from 'vitest';
import { hashScheme, MAX_PASSWORD_BYTES, PasswordVerifier, verifyPassword } from '../../src/proxy/auth/password.ts';
import { shaCrypt } from '../../src/proxy/auth/sha-crypt.ts';

const utf8 = (s: string): Buffer => Buffer.from(s, 'utf8');

// Ulrich Drepper, "Unix crypt using SHA-256 and SHA-512", test vectors: [setting, password, expected].
const SHA256_VECTORS: [string, string, string][] = [
  ['$5$saltstring', 'Hello world!', '$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5'],
  ['$5$rounds=10000$saltstringsaltstring', 'Hello world!', '$5$rounds=10000$saltstringsaltst$3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA'],
  ['$5$rounds=5000$toolongsaltstring', 'This is just a test', '$5$rounds=5000$toolongsaltstrin$Un/5jzAHMgOGZ5.mWJpuVolil07guHPvOW8mGRcvxa5'],
  ['$5$rounds=1400$anotherlongsaltstring', 'a very much longer text to encrypt.  This one even stretches over morethan one line.',
    '$5$rounds=1400$anotherlongsalts$Rx.j8H.h8HjEDGomFU8bDkXm3XIUnzyxf12oP84Bnq1'],
  ['$5$rounds=77777$short', 'we have a short salt string but not a short password', '$5$rounds=77777$short$JiO1O3ZpDAxGJeaDIuqCoEFysAe1mZNJRs3pw0KQRd/'],
  ['$5$rounds=123456$asaltof16chars..', 'a short string', '$5$rounds=123456$asaltof16chars..$gP3VQ/6X7UUEW3HkBn2w1/Ptq2jxPyzV/cZKmF/wJvD'],
  ['$5$rounds=10$roundstoolow', 'the minimum number is still observed', '$5$rounds=1000$roundstoolow$yfvwcWrQ8l/K0DAWyuPMDNHpIVlTQebY9l/gL972bIC'],
];
const SHA512_VECTORS: [string, string, string][] = [
  ['$6$saltstring', 'Hello world!', '$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1'],
  ['$6$rounds=10000$saltstringsaltstring', 'Hello world!',
    '$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v.'],
  ['$6$rounds=5000$toolongsaltstring', 'This is just a test',
    '$6$rounds=5000$toolongsaltstrin$lQ8jolhgVRVhY4b5pZKaysCLi0QBxGoNeKQzQ3glMhwllF7oGDZxUhx1yxdYcz/e1JSbq3y6JMxxl8audkUEm0'],
  ['$6$rounds=1400$anotherlongsaltstring', 'a very much longer text to encrypt.  This one even stretches over morethan one line.',
    '$6$rounds=1400$anotherlongsalts$POfYwTEok97VWcjxIiSOjiykti.o/pQs.wPvMxQ6Fm7I6IoYN3CmLs66x9t0oSwbtEW7o7UmJEiDwGqd8p4ur1'],
  ['$6$rounds=77777$short', 'we have a short salt string but not a short password',
    '$6$rounds=77777$short$WuQyW2YR.hBNpjjRhpYD/ifIw05xdfeEyQoMxIXbkvr0gge1a1x3yRULJ5CCaUeOxFmtlcGZelFl5CxtgfiAc0'],
  ['$6$rounds=123456$asaltof16chars..', 'a short string',
    '$6$rounds=123456$asaltof16chars..$BtCwjqMJGx5hrJhZywWvt0RLE8uZ4oPwcelCjmw2kSYu.Ec6ycULevoBK25fs2xXgMNrCzIMVcgEJAstJeonj1'],
  ['$6$rounds=10$roundstoolow', 'the minimum number is still observed',
    '$6$rounds=1000$roundstoolow$kUMsbe306n21p9R.FRkW3IGn.S9NPN0x50YhH1xhLsPuWGsUSklZt58jaTfF4ZEQpyUNGc0dqbpBYYBaHHrsX.'],
];

// Generated on this machine with OpenSSL 3.0 (`openssl passwd -6|-5|-1|-apr1 -salt S PASSWORD`), an
// independent implementation: [password, hash].
const OPENSSL_VECTORS: [string, string][] = [
  ['pässwörd', '$6$Zx9.abcdEFGH/123$cnGVwcIKe70S4f8K7GlGR40pXj0AueYDSyqFPU3SVqphHOcskLnr/Q3HTsXawjuaGhAnlJWCvr6D04KHrY4vc1'],
  ['admin', '$5$shortsalt$0.7u8iDWr9J27cFiJAL0eJ7oEwvp2Bj7L6KiK2xW.b.'],
  ['hello world', '$1$saltsalt$Y.W/rxyzbusnDOkxKcE2b/'],
  ['', '$1$ab$rn6aQS/o7141mj179E/zA.'],
  ['a password longer than sixteen bytes, in fact much longer than that', '$1$saltsalt$nlAVOnWUjGvVw2U3MiaDs/'],
  ['p@ss:wörd', '$apr1$abcdefgh$/SKGRkPyeyY1827MFKTzt/'],
  ['marathon-lb', '$apr1$Q3.x/9Zz$atiq5j8lQP.ScrfwnGn0r.'],
];

// bcryptjs.hashSync('s3cret', 4)
const BCRYPT = '$2b$04$S5xdGZ22BkfCj5nz4p9g6eUozGi28TK3qgwYy4eWWX1XPvxH2fMRe';

describe('hashScheme', () => {
  it('recognises the prefixes', () => {
    expect(hashScheme('$6$salt$x')).toBe('sha512-crypt');
    expect(hashScheme('$5$rounds=1000$salt$x')).toBe('sha256-crypt');
    expect(hashScheme('$2a$10$x')).toBe('bcrypt');
    expect(hashScheme('$2b$10$x')).toBe('bcrypt');
    expect(hashScheme('$2y$10$x')).toBe('bcrypt');
    expect(hashScheme('$1$salt$x')).toBe('md5-crypt');
    expect(hashScheme('$apr1$salt$x')).toBe('apr1');
  });
  it('returns undefined for other schemes', () => {
    for (const h of ['', 'abJnggxhB/yWI', '{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=', '$2x$10$x', '$7$x', '$argon2id$v=19$x', 'plain']) {
      expect(hashScheme(h)).toBeUndefined();
    }
  });
});

describe('SHA-crypt (Drepper test vectors)', () => {
  for (const [setting, password, expected] of [...SHA256_VECTORS, ...SHA512_VECTORS]) {
    it(`crypt(${JSON.stringify(password.slice(0, 20))}, ${setting})`, async () => {
      expect(await shaCrypt(utf8(password), setting)).toBe(expected);
      // Verification uses the whole hash as the setting.
      expect(await new PasswordVerifier().verify(password, expected)).toBe(true);
      if (!/rounds=\d{5,}/.test(setting)) expect(await new PasswordVerifier().verify(`${password}x`, expected)).toBe(false);
    });
  }
  it('is undefined for other prefixes', async () => {
    expect(await shaCrypt(utf8('x'), '$1$abc')).toBeUndefined();
  });
});

describe('verifyPassword', () => {
  it('verifies hashes made by OpenSSL ($6$, $5$, $1$, $apr1$), including UTF-8 and empty passwords', async () => {
    for (const [password, hash] of OPENSSL_VECTORS) {
      expect(await verifyPassword(password, hash), hash).toBe(true);
      expect(await verifyPassword(`${password}!`, hash), hash).toBe(false);
      expect(await verifyPassword(password.toUpperCase() === password ? 'nope' : password.toUpperCase(), hash), hash).toBe(false);
    }
  });
  it('verifies bcrypt ($2a$, $2b$, $2y$)', async () => {
    expect(await verifyPassword('s3cret', BCRYPT)).toBe(true);
    expect(await verifyPassword('s3cret', `$2y$${BCRYPT.slice(4)}`)).toBe(true);
    expect(await verifyPassword('s3cret', `$2a$${BCRYPT.slice(4)}`)).toBe(true);
    expect(await verifyPassword('S3cret', BCRYPT)).toBe(false);
    const fresh = bcrypt.hashSync('another one', 4);
    expect(await verifyPassword('another one', fresh)).toBe(true);
    expect(await verifyPassword('another two', fresh)).toBe(false);
  });
  it('is false for unsupported and malformed hashes, without throwing', async () => {
    const bad = [
      '', '$', '$6$', '$6$salt', '$6$salt$', '$6$salt$tooshort', '$5$rounds=abc$salt$x', '$1$', '$apr1$$',
      '$2b$', '$2b$04$short', `$2b$xx$${BCRYPT.slice(7)}`, `$2b$04$${BCRYPT.slice(7, -1)}!`, `${BCRYPT}extra`,
      'abJnggxhB/yWI', '{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=', 'plaintext', '$6$sält$x', '$6$salt$x\n',
    ];
    for (const h of bad) expect(await verifyPassword('password', h), h).toBe(false);
    expect(await verifyPassword('', '')).toBe(false);
    // Wrong types from untyped callers.
    expect(await verifyPassword(undefined as unknown as string, BCRYPT)).toBe(false);
    expect(await verifyPassword('s3cret', null as unknown as string)).toBe(false);
  });
  it('refuses passwords over the length limit without hashing them', async () => {
    const long = 'x'.repeat(MAX_PASSWORD_BYTES + 1);
    const hash = await shaCrypt(utf8(long), '$6$abc');
    expect(hash).toBeDefined();
    expect(await verifyPassword(long, hash!)).toBe(false);
    const limit = 'y'.repeat(MAX_PASSWORD_BYTES);
    expect(await verifyPassword(limit, (await shaCrypt(utf8(limit), '$5$abc'))!)).toBe(true);
  });
});

describe('verification cache', () => {
  it('remembers successes, not failures', async () => {
    const v = new PasswordVerifier();
    const hash = SHA512_VECTORS[0]![2];
    expect(await v.verify('Hello world!', hash)).toBe(true);
    expect(await v.verify('Hello world!', hash)).toBe(true);
    expect(await v.verify('Hello world!', hash)).toBe(true);
    expect(v.stats).toEqual({ hits: 2, computations: 1, cached: 1 });
    expect(await v.verify('wrong', hash)).toBe(false);
    expect(await v.verify('wrong', hash)).toBe(false);
    expect(v.stats).toEqual({ hits: 2, computations: 3, cached: 1 });
    // The same password against another hash is a different entry.
    expect(await v.verify('Hello world!', SHA256_VECTORS[0]![2])).toBe(true);
    expect(v.stats.cached).toBe(2);
  });
  it('shares one computation between concurrent verifications of the same pair', async () => {
    const v = new PasswordVerifier();
    const results = await Promise.all(Array.from({ length: 5 }, () => v.verify('s3cret', BCRYPT)));
    expect(results).toEqual([true, true, true, true, true]);
    expect(v.stats.computations).toBe(1);
  });
  it('evicts the least recently used entry beyond its size', async () => {
    const v = new PasswordVerifier({ cacheSize: 2 });
    const [, pa, ha] = SHA256_VECTORS[0]!;
    const [, pb, hb] = SHA256_VECTORS[2]!;
    const [, pc, hc] = SHA256_VECTORS[6]!;
    await v.verify(pa, ha);
    await v.verify(pb, hb);
    await v.verify(pa, ha); // a is now the most recent
    await v.verify(pc, hc); // evicts b
    expect(v.stats).toEqual({ hits: 1, computations: 3, cached: 2 });
    await v.verify(pa, ha);
    await v.verify(pc, hc);
    expect(v.stats.computations).toBe(3);
    await v.verify(pb, hb);
    expect(v.stats.computations).toBe(4);
  });
  it('a cached success makes repeated bcrypt checks cheap', async () => {
    const v = new PasswordVerifier();
    const hash = bcrypt.hashSync('pw', 8);
    expect(await v.verify('pw', hash)).toBe(true);
    const started = performance.now();
    for (let i = 0; i < 1000; i++) await v.verify('pw', hash);
    expect(performance.now() - started).toBeLessThan(500);
    expect(v.stats.computations).toBe(1);
  });
});

describe('PasswordVerifier under a flood of wrong passwords', () => {
  const HASH = '$5$rounds=5000$toolongsaltstrin$Un/5jzAHMgOGZ5.mWJpuVolil07guHPvOW8mGRcvxa5';

  it('caches failures briefly: the same wrong password is hashed once', async () => {
    const v = new PasswordVerifier({ failureTtlMs: 5_000 });
    expect(await v.verify('wrong', HASH)).toBe(false);
    expect(await v.verify('wrong', HASH)).toBe(false);
    expect(v.stats.computations).toBe(1);
    const uncached = new PasswordVerifier();
    await uncached.verify('wrong', HASH);
    await uncached.verify('wrong', HASH);
    expect(uncached.stats.computations).toBe(2);
  });

  it('caps concurrent hashes: beyond the limit tryVerify answers busy without hashing', async () => {
    const v = new PasswordVerifier({ maxConcurrent: 2 });
    const running = [v.tryVerify('a', HASH), v.tryVerify('b', HASH)];
    expect(await v.tryVerify('c', HASH)).toBe('busy');
    expect(await Promise.all(running)).toEqual([false, false]);
    expect(v.stats.computations).toBe(2);
    expect(await v.tryVerify('c', HASH)).toBe(false);
  });
});
