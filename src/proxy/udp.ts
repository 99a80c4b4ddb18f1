/**
 * UDP service ports (marathon-lb never had them: its issue #237). Datagrams are forwarded per
 * client flow: the first datagram from a client `address:port` picks an upstream with the
 * balancer and opens one connected dgram socket to it (udp4 or udp6 by the upstream's address);
 * later datagrams of the flow reuse it, and whatever the upstream sends back on that socket is
 * relayed to the client from the listening socket, so the client sees replies come from the
 * service port it wrote to. A connected socket only receives from its upstream (the kernel
 * filters), so nobody else can inject replies into a flow.
 *
 * An upstream that answers ICMP port unreachable (the flow's connected socket gets ECONNREFUSED)
 * ends its flow and is skipped by new flows for `refusedBackoffMs` (5 s), unless every upstream
 * is skipped; a datagram it sends back clears that at once. An upstream that stops answering
 * gives no signal: its flows expire.
 *
 * Flows expire after `idleTimeoutMs` without a datagram in either direction; one interval timer
 * sweeps them all. `setUpstreams` swaps the upstream list in place: flows to an upstream that left
 * are closed (their client's next datagram opens a new flow elsewhere), the others continue.
 *
 * Each flow counts in its upstream's `active` (unless `trackActive: false`), so `leastconn` and
 * `random` balance flows.
 *
 * Each flow costs a socket (a file descriptor), so besides `maxFlows` per port there is a cap for
 * the whole process, shared by every UdpProxy (`UdpProxy.maxProcessFlows`, default 20_000), and one
 * per client IP address (`maxFlowsPerClient`, default 256); datagrams that would open a flow beyond
 * any of them are dropped and counted. Datagrams from source port 0 (spoofed: they cannot be
 * answered) are dropped and counted on arrival, and every `send` is guarded so that a failing one
 * (thrown or reported later) costs a dropped datagram, never the process.
 *
 * Hot path (a datagram of an existing flow): one map lookup by `address:port`, one timestamp, one
 * `send`. No closure or buffer is allocated per datagram; the received buffer is forwarded as is.
 */
import dgram from 'node:dgram';
import type { AddressInfo } from 'node:net';
import { isIPv6 } from 'node:net';
import type { Balancer, Upstream } from './balancer.ts';

export interface UdpProxyOptions {
  /** Address to listen on, an IPv4 or IPv6 literal (`::` also takes IPv4 where the OS allows). */
  readonly bind: string;
  readonly port: number;
  readonly balancer: Balancer;
  /** Flow expiry, default 30_000 ms. */
  readonly idleTimeoutMs?: number;
  /** Default 10_000; beyond it new flows are dropped and counted. */
  readonly maxFlows?: number;
  /** Flows of one client IP address at once (default 256); beyond it its new flows are dropped and counted. */
  readonly maxFlowsPerClient?: number;
  /**
   * Optional hook for metrics, called (at most once per sweep interval, and on close) when the
   * number of flows or the cumulative count of dropped datagrams changed.
   */
  readonly onStats?: (stats: { flows: number; dropped: number }) => void;
  /** Errors of the listening socket after `listen()` resolved (they do not stop the proxy). */
  readonly onError?: (error: Error) => void;
  /**
   * SO_REUSEPORT: set it when several processes (`--workers`) listen on the same port; the kernel
   * then keeps each client flow on one process. Without it the port is bound exclusively.
   */
  readonly reusePort?: boolean;
  /**
   * Count each flow in its upstream's `active` (default true), so `leastconn`/`random` balance
   * flows. Set false when the Upstream objects are shared with a pool that owns the counter.
   */
  readonly trackActive?: boolean;
  /** How long new flows skip an upstream that refused (ICMP port unreachable), default 5_000 ms. */
  readonly refusedBackoffMs?: number;
}

