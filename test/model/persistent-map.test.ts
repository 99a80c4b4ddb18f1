import { describe, expect, it } from 'vitest';
import { PersistentMap } from '../../src/model/persistent-map.ts';
import { seededRandom } from '../helpers/random.ts';

/** Entries sorted by key: an older version read again may list a key it shares with later ones elsewhere. */
const entries = <V>(m: ReadonlyMap<string, V>) => [...m.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));

describe('PersistentMap', () => {
  it('makes new versions and leaves the old ones as they were', () => {
    const v0 = new PersistentMap(new Map([['a', 1], ['b', 2]]));
    const v1 = v0.with([['b', 20], ['c', 3]]);
    const v2 = v1.with([['a', undefined]]);
    expect(entries(v2)).toEqual([['b', 20], ['c', 3]]);
    expect(entries(v0)).toEqual([['a', 1], ['b', 2]]);
    expect(entries(v1)).toEqual([['a', 1], ['b', 20], ['c', 3]]);
    expect([v0.size, v1.size, v2.size]).toEqual([2, 3, 2]);
    expect(v2.get('a')).toBeUndefined();
    expect(v0.get('c')).toBeUndefined();
    expect(v1.has('c') && !v0.has('c') && !v2.has('a')).toBe(true);
    // Back to the newest after reading old ones.
    expect(entries(v2)).toEqual([['b', 20], ['c', 3]]);
  });

  it('returns itself when nothing changes, and lists keys as an edited copy of a Map would', () => {
    const v0 = new PersistentMap(new Map([['a', 1]]));
    expect(v0.with([['a', 1], ['z', undefined]])).toBe(v0);
    const v1 = v0.with([['b', 2], ['a', 10]]);
    expect([...v1.keys()]).toEqual(['a', 'b']);
    expect([...v1.values()]).toEqual([10, 2]);
    const seen: string[] = [];
    v1.forEach((value, key, map) => {
      expect(map).toBe(v1);
      seen.push(`${key}=${value}`);
    });
    expect(seen).toEqual(['a=10', 'b=2']);
    expect(PersistentMap.of(v1)).toBe(v1);
    const plain = new Map([['x', 1]]);
    const copy = PersistentMap.of(plain);
    plain.set('y', 2);
    expect(entries(copy)).toEqual([['x', 1]]);
  });

  it('branches: two versions made from the same one are independent', () => {
    const base = new PersistentMap(new Map([['a', 1]]));
    const left = base.with([['l', 1]]);
    const right = base.with([['r', 1], ['a', undefined]]);
    expect(entries(left)).toEqual([['a', 1], ['l', 1]]);
    expect(entries(right)).toEqual([['r', 1]]);
    expect(entries(base)).toEqual([['a', 1]]);
    expect(entries(left.with([['l', 2]]))).toEqual([['a', 1], ['l', 2]]);
    expect(entries(right)).toEqual([['r', 1]]);
  });

  it('empty maps start a lineage of their own (a shared empty map is not tied to its users)', () => {
    const empty = new PersistentMap<string, number>();
    const a = empty.with([['a', 1]]);
    const b = empty.with([['b', 1]]);
    expect(entries(a)).toEqual([['a', 1]]);
    expect(entries(b)).toEqual([['b', 1]]);
    expect(empty.size).toBe(0);
    expect(entries(empty)).toEqual([]);
  });

  it('every version reads like a Map edited step by step, over random changes and random reads', () => {
    for (const seed of [1, 2, 3]) {
      const random = seededRandom(seed);
      const versions: PersistentMap<number, number>[] = [new PersistentMap(new Map([[0, 0]]))];
      const expected: Map<number, number>[] = [new Map([[0, 0]])];
      for (let step = 0; step < 400; step++) {
        // Extend the newest version mostly, sometimes an older one.
        const from = random() < 0.8 ? versions.length - 1 : Math.floor(random() * versions.length);
        const changes: [number, number | undefined][] = [];
        const n = 1 + Math.floor(random() * 4);
        for (let i = 0; i < n; i++) changes.push([Math.floor(random() * 30), random() < 0.3 ? undefined : step * 10 + i]);
        const next = versions[from]!.with(changes);
        const reference = new Map(expected[from]);
        for (const [k, v] of changes) {
          if (v === undefined) reference.delete(k);
          else reference.set(k, v);
        }
        versions.push(next);
        expected.push(reference);
        const check = Math.floor(random() * versions.length);
        const version = versions[check]!;
        const want = expected[check]!;
        expect(version.size, `seed ${seed} step ${step}`).toBe(want.size);
        expect(new Map(version), `seed ${seed} step ${step}`).toEqual(want);
        for (let k = 0; k < 30; k++) expect(version.get(k)).toBe(want.get(k));
      }
    }
  });
});
