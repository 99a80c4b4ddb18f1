// Load-balancing algorithms: round robin, least connections, source hashing, power of two choices.
import { describe, expect, it } from 'vitest';
import type { Upstream } from '../../src/proxy/balancer.ts';
import { createBalancer, parseBalance, RandomBalancer } from '../../src/proxy/balancers/index.ts';

const up = (name: string, active = 0): Upstream => ({ key: `${name}@10.0.0.1:${name.length}`, address: '10.0.0.1', port: 1000, active });
const list = (...names: string[]): Upstream[] => names.map((n) => up(n));
const ctx = { clientAddress: '192.0.2.7' };
const none = { clientAddress: undefined };

function counts(picks: (Upstream | undefined)[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of picks) { const k = p?.key ?? 'none'; out[k] = (out[k] ?? 0) + 1; }
  return out;
}

describe('parseBalance', () => {
  it('accepts the algorithms pacer implements, case-insensitively', () => {
    expect(parseBalance('roundrobin')).toBe('roundrobin');
    expect(parseBalance(' LeastConn ')).toBe('leastconn');
    expect(parseBalance('source')).toBe('source');
    expect(parseBalance('random')).toBe('random');
    expect(parseBalance('random(2)')).toBe('random');
    expect(parseBalance('static-rr')).toBe('roundrobin');
  });
  it('returns undefined for what it does not implement', () => {
    for (const v of ['first', 'uri', 'url_param userid', 'hdr(host)', 'rdp-cookie', 'random(3)', '', 'round-robin']) {
      expect(parseBalance(v)).toBeUndefined();
    }
  });
});

describe('every algorithm', () => {
  for (const algorithm of ['roundrobin', 'leastconn', 'source', 'random'] as const) {
    it(`${algorithm}: honours exclude and returns undefined when everything is excluded`, () => {
      const b = createBalancer(algorithm);
      const ups = list('a', 'b', 'c');
      const ex = new Set([ups[0]!.key, ups[2]!.key]);
      for (let i = 0; i < 20; i++) {
        expect(b.pick(ups, ctx, ex)).toBe(ups[1]);
        expect(b.pick(ups, { clientAddress: `10.1.0.${i}` }, ex)).toBe(ups[1]);
      }
      expect(b.pick(ups, ctx, new Set(ups.map((u) => u.key)))).toBeUndefined();
      expect(b.pick([], ctx)).toBeUndefined();
    });
    it(`${algorithm}: only ever returns members of the list`, () => {
      const b = createBalancer(algorithm);
      const ups = list('a', 'b', 'c', 'd');
      for (let i = 0; i < 200; i++) expect(ups).toContain(b.pick(ups, { clientAddress: `10.2.${i}.1` }));
    });
  }
});

describe('roundrobin', () => {
  it('cycles through the upstreams', () => {
    const b = createBalancer('roundrobin');
    const ups = list('a', 'b', 'c');
    const picks = Array.from({ length: 9 }, () => b.pick(ups, none));
    expect(picks).toEqual([...ups, ...ups, ...ups]);
  });
  it('skips excluded upstreams and keeps rotating', () => {
    const b = createBalancer('roundrobin');
    const ups = list('a', 'b', 'c');
    const ex = new Set([ups[1]!.key]);
    const picks = Array.from({ length: 4 }, () => b.pick(ups, none, ex));
    expect(picks).toEqual([ups[0], ups[2], ups[0], ups[2]]);
  });
  it('stays fair when the list changes on every pick', () => {
    const b = createBalancer('roundrobin');
    const a = list('a', 'b', 'c', 'd');
    const picks: (Upstream | undefined)[] = [];
    // A fresh array each time (as after every table version) with the same members.
    for (let i = 0; i < 400; i++) picks.push(b.pick([...a], none));
    expect(Object.values(counts(picks))).toEqual([100, 100, 100, 100]);
    // A list that grows and shrinks: every member still gets traffic, not just the first one.
    const seen = new Set<string>();
    for (let i = 0; i < 60; i++) {
      const size = 2 + (i % 3);
      const p = b.pick(a.slice(0, size), none);
      if (p) seen.add(p.key);
    }
    expect(seen.size).toBe(4);
  });
});

describe('leastconn', () => {
  it('picks the upstream with the fewest active', () => {
    const b = createBalancer('leastconn');
    const ups = [up('a', 5), up('b', 2), up('c', 9)];
    for (let i = 0; i < 5; i++) expect(b.pick(ups, none)).toBe(ups[1]);
  });
  it('breaks ties round-robin', () => {
    const b = createBalancer('leastconn');
    const ups = [up('a', 1), up('b', 1), up('c', 4), up('d', 1)];
    const picks = Array.from({ length: 6 }, () => b.pick(ups, none));
    expect(picks).toEqual([ups[0], ups[1], ups[3], ups[0], ups[1], ups[3]]);
  });
  it('follows the counts as the proxy updates them', () => {
    const b = createBalancer('leastconn');
    const ups = list('a', 'b', 'c');
    for (let i = 0; i < 30; i++) b.pick(ups, none)!.active++;
    expect(ups.map((u) => u.active)).toEqual([10, 10, 10]);
    ups[2]!.active = 0;
    expect(b.pick(ups, none)).toBe(ups[2]);
  });
  it('skips an excluded least-loaded upstream', () => {
    const b = createBalancer('leastconn');
    const ups = [up('a', 5), up('b', 0), up('c', 3)];
    expect(b.pick(ups, none, new Set([ups[1]!.key]))).toBe(ups[2]);
  });
});

