/**
 * Agent (and leader) host names → IPs, for the records that need an address where Marathon gives a
 * host name. Lookups run in the background (node:dns `lookup`, i.e. the system resolver), never on
 * the query path: until a name has resolved, its records are left out (Mesos-DNS would publish the
 * host name itself as an "A" value, its bug #509). Names in use are looked up again every
 * `refreshMs`; a name the last zone build did not ask for is forgotten (`sweep`).
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';

export type Resolve = (host: string) => Promise<readonly string[]>;

export interface HostCacheOptions {
  /** Called (at most once per tick) when a name resolved to a different set of IPs. */
  readonly onChange: () => void;
  readonly refreshMs?: number;
  readonly resolve?: Resolve;
}

interface Entry {
  ips: readonly string[] | undefined;
  pending: boolean;
  /** The build generation that last asked for it. */
  generation: number;
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
  #changeScheduled = false;
  #closed = false;
  #generation = 0;

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
      entry = { ips: undefined, pending: false, generation: this.#generation };
      this.#entries.set(host, entry);
      this.#start(host, entry);
    }
    entry.generation = this.#generation;
    return entry.ips;
  };

  /** Before a zone build: lookups from here on mark their names as in use. */
  beginBuild(): void {
    this.#generation++;
  }

  /** After a zone build: forget the names it did not ask for. */
  sweep(): void {
    for (const [host, entry] of this.#entries) if (entry.generation !== this.#generation) this.#entries.delete(host);
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
        const changed = !entry.ips || entry.ips.join(',') !== valid.join(',');
        entry.ips = valid;
        if (changed) this.#changed();
      },
      () => {
        // Keep the last good answer; a name that never resolved stays without records.
        entry.pending = false;
      },
    );
  }

  #changed(): void {
    if (this.#changeScheduled || this.#closed) return;
    this.#changeScheduled = true;
    setImmediate(() => {
      this.#changeScheduled = false;
      if (!this.#closed) this.#options.onChange();
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