const DEFAULT_IDLE_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_FLOWS = 10_000;
const DEFAULT_MAX_FLOWS_PER_CLIENT = 256;
const DEFAULT_REFUSED_BACKOFF_MS = 5_000;
/** Datagrams a flow holds while its upstream socket is still connecting; more are dropped. */
const MAX_PENDING = 64;

class Flow {
  readonly key: string;
  readonly clientAddress: string;
  readonly clientPort: number;
  upstream: Upstream;
  readonly socket: dgram.Socket;
  lastSeen: number;
  /** Datagrams received before the upstream socket finished connecting; undefined once connected. */
  pending: Buffer[] | undefined = [];
  closed = false;

  constructor(key: string, clientAddress: string, clientPort: number, upstream: Upstream, socket: dgram.Socket, now: number) {
    this.key = key;
    this.clientAddress = clientAddress;
    this.clientPort = clientPort;
    this.upstream = upstream;
    this.socket = socket;
    this.lastSeen = now;
  }
}

export class UdpProxy {
  /** Flows of all UdpProxy instances of the process at once; beyond it new flows are dropped and counted. */
  static maxProcessFlows = 20_000;
  static #processFlows = 0;

  /** Open flows of every UdpProxy in the process. */
  static get processFlows(): number {
    return UdpProxy.#processFlows;
  }

  readonly #options: UdpProxyOptions;
  /** `HAPROXY_{n}_BALANCE`, replaced when the label changes (setBalancer). */
  #balancer: Balancer;
  readonly #idleTimeoutMs: number;
  readonly #maxFlows: number;
  readonly #maxFlowsPerClient: number;
  /** Open flows by client IP address. */
  readonly #perClient = new Map<string, number>();
  readonly #track: boolean;
  readonly #flows = new Map<string, Flow>();
  #upstreams: readonly Upstream[] = [];
  /** Upstreams that refused (ICMP port unreachable) until this time (ms since the epoch), by key. */
  readonly #refused = new Map<string, number>();
  readonly #refusedBackoffMs: number;
  #socket: dgram.Socket | undefined;
  #sweeper: NodeJS.Timeout | undefined;
  #dropped = 0;
  #reported = { flows: 0, dropped: 0 };
  #closing: Promise<void> | undefined;

  constructor(options: UdpProxyOptions) {
    this.#options = options;
    this.#balancer = options.balancer;
    this.#idleTimeoutMs = Math.max(1, options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS);
    this.#maxFlows = Math.max(0, options.maxFlows ?? DEFAULT_MAX_FLOWS);
    this.#maxFlowsPerClient = Math.max(0, options.maxFlowsPerClient ?? DEFAULT_MAX_FLOWS_PER_CLIENT);
    this.#track = options.trackActive !== false;
    this.#refusedBackoffMs = Math.max(0, options.refusedBackoffMs ?? DEFAULT_REFUSED_BACKOFF_MS);
  }