describe('source', () => {
  const clients = Array.from({ length: 2000 }, (_, i) => `10.${(i >> 8) & 255}.${i & 255}.${(i * 7) & 255}`);

  it('sends a client to the same upstream every time, whatever the list order', () => {
    const b = createBalancer('source');
    const ups = list('a', 'b', 'c', 'd', 'e');
    const reversed = [...ups].reverse();
    for (const c of clients.slice(0, 200)) {
      const first = b.pick(ups, { clientAddress: c });
      expect(b.pick(ups, { clientAddress: c })).toBe(first);
      expect(b.pick(reversed, { clientAddress: c })).toBe(first);
    }
  });
  it('spreads clients over the upstreams', () => {
    const b = createBalancer('source');
    const ups = list('a', 'b', 'c', 'd');
    const c = counts(clients.map((addr) => b.pick(ups, { clientAddress: addr })));
    expect(Object.keys(c)).toHaveLength(4);
    for (const n of Object.values(c)) expect(n).toBeGreaterThan(2000 / 4 * 0.8);
  });
  it('removing upstream X moves only the clients that were on X', () => {
    const b = createBalancer('source');
    const ups = list('a', 'b', 'c', 'd', 'e');
    const before = clients.map((addr) => b.pick(ups, { clientAddress: addr })!.key);
    const removed = ups[2]!.key;
    const after = clients.map((addr) => b.pick(ups.filter((u) => u.key !== removed), { clientAddress: addr })!.key);
    let moved = 0;
    for (let i = 0; i < clients.length; i++) {
      if (before[i] === removed) { moved++; expect(after[i]).not.toBe(removed); } else expect(after[i]).toBe(before[i]);
    }
    expect(moved).toBeGreaterThan(0);
  });
  it('adding an upstream moves clients only onto the new one', () => {
    const b = createBalancer('source');
    const ups = list('a', 'b', 'c');
    const before = clients.map((addr) => b.pick(ups, { clientAddress: addr })!.key);
    const added = up('newcomer');
    // New Upstream objects with the same keys (a new table version) hash the same.
    const next = [...ups.map((u) => ({ ...u })), added];
    const after = clients.map((addr) => b.pick(next, { clientAddress: addr })!.key);
    let moved = 0;
    for (let i = 0; i < clients.length; i++) {
      if (after[i] !== before[i]) { moved++; expect(after[i]).toBe(added.key); }
    }
    expect(moved).toBeGreaterThan(2000 / 4 * 0.7);
  });
  it('an excluded upstream sends the client to its second choice, consistently', () => {
    const b = createBalancer('source');
    const ups = list('a', 'b', 'c', 'd');
    for (const c of clients.slice(0, 50)) {
      const first = b.pick(ups, { clientAddress: c })!;
      const second = b.pick(ups, { clientAddress: c }, new Set([first.key]));
      expect(second).toBeDefined();
      expect(second).not.toBe(first);
      expect(b.pick(ups, { clientAddress: c }, new Set([first.key]))).toBe(second);
    }
  });
  it('hashes an IPv4-mapped IPv6 address like the IPv4 address', () => {
    const b = createBalancer('source');
    const ups = list('a', 'b', 'c', 'd', 'e', 'f');
    for (const c of clients.slice(0, 50)) {
      expect(b.pick(ups, { clientAddress: `::ffff:${c}` })).toBe(b.pick(ups, { clientAddress: c }));
    }
  });
  it('without a client address falls back to round robin', () => {
    const b = createBalancer('source');
    const ups = list('a', 'b', 'c');
    expect(Array.from({ length: 3 }, () => b.pick(ups, none))).toEqual(ups);
  });
});

describe('random (power of two choices)', () => {
  it('of the two drawn, takes the less loaded', () => {
    const draws = [0.0, 0.99]; // first draw index 0, second the last of the remaining
    let i = 0;
    const b = new RandomBalancer(() => draws[i++ % draws.length]!);
    const ups = [up('a', 7), up('b', 0), up('c', 3)];
    expect(b.pick(ups, none)).toBe(ups[2]);
  });
  it('never draws the same upstream twice, so a lone heavy one loses', () => {
    const b = createBalancer('random');
    const ups = [up('a', 100), up('b', 0)];
    for (let i = 0; i < 50; i++) expect(b.pick(ups, none)).toBe(ups[1]);
  });
  it('keeps active counts close together as traffic flows', () => {
    const b = createBalancer('random');
    const ups = list('a', 'b', 'c', 'd', 'e');
    for (let i = 0; i < 1000; i++) b.pick(ups, none)!.active++;
    const actives = ups.map((u) => u.active);
    expect(Math.max(...actives) - Math.min(...actives)).toBeLessThanOrEqual(10);
  });
  it('with one eligible upstream, picks it', () => {
    const b = createBalancer('random');
    const ups = list('a', 'b', 'c');
    expect(b.pick(ups, none, new Set([ups[0]!.key, ups[1]!.key]))).toBe(ups[2]);
    expect(b.pick([ups[0]!], none)).toBe(ups[0]);
  });
});
