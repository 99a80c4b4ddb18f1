/**
 * The DNS consumer: the UDP listener (dns2's) and pacer's own TCP listener, the Answerer on the
 * query path, the forwarder, the agent-name cache, and the zone kept up to date with every
 * routing-table version.
 *
 * Nothing a client sends may take the process down: datagrams from source port 0 are dropped on
 * arrival, every `send` is guarded (synchronous throws and asynchronous errors are counted), and
 * the forwarding path cannot reject unhandled.
 *
 * DNS over TCP (RFC 1035 §4.2.2, RFC 7766): two-byte length framing, pipelining allowed with at
 * most `maxInFlight` forwarded queries per connection; the connection stops being read while its
 * unsent replies exceed `maxBuffered` bytes (resumed on 'drain'), is destroyed after `idleTimeoutMs`
 * without traffic, and is cut on a message over `maxMessage` bytes; at most `maxConnections` at once.
 *
 * A full build of the zone (the first table, a new framework name) of more than `minTasks` tasks is
 * done in slices of `sliceMs` (setImmediate between them), into a new LiveRecords: the listeners,
 * the proxy and the sync go on meanwhile. Until it is done, the previous zone is served, or, before
 * the first, in-zone queries get SERVFAIL and `/v1` 503. Tables that arrive meanwhile wait: the
 * latest is applied (incrementally) once the build is done.
 */
import type { RemoteInfo } from 'node:dgram';
import { networkInterfaces } from 'node:os';
import { createServer as createNetServer, isIP, type Server as NetServer, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Server } from 'node:http';
import dns2 from 'dns2';
import { AdminRoutes, createAdminServer } from '../admin/server.ts';
import { listening } from '../net/listening.ts';
import type { ConfigValues } from '../config/load.ts';
import { PacerError } from '../errors.ts';
import { formatResolver } from '../config/values.ts';
import type { Consumer } from '../consumer.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics/registry.ts';
import type { RoutingTable } from '../model/routing-table.ts';
import { VERSION } from '../version.ts';
import { Answerer, FORWARD, QTYPE_LABELS, RCODE_LABELS, TCP, TRANSPORT_LABELS, UDP, type Transport } from './answer.ts';
import { Forwarder, FORWARD_TIMEOUT_MS } from './forward.ts';
import { ForwardAllowList } from './forward-allow.ts';
import { HostCache, type Resolve } from './hosts.ts';
import { registerDnsApi, type MesosDnsConfig } from './http-api.ts';
import { LiveRecords, type FullBuild, type LiveUpdate } from './live.ts';
import { SRV_WEIGHT } from './names.ts';
import { SOA_EXPIRE, SOA_REFRESH, SOA_RETRY, type Zone } from './zone.ts';
import { errorReply, FLAG_RA, type Query, RCODE, truncateReply, UDP_MAX, udpLimit } from './wire.ts';

export type DnsOptions = Pick<
  ConfigValues,
  'dnsBind' | 'dnsPort' | 'dnsDomain' | 'dnsTtlSeconds' | 'dnsResolvers' | 'dnsForwardAllow' | 'dnsIpSources' | 'dnsHttpPort'
> &
  Partial<Pick<ConfigValues, 'adminBind' | 'resyncIntervalSeconds' | 'marathonTimeoutSeconds'>>;

export interface DnsContext {
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** For tests: how agent names are resolved (default: the system resolver). */
  readonly resolveHost?: Resolve;
  /** For tests: the forwarding timeout (default 2 s). */
  readonly forwardTimeoutMs?: number;
  /** For tests: the DNS-over-TCP limits (defaults: TCP_LIMITS). */
  readonly tcp?: Partial<TcpLimits>;
}

export interface BuildSlicing {
  /** A full build of more tasks than this is done in slices; a smaller one at once, inside `apply`. */
  readonly minTasks: number;
  /** The work of one slice (it ends at the first unit of work that ends past it: an app of up to 128 tasks, or 512 names). */
  readonly sliceMs: number;
}

/**
 * A first build costs about 30-80 µs per task on the 2-core machine while the code is still cold
 * (25-45 µs once warm): up to 500 tasks at once block the loop for 15-40 ms; more are sliced. A
 * slice of 8 ms leaves the loop the rest (queries, the proxy, the sync).
 */
export const BUILD_SLICING: BuildSlicing = { minTasks: 500, sliceMs: 8 };