  /** Bind the listening socket; rejects with the bind error (EADDRINUSE, EACCES, EADDRNOTAVAIL). */
  listen(): Promise<void> {
    if (this.#socket !== undefined || this.#closing !== undefined) return Promise.reject(new Error('UdpProxy.listen() called twice or after close()'));
    const socket = dgram.createSocket({ type: isIPv6(this.#options.bind) ? 'udp6' : 'udp4', reusePort: this.#options.reusePort === true });
    this.#socket = socket;
    return new Promise<void>((resolve, reject) => {
      const onBindError = (error: Error): void => {
        this.#socket = undefined;
        socket.close();
        reject(error);
      };
      socket.once('error', onBindError);
      socket.bind({ address: this.#options.bind, port: this.#options.port, exclusive: true }, () => {
        socket.off('error', onBindError);
        socket.on('error', this.#onListenerError);
        socket.on('message', this.#onClientDatagram);
        const period = Math.min(1000, Math.max(5, Math.floor(this.#idleTimeoutMs / 4)));
        this.#sweeper = setInterval(this.#sweep, period);
        this.#sweeper.unref();
        resolve();
      });
    });
  }

  /** The bound address (after `listen()`), e.g. to learn the port when 0 was asked for. */
  address(): AddressInfo {
    if (this.#socket === undefined) throw new Error('UdpProxy is not listening');
    return this.#socket.address();
  }

  /** New flows pick with `balancer` from now on; live flows keep their upstream. */
  setBalancer(balancer: Balancer): void {
    this.#balancer = balancer;
  }

  /**
   * Replace the upstreams in place: flows to an upstream whose key is gone are closed; flows to an
   * upstream that stays move to the new object (with its `active` count); new flows pick from the
   * new list only.
   */
  setUpstreams(upstreams: readonly Upstream[]): void {
    const next = [...upstreams];
    this.#upstreams = next;
    const byKey = new Map<string, Upstream>();
    for (const upstream of next) byKey.set(upstream.key, upstream);
    for (const key of this.#refused.keys()) if (!byKey.has(key)) this.#refused.delete(key);
    for (const flow of this.#flows.values()) {
      const replacement = byKey.get(flow.upstream.key);
      if (replacement === undefined) {
        this.#closeFlow(flow);
      } else if (replacement !== flow.upstream) {
        if (this.#track) {
          if (flow.upstream.active > 0) flow.upstream.active--;
          replacement.active++;
        }
        flow.upstream = replacement;
      }
    }
  }

  /** Open flows now. */
  get flows(): number {
    return this.#flows.size;
  }

  /**
   * Datagrams dropped since start: no upstream, too many flows (per port, per client IP or in the
   * process), source port 0, a failed send, or a flow still connecting with a full queue.
   */
  get dropped(): number {
    return this.#dropped;
  }

  /** Close every flow and the listening socket; the port is free when this resolves. */
  close(): Promise<void> {
    if (this.#closing !== undefined) return this.#closing;
    if (this.#sweeper !== undefined) clearInterval(this.#sweeper);
    this.#sweeper = undefined;
    for (const flow of this.#flows.values()) this.#closeFlow(flow);
    this.#report();
    const socket = this.#socket;
    this.#socket = undefined;
    this.#closing = socket === undefined
      ? Promise.resolve()
      : new Promise<void>((resolve) => {
        socket.off('message', this.#onClientDatagram);
        socket.close(() => resolve());
      });
    return this.#closing;
  }

  // -- hot path ----------------------------------------------------------------------------------

  /** The listening socket's 'message' handler (public so tests can hand it datagrams no socket can send). */
  handleDatagram(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    this.#onClientDatagram(msg, rinfo);
  }

  readonly #onSendDone = (error: Error | null): void => {
    if (error) this.#dropped++;
  };

  readonly #onClientDatagram = (msg: Buffer, rinfo: dgram.RemoteInfo): void => {
    // Nothing can be sent back to port 0 (send throws ERR_SOCKET_BAD_PORT): a spoofed source.
    if (rinfo.port === 0) {
      this.#dropped++;
      return;
    }
    const key = `${rinfo.address}:${rinfo.port}`;
    let flow = this.#flows.get(key);
    if (flow === undefined) {
      flow = this.#openFlow(key, rinfo.address, rinfo.port);
      if (flow === undefined) {
        this.#dropped++;
        return;
      }
    }
    flow.lastSeen = Date.now();
    const pending = flow.pending;
    if (pending === undefined) {
      this.#sendUpstream(flow, msg);
    } else if (pending.length < MAX_PENDING) {
      pending.push(msg);
    } else {
      this.#dropped++;
    }
  };

  #relayToClient(flow: Flow, msg: Buffer): void {
    const socket = this.#socket;
    if (flow.closed || socket === undefined) return;
    flow.lastSeen = Date.now();
    try {
      socket.send(msg, flow.clientPort, flow.clientAddress, this.#onSendDone);
    } catch {
      this.#dropped++;
    }
  }

  #sendUpstream(flow: Flow, msg: Buffer): void {
    try {
      flow.socket.send(msg, this.#onSendDone);
    } catch {
      this.#dropped++;
    }
  }

  // -- flows -------------------------------------------------------------------------------------

  #openFlow(key: string, clientAddress: string, clientPort: number): Flow | undefined {
    const upstreams = this.#upstreams;
    if (upstreams.length === 0 || this.#flows.size >= this.#maxFlows || UdpProxy.#processFlows >= UdpProxy.maxProcessFlows) return undefined;
    const ofClient = this.#perClient.get(clientAddress) ?? 0;
    if (ofClient >= this.#maxFlowsPerClient) return undefined;
    const upstream = this.#balancer.pick(upstreams, { clientAddress }, this.#skipped(upstreams));
    if (upstream === undefined) return undefined;
    let socket: dgram.Socket;
    try {
      socket = dgram.createSocket(isIPv6(upstream.address) ? 'udp6' : 'udp4');
    } catch {
      return undefined;
    }
    const flow = new Flow(key, clientAddress, clientPort, upstream, socket, Date.now());
    if (this.#track) upstream.active++;
    this.#flows.set(key, flow);
    this.#perClient.set(clientAddress, ofClient + 1);
    UdpProxy.#processFlows++;
    socket.on('message', (msg: Buffer) => {
      if (this.#refused.size > 0) this.#refused.delete(flow.upstream.key);
      if (flow.pending === undefined) this.#relayToClient(flow, msg);
    });
    // ICMP port unreachable (ECONNREFUSED) and the like: end the flow; the client's next datagram
    // opens a new one, through the balancer again, which skips an upstream that refused.
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNREFUSED' && this.#refusedBackoffMs > 0) this.#refused.set(flow.upstream.key, Date.now() + this.#refusedBackoffMs);
      this.#closeFlow(flow);
    });
    socket.connect(upstream.port, upstream.address, (error?: Error) => {
      if (error) {
        this.#closeFlow(flow);
        return;
      }
      const pending = flow.pending;
      flow.pending = undefined;
      if (flow.closed || pending === undefined) return;
      for (const msg of pending) this.#sendUpstream(flow, msg);
    });
    return flow;
  }

  /** Keys new flows skip (upstreams that refused lately), unless that would skip them all. */
  #skipped(upstreams: readonly Upstream[]): ReadonlySet<string> | undefined {
    if (this.#refused.size === 0) return undefined;
    const now = Date.now();
    const skip = new Set<string>();
    for (const [key, until] of this.#refused) {
      if (until <= now) this.#refused.delete(key);
      else skip.add(key);
    }
    if (skip.size === 0) return undefined;
    for (const u of upstreams) if (!skip.has(u.key)) return skip;
    return undefined;
  }

  #closeFlow(flow: Flow): void {
    if (flow.closed) return;
    flow.closed = true;
    flow.pending = undefined;
    if (this.#flows.get(flow.key) === flow) this.#flows.delete(flow.key);
    UdpProxy.#processFlows--;
    const ofClient = (this.#perClient.get(flow.clientAddress) ?? 1) - 1;
    if (ofClient > 0) this.#perClient.set(flow.clientAddress, ofClient);
    else this.#perClient.delete(flow.clientAddress);
    if (this.#track && flow.upstream.active > 0) flow.upstream.active--;
    try {
      flow.socket.close();
    } catch {
      // Already closed (an error during connect can close it first).
    }
  }

  readonly #sweep = (): void => {
    const expired = Date.now() - this.#idleTimeoutMs;
    for (const flow of this.#flows.values()) {
      if (flow.lastSeen <= expired) this.#closeFlow(flow);
    }
    this.#report();
  };

  #report(): void {
    const onStats = this.#options.onStats;
    if (onStats === undefined) return;
    const flows = this.#flows.size;
    const dropped = this.#dropped;
    if (flows === this.#reported.flows && dropped === this.#reported.dropped) return;
    this.#reported = { flows, dropped };
    onStats({ flows, dropped });
  }

  readonly #onListenerError = (error: Error): void => {
    this.#options.onError?.(error);
  };
}
