/**
 * A map with cheap versions, for the snapshot's apps: `with(changes)` makes a new version in
 * O(changes) and leaves the old one as it was, where copying a 10,000-app Map for every event
 * cost more than everything else an event does.
 *
 * All the versions of one lineage share a single Map (Baker's "rerooting" persistent structure):
 * the version that holds it reads it directly; every other version holds the few entries in which
 * it differs from a neighbour version. Reading a version that does not hold the Map first moves
 * the Map to it, undoing and redoing entries along the way, which costs the number of entries in
 * between. The sync engine only ever reads and extends the newest version, so every operation it
 * does is O(1) per entry changed; tests that go back to an older snapshot pay for the walk.
 *
 * Values are never `undefined` (a change to `undefined` deletes the key). Iteration follows the
 * shared Map's order, which for the newest version is what copying the Map and editing the copy
 * would give; an older version brought back may list re-added keys last. Do not read another
 * version of the same lineage while iterating one: that would move the Map under the iterator.
 */

interface Diff<K, V> {
  /** Entries of this version that differ from `next`'s (applied in order; undefined = absent). */
  readonly entries: readonly (readonly [K, V | undefined])[];
  readonly next: PersistentMap<K, V>;
}

export class PersistentMap<K, V> implements ReadonlyMap<K, V> {
  #data: Map<K, V> | Diff<K, V>;
  readonly #size: number;

  /** Takes ownership of `map`: it must not be changed afterwards by anyone else. */
  constructor(map: Map<K, V> = new Map()) {
    this.#data = map;
    this.#size = map.size;
  }

  /** The map itself when it is one already, else a new version holding a copy of it. */
  static of<K, V>(map: ReadonlyMap<K, V>): PersistentMap<K, V> {
    return map instanceof PersistentMap ? (map as PersistentMap<K, V>) : new PersistentMap(new Map(map));
  }

  get size(): number {
    return this.#size;
  }

  /**
   * A new version with `changes` applied in order (`undefined` deletes). Returns this version
   * itself when nothing changes.
   */
  with(changes: Iterable<readonly [K, V | undefined]>): PersistentMap<K, V> {
    if (this.#size === 0) {
      // A new lineage: empty maps (EMPTY_SNAPSHOT's) are shared by unrelated owners.
      const fresh = new Map<K, V>();
      for (const [key, value] of changes) {
        if (value === undefined) fresh.delete(key);
        else fresh.set(key, value);
      }
      return fresh.size === 0 ? this : new PersistentMap(fresh);
    }
    const map = this.#map();
    const undo: (readonly [K, V | undefined])[] = [];
    for (const [key, value] of changes) {
      const before = map.get(key);
      if (before === value) continue;
      undo.push([key, before]);
      if (value === undefined) map.delete(key);
      else map.set(key, value);
    }
    if (undo.length === 0) return this;
    const next = new PersistentMap<K, V>(map);
    this.#data = { entries: undo.reverse(), next };
    return next;
  }

  get(key: K): V | undefined {
    return this.#map().get(key);
  }

  has(key: K): boolean {
    return this.#map().has(key);
  }

  forEach(callback: (value: V, key: K, map: ReadonlyMap<K, V>) => void, thisArg?: unknown): void {
    for (const [key, value] of this.#map()) callback.call(thisArg, value, key, this);
  }

  entries(): MapIterator<[K, V]> {
    return this.#map().entries();
  }

  keys(): MapIterator<K> {
    return this.#map().keys();
  }

  values(): MapIterator<V> {
    return this.#map().values();
  }

  [Symbol.iterator](): MapIterator<[K, V]> {
    return this.#map().entries();
  }

  /** The shared Map, moved to this version first if another one holds it. */
  #map(): Map<K, V> {
    const data = this.#data;
    if (data instanceof Map) return data;
    // The versions between this one and the holder, nearest first.
    const chain: PersistentMap<K, V>[] = [];
    let at: PersistentMap<K, V> = this;
    while (!(at.#data instanceof Map)) {
      chain.push(at);
      at = at.#data.next;
    }
    const map = at.#data;
    // Walk back towards this version, handing the Map over one version at a time.
    for (let i = chain.length - 1; i >= 0; i--) {
      const version = chain[i]!;
      const diff = version.#data as Diff<K, V>;
      const holder = diff.next;
      const undo: (readonly [K, V | undefined])[] = [];
      for (const [key, value] of diff.entries) {
        undo.push([key, map.get(key)]);
        if (value === undefined) map.delete(key);
        else map.set(key, value);
      }
      holder.#data = { entries: undo.reverse(), next: version };
      version.#data = map;
    }
    return map;
  }
}