export interface TcpLimits {
  /** A connection without traffic in either direction for this long is destroyed. */
  readonly idleTimeoutMs: number;
  /** Queries of one connection being forwarded at once; reading stops at this many. */
  readonly maxInFlight: number;
  /** Unsent reply bytes of one connection above which it is no longer read (until 'drain'). */
  readonly maxBuffered: number;
  /** The largest query accepted; a bigger length prefix ends the connection. */
  readonly maxMessage: number;
  /** Connections at once (beyond it new ones are refused by closing them). */
  readonly maxConnections: number;
}

export const TCP_LIMITS: TcpLimits = {
  idleTimeoutMs: 10_000,
  maxInFlight: 16,
  maxBuffered: 256 * 1024,
  maxMessage: 4_096,
  maxConnections: 4_096,
};

/** Counters of what the listeners dropped or failed to send (also in `pacer_dns_malformed_total` for drops). */
export interface DnsListenerStats {
  /** UDP datagrams dropped on arrival (source port 0). */
  udpDropped: number;
  /** Replies whose send failed (thrown or reported asynchronously). */
  sendErrors: number;
  /** TCP connections cut for a message over the size limit. */
  tcpOversize: number;
  /** Queries for names outside the zone REFUSED because the client is not in --dns-forward-allow. */
  forwardRefused: number;
}

export interface DnsConsumer extends Consumer {
  /** Where the listeners are (UDP and TCP share the port). */
  readonly address: { readonly host: string; readonly port: number };
  /** The separate /v1 listener (`--dns-http-port`), when on. */
  readonly httpUrl: string | undefined;
  readonly zone: () => Zone | undefined;
  /** The UDP listener's 'message' handler (exposed so tests can hand it datagrams no socket can send). */
  readonly handleUdp: (data: Buffer, rinfo: RemoteInfo) => void;
  readonly stats: Readonly<DnsListenerStats>;
  /** Open DNS-over-TCP connections. */
  readonly tcpConnections: () => number;
  /** Reply bytes queued on DNS-over-TCP connections, not yet taken by the kernel. */
  readonly tcpBuffered: () => number;
  /**
   * Resolves once the zone served holds the latest table applied: at once, unless a sliced full
   * build is under way (or starts after it for the tables that came meanwhile).
   */
  readonly ready: () => Promise<void>;
  /** Whether a sliced full build is under way. */
  readonly building: () => boolean;
}

/** A sliced full build under way (see BuildSlicing). */
interface Building {
  readonly live: LiveRecords;
  readonly build: FullBuild;
  /** The table it builds (a newer one is applied once it is done). */
  readonly table: RoutingTable;
  readonly started: number;
  slices: number;
  /** The longest slice, ms. */
  longest: number;
  /** Time spent in slices, ms. */
  busy: number;
  timer: NodeJS.Immediate | undefined;
}

/** How a sliced full build went (logged when it is done). */
interface SlicedBuildStats {
  readonly slices: number;
  readonly longestSliceMs: number;
  readonly busyMs: number;
}

function taskCount(table: RoutingTable): number {
  let n = 0;
  for (const app of table.apps) n += app.tasks.length;
  return n;
}

class UdpListener extends dns2.UDPServer {
  onPacket: (data: Buffer, rinfo: RemoteInfo) => void = () => {};

  override handle(data: Buffer, rinfo: RemoteInfo): void {
    this.onPacket(data, rinfo);
  }
}

const WILDCARD = new Set(['0.0.0.0', '::']);
const EMPTY = Buffer.alloc(0);

/** Addresses for `ns1.<domain>`: the listen address, or every non-internal interface address when listening on all. */
export function nameServerAddresses(bind: string): string[] {
  if (!WILDCARD.has(bind)) return [bind];
  const out: string[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) {
      if (a.internal || (a.family === 'IPv6' && a.address.startsWith('fe80'))) continue;
      if (bind === '0.0.0.0' && a.family !== 'IPv4') continue;
      out.push(a.address);
    }
  }
  return out;
}

