/**
 * Agent (and leader) host names → IPs, for the records that need an address where Marathon gives a
 * host name. Lookups run in the background (node:dns `lookup`, i.e. the system resolver), never on
 * the query path: until a name has resolved, its records are left out (Mesos-DNS would publish the
 * host name itself as an "A" value, its bug #509). Names in use are looked up again every
 * `refreshMs`; a name the records no longer use is forgotten (`release`, told by the live zone).
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';

export type Resolve = (host: string) => Promise<readonly string[]>;

export interface HostCacheOptions {
  /** Called (at most once per tick) with the names that resolved to a different set of IPs. */
  readonly onChange: (hosts: ReadonlySet<string>) => void;
  readonly refreshMs?: number;
  readonly resolve?: Resolve;
}

interface Entry {
  ips: readonly string[] | undefined;
  pending: boolean;
}

const systemResolve: Resolve = async (host) => {
  const found = await dnsLookup(host, { all: true, verbatim: true });
  return found.map((a) => a.address);
};

export class HostCache {
  readonly #entries = new Map<string, Entry>();
  readonly #options: HostCacheOptions;
  readonly #resolve: Resolve;
  #timer: NodeJS.Timeout | undefined;
  #changed = new Set<string>();
  #closed = false;

  constructor(options: HostCacheOptions) {
    this.#options = options;
    this.#resolve = options.resolve ?? systemResolve;
    this.#timer = setInterval(() => this.#refresh(), options.refreshMs ?? 60_000);
    this.#timer.unref();
  }

  /** IPs of `host` if known; an IP literal is its own answer; otherwise starts a lookup and returns undefined. */
  readonly lookup = (host: string): readonly string[] | undefined => {
    if (host === '' || host === 'unknown') return undefined;
    if (isIP(host) !== 0) return [host];
    let entry = this.#entries.get(host);
    if (!entry) {
      entry = { ips: undefined, pending: false };
      this.#entries.set(host, entry);
      this.#start(host, entry);
    }
    return entry.ips;
  };

  /** Forget a name no record uses any more (asked for again, it is resolved again). */
  release(host: string): void {
    this.#entries.delete(host);
  }

  get size(): number {
    return this.#entries.size;
  }

  #start(host: string, entry: Entry): void {
    if (entry.pending || this.#closed) return;
    entry.pending = true;
    this.#resolve(host).then(
      (ips) => {
        entry.pending = false;
        const valid = ips.filter((ip) => isIP(ip) !== 0);
        if (valid.length === 0) return;
        if (entry.ips && entry.ips.join(',') === valid.join(',')) return;
        entry.ips = valid;
        if (this.#entries.get(host) === entry) this.#change(host);
      },
      () => {
        // Keep the last good answer; a name that never resolved stays without records.
        entry.pending = false;
      },
    );
  }

  #change(host: string): void {
    if (this.#closed) return;
    this.#changed.add(host);
    if (this.#changed.size > 1) return;
    setImmediate(() => {
      const hosts = this.#changed;
      this.#changed = new Set();
      if (!this.#closed) this.#options.onChange(hosts);
    });
  }

  #refresh(): void {
    for (const [host, entry] of this.#entries) this.#start(host, entry);
  }

  close(): void {
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