export async function startDnsServer(options: DnsOptions, context: DnsContext): Promise<DnsConsumer> {
  const { logger, metrics } = context;
  const log = logger.child({ component: 'dns' });
  const forwarder = new Forwarder({
    resolvers: options.dnsResolvers,
    timeoutMs: context.forwardTimeoutMs ?? FORWARD_TIMEOUT_MS,
    onAttempt: (result) => metrics.dnsForwarded.inc({ result }),
  });
  // Not an open resolver: names outside the zone are forwarded only for clients in --dns-forward-allow.
  const answerer = new Answerer({ domain: options.dnsDomain, forwarding: forwarder.enabled, forwardAllow: new ForwardAllowList(options.dnsForwardAllow) });
  const nsAddresses = nameServerAddresses(options.dnsBind);
  const slicing = BUILD_SLICING;
  let table: RoutingTable | undefined;
  let serial = 0;
  const nextSerial = () => (serial = Math.max(serial + 1, Math.floor(Date.now() / 1000)) >>> 0);
  /** A sliced full build under way, into its own LiveRecords (swapped in when done). */
  let building: Building | undefined;
  let waiters: (() => void)[] = [];
  const settled = () => {
    if (building) return;
    const done = waiters;
    waiters = [];
    for (const resolve of done) resolve();
  };

  /** A new zone (or answers) served: metrics and a log line, at info for a sliced full build (`build`), else at debug. */
  const served = (update: LiveUpdate, trigger: 'table' | 'hosts', seconds: number, build?: SlicedBuildStats) => {
    const zone = live.zone;
    if (answerer.zone !== zone) answerer.setZone(zone);
    metrics.dnsRebuilds.inc({ trigger });
    metrics.dnsRebuildDuration.observe(seconds);
    metrics.dnsRecords.set(zone.recordCount);
    metrics.dnsNames.set(zone.names.size);
    metrics.dnsSerial.set(serial);
    const fields = { version: table?.version, trigger, rebuilt: update.rebuilt, apps: update.apps, encoded: update.names, names: zone.names.size, records: zone.recordCount, serial, ms: Math.round(seconds * 1e4) / 10, ...build };
    if (build) log.info(fields, 'dns zone built');
    else log.debug(fields, 'dns answers updated');
  };

  // The zone is kept up to date with each table (and each agent name that resolves): only the apps
  // and names that changed are redone (live.ts). A big full build is sliced (see BuildSlicing).
  const update = (trigger: 'table' | 'hosts', changedHosts: ReadonlySet<string> = new Set()) => {
    if (!table) return;
    if (building) {
      // The build takes agent names that resolve meanwhile; a newer table waits for it.
      if (trigger === 'table') return;
      building.build.hostsChanged(changedHosts);
    } else if (trigger === 'table' && live.needsBuild(table) && taskCount(table) > slicing.minTasks) {
      startBuild(table);
      return;
    }
    // Before any zone is served there is nothing to update for agent names (a build under way has them).
    if (trigger === 'hosts' && !answerer.zone) return;
    const started = performance.now();
    nextSerial();
    const result = trigger === 'table' ? live.apply(table, serial) : live.hostsChanged(changedHosts, serial);
    served(result, trigger, (performance.now() - started) / 1000);
  };

  const startBuild = (next: RoutingTable) => {
    const records = newLive();
    building = { live: records, build: records.build(next), table: next, started: performance.now(), slices: 0, longest: 0, busy: 0, timer: undefined };
    log.info({ version: next.version, apps: next.apps.length, tasks: taskCount(next), sliceMs: slicing.sliceMs }, 'dns: building the zone in slices');
    building.timer = setImmediate(slice);
  };

  const slice = () => {
    const b = building;
    if (!b) return;
    b.timer = undefined;
    try {
      const started = performance.now();
      const done = b.build.step(started + slicing.sliceMs);
      const ms = performance.now() - started;
      b.slices++;
      b.busy += ms;
      if (ms > b.longest) b.longest = ms;
      if (!done) {
        b.timer = setImmediate(slice);
        return;
      }
      building = undefined;
      nextSerial();
      const result = b.build.finish(serial);
      const old = live;
      live = b.live;
      // The names only the zone served until now used are forgotten.
      for (const host of [...old.hostNames()]) release(host);
      const round = (x: number) => Math.round(x * 10) / 10;
      served(result, 'table', (performance.now() - b.started) / 1000, { slices: b.slices, longestSliceMs: round(b.longest), busyMs: round(b.busy) });
      // The tables that came meanwhile: the latest, as an update of what was just built.
      if (table !== b.table) update('table');
    } catch (error) {
      // A bug (nothing here throws on input): keep serving what is served (or SERVFAIL), and build again with the next table.
      if (building === b) building = undefined;
      log.error({ err: error, version: b.table.version }, 'dns: building the zone failed');
    }
    settled();
  };

  const hosts = new HostCache({ onChange: (changed) => update('hosts', changed), resolve: context.resolveHost });
  // A host is forgotten only when neither the records served nor those being built use it.
  const release = (host: string) => {
    if (!live.usesHost(host) && !building?.live.usesHost(host)) hosts.release(host);
  };
  const newLive = () =>
    new LiveRecords({ domain: options.dnsDomain, ipSources: options.dnsIpSources, nsAddresses, ttl: options.dnsTtlSeconds }, hosts.lookup, release);
  let live = newLive();

  // Metrics from the query path are kept in plain counters and moved to prom-client when scraped.
  const flushQueries = () => {
    const counts = answerer.counts;
    for (let i = 0; i < counts.length; i++) {
      const value = counts[i]!;
      if (value === 0) continue;
      counts[i] = 0;
      const rcode = i % RCODE_LABELS.length;
      const qtype = Math.floor(i / RCODE_LABELS.length) % QTYPE_LABELS.length;
      const transport = Math.floor(i / (RCODE_LABELS.length * QTYPE_LABELS.length));
      metrics.dnsQueries.inc({ qtype: QTYPE_LABELS[qtype]!, rcode: RCODE_LABELS[rcode]!, transport: TRANSPORT_LABELS[transport]! }, value);
    }
  };
  const flushMalformed = () => {
    if (answerer.malformed > 0) metrics.dnsMalformed.inc(answerer.malformed);
    answerer.malformed = 0;
  };
  const flushTruncated = () => {
    if (answerer.truncated > 0) metrics.dnsTruncated.inc(answerer.truncated);
    answerer.truncated = 0;
  };
  Object.assign(metrics.dnsQueries, { collect: flushQueries });
  Object.assign(metrics.dnsMalformed, { collect: flushMalformed });
  Object.assign(metrics.dnsTruncated, { collect: flushTruncated });

  const stats: DnsListenerStats = {
    udpDropped: 0,
    sendErrors: 0,
    tcpOversize: 0,
    get forwardRefused() {
      return answerer.forwardRefused;
    },
  };

  // Forwarded queries: the reply's rcode is counted; UDP replies are cut to the client's size (512
  // without EDNS, at most UDP_MAX with it), so forwarding amplifies no more than a local answer.
  // Neither the forwarder nor `reply` may leave a rejected promise behind. `q` is the query as the
  // Answerer decoded it (reused for the next query): what is needed of it is read before any await.
  const forward = (req: Buffer, q: Readonly<Query>, transport: Transport, reply: (buf: Buffer) => void, done?: () => void) => {
    const copy = Buffer.from(req);
    // The resolver is asked for no more than a UDP client can be given (UDP_MAX): it truncates
    // its own answer rather than pacer cutting a bigger one.
    if (q.hasOpt && q.udpSize > UDP_MAX) copy.writeUInt16BE(UDP_MAX, q.optSizeAt);
    const qtype = q.qtype;
    const limit = udpLimit(q);
    // The reply when every resolver fails, made while `q` still holds this query.
    const servfail = errorReply(req, q, RCODE.SERVFAIL, FLAG_RA, true);
    forwarder
      .forward(copy, transport === TCP, q.questionEnd)
      .catch((error: unknown) => {
        log.error({ err: error }, 'dns forwarding failed');
        return undefined;
      })
      .then((upstream) => {
        try {
          let out = upstream;
          if (out && transport === UDP) out = truncateReply(out, limit);
          if (!out) out = servfail;
          answerer.count(transport, qtype, out.length >= 4 ? out[3]! & 0xf : RCODE.SERVFAIL);
          reply(out);
        } catch (error) {
          log.error({ err: error }, 'dns: replying to a forwarded query failed');
        } finally {
          done?.();
        }
      })
      .catch((error: unknown) => log.error({ err: error }, 'dns: forwarding bookkeeping failed'));
  };

  const udp = new UdpListener({ type: isIP(options.dnsBind) === 6 ? 'udp6' : 'udp4' });
  const onSent = (error: Error | null) => {
    if (error) stats.sendErrors++;
  };
  /** Send a UDP reply; never throws (a bad port, a closed socket, EPERM… are counted). */
  const sendUdp = (out: Buffer, port: number, address: string) => {
    try {
      udp.send(out, port, address, onSent);
    } catch {
      stats.sendErrors++;
    }
  };
  const handleUdp = (data: Buffer, rinfo: RemoteInfo) => {
    // Port 0 cannot be replied to (send throws ERR_SOCKET_BAD_PORT): a spoofed source; drop it.
    if (rinfo.port === 0) {
      stats.udpDropped++;
      answerer.malformed++;
      return;
    }
    let reply: Buffer | typeof FORWARD | undefined;
    try {
      reply = answerer.answer(data, UDP, rinfo.address);
    } catch (error) {
      // A bug, not bad input: answerer never throws on packets. Keep serving.
      log.error({ err: error }, 'dns: answering a UDP query failed');
      return;
    }
    if (reply === undefined) return;
    if (reply === FORWARD) {
      const port = rinfo.port;
      const address = rinfo.address;
      forward(data, answerer.query, UDP, (out) => sendUdp(out, port, address));
      return;
    }
    sendUdp(reply, rinfo.port, rinfo.address);
  };
  udp.onPacket = handleUdp;

  const limits: TcpLimits = { ...TCP_LIMITS, ...context.tcp };
  const sockets = new Set<Socket>();
  const serveTcp = (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => {
      // Resets and the like: the socket closes; nothing to do.
    });
    socket.setNoDelay(true);
    socket.setTimeout(limits.idleTimeoutMs, () => socket.destroy());
    const client = socket.remoteAddress ?? '';
    let buffered: Buffer = EMPTY;
    let inFlight = 0;
    let ended = false;
    const writeReply = (out: Buffer) => {
      if (socket.destroyed || out.length > 0xffff) return;
      const frame = Buffer.allocUnsafe(2 + out.length);
      frame.writeUInt16BE(out.length, 0);
      out.copy(frame, 2);
      try {
        socket.write(frame);
      } catch {
        stats.sendErrors++;
      }
    };
    const pump = () => {
      while (!socket.destroyed) {
        if (inFlight >= limits.maxInFlight || socket.writableLength > limits.maxBuffered) {
          socket.pause();
          return;
        }
        if (buffered.length < 2) break;
        const length = buffered.readUInt16BE(0);
        if (length > limits.maxMessage) {
          stats.tcpOversize++;
          answerer.malformed++;
          socket.destroy();
          return;
        }
        if (buffered.length < 2 + length) break;
        const wire = buffered.subarray(2, 2 + length);
        buffered = buffered.length === 2 + length ? EMPTY : buffered.subarray(2 + length);
        let reply: Buffer | typeof FORWARD | undefined;
        try {
          reply = answerer.answer(wire, TCP, client);
        } catch (error) {
          log.error({ err: error }, 'dns: answering a TCP query failed');
          socket.destroy();
          return;
        }
        if (reply === undefined) {
          socket.destroy();
          return;
        }
        if (reply === FORWARD) {
          inFlight++;
          forward(wire, answerer.query, TCP, writeReply, () => {
            inFlight--;
            pump();
          });
          continue;
        }
        writeReply(reply);
      }
      if (socket.destroyed) return;
      if (ended) {
        // The client is done sending: close once every reply is out (a partial message is dropped).
        if (inFlight === 0) socket.end();
        return;
      }
      socket.resume();
    };
    socket.on('data', (chunk: Buffer) => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      pump();
    });
    socket.on('drain', pump);
    socket.on('end', () => {
      ended = true;
      pump();
    });
  };
  const tcp: NetServer = createNetServer({ allowHalfOpen: true }, serveTcp);
  tcp.maxConnections = limits.maxConnections;

  const where = `${isIP(options.dnsBind) === 6 ? `[${options.dnsBind}]` : options.dnsBind}:${options.dnsPort}`;
  const listenError = (what: string, error: unknown) =>
    new PacerError('PACER_ERR_CONFIG', `--dns-port: cannot listen on ${where} (${what}): ${(error as NodeJS.ErrnoException).code ?? String(error)}`, { cause: error });
  try {
    await listening(udp, (done) => udp.bind(options.dnsPort, options.dnsBind, done));
  } catch (error) {
    hosts.close();
    throw listenError('udp', error);
  }
  try {
    await listening(tcp, (done) => tcp.listen(options.dnsPort, options.dnsBind, done));
  } catch (error) {
    udp.close();
    hosts.close();
    throw listenError('tcp', error);
  }
  udp.on('error', (error: Error) => log.warn({ err: error }, 'dns: UDP socket error'));
  tcp.on('error', (error: Error) => log.warn({ err: error }, 'dns: TCP server error'));

  const config = (): MesosDnsConfig => ({
    RefreshSeconds: options.resyncIntervalSeconds ?? 0,
    Port: options.dnsPort,
    Timeout: FORWARD_TIMEOUT_MS / 1000,
    StateTimeoutSeconds: options.marathonTimeoutSeconds ?? 0,
    ZkDetectionTimeout: 0,
    HttpPort: options.dnsHttpPort,
    TTL: options.dnsTtlSeconds,
    SRVRecordDefaultWeight: SRV_WEIGHT,
    SOASerial: serial,
    SOARefresh: SOA_REFRESH,
    SOARetry: SOA_RETRY,
    SOAExpire: SOA_EXPIRE,
    SOAMinttl: options.dnsTtlSeconds,
    SOAMname: `ns1.${options.dnsDomain}.`,
    SOARname: `root.ns1.${options.dnsDomain}.`,
    Masters: [],
    ZoneResolvers: {},
    Resolvers: options.dnsResolvers.map(formatResolver),
    IPSources: [...options.dnsIpSources],
    Zk: '',
    Domain: options.dnsDomain,
    File: '',
    Listener: options.dnsBind,
    HTTPListener: options.adminBind ?? '',
    RecurseOn: forwarder.enabled,
    DnsOn: true,
    HttpOn: true,
    ExternalOn: forwarder.enabled,
    EnforceRFC952: false,
    SetTruncateBit: true,
    EnumerationOn: true,
    MesosHTTPSOn: false,
    CACertFile: '',
    CertFile: '',
    KeyFile: '',
    MesosAuthentication: '',
  });
  // `/v1` reads the records served: none (503) before the first zone is.
  const apiSource = { records: () => (answerer.zone ? live.records() : undefined), serial: () => serial, config, version: VERSION };

  let http: Server | undefined;
  let httpUrl: string | undefined;
  if (options.dnsHttpPort > 0) {
    const routes = new AdminRoutes();
    registerDnsApi(routes, apiSource);
    http = createAdminServer(routes, log);
    const bind = options.adminBind ?? options.dnsBind;
    try {
      await listening(http, (done) => http?.listen(options.dnsHttpPort, bind, done));
    } catch (error) {
      udp.close();
      tcp.close();
      hosts.close();
      throw new PacerError('PACER_ERR_CONFIG', `--dns-http-port: cannot listen on ${bind}:${options.dnsHttpPort}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, { cause: error });
    }
    httpUrl = `http://${isIP(bind) === 6 ? `[${bind}]` : bind}:${options.dnsHttpPort}`;
  }

  const address = udp.address();
  log.info(
    { bind: address.address, port: address.port, domain: options.dnsDomain, resolvers: options.dnsResolvers.map(formatResolver), http: httpUrl },
    'dns listening',
  );

  let closing: Promise<void> | undefined;
  return {
    name: 'dns',
    address: { host: address.address, port: address.port },
    httpUrl,
    zone: () => answerer.zone,
    handleUdp,
    stats,
    tcpConnections: () => sockets.size,
    tcpBuffered: () => {
      let bytes = 0;
      for (const s of sockets) bytes += s.writableLength;
      return bytes;
    },
    apply(next: RoutingTable) {
      if (next === table && (answerer.zone || building)) return;
      table = next;
      update('table');
    },
    ready: () => (building ? new Promise<void>((resolve) => waiters.push(resolve)) : Promise.resolve()),
    building: () => building !== undefined,
    // A table came and no zone answers yet: every in-zone query gets SERVFAIL until the first
    // (sliced) build is done. A later full build keeps answering from the zone it replaces.
    pending: () => (table !== undefined && !answerer.zone ? 'dns: the first zone is being built; queries get SERVFAIL meanwhile' : undefined),
    registerRoutes(routes: AdminRoutes) {
      registerDnsApi(routes, apiSource);
    },
    close(graceMs: number) {
      closing ??= (async () => {
        if (building?.timer) clearImmediate(building.timer);
        building = undefined;
        settled();
        hosts.close();
        forwarder.close();
        const udpClosed = new Promise<void>((resolve) => udp.close(() => resolve()));
        const tcpClosed = new Promise<void>((resolve) => tcp.close(() => resolve()));
        const httpClosed = http ? new Promise<void>((resolve) => http.close(() => resolve())) : Promise.resolve();
        http?.closeIdleConnections();
        // TCP clients may keep a connection open (pipelining): give them the grace period, then cut.
        const timer = setTimeout(() => {
          for (const s of sockets) s.destroy();
          http?.closeAllConnections();
        }, Math.min(graceMs, 1_000));
        for (const s of sockets) s.end();
        await Promise.all([udpClosed, tcpClosed, httpClosed]);
        clearTimeout(timer);
      })();
      return closing;
    },
  };
}
