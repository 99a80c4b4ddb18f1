/**
 * A service-port listener: one TCP socket bound to `bindAddress:listenPort`, serving whichever
 * service runtime currently owns the port. The runtime is swapped in place on a new table; the
 * mode is read per connection, so a port that turns from tcp to http mode keeps its socket.
 * HTTP-mode connections are handed to an unbound node:http server (`emit('connection')`);
 * `HAPROXY_{n}_SSL_CERT` terminates TLS on the port first, as marathon-lb's `bind … ssl crt`.
 */
import { listening } from '../net/listening.ts';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { TLSSocket, type SecureContext } from 'node:tls';
import type { ConnectionBudget } from './connection-limits.ts';
import { handleRequest, handleUpgrade, type HttpListenerContext } from './http/handler.ts';
import type { ServiceRuntime } from './service.ts';
import { proxyTcp, type TcpTimeouts } from './tcp.ts';
import { TLS_SERVER_OPTIONS } from './tls.ts';
import { hostPort } from '../net/host-port.ts';

export interface HttpServerLimits {
  readonly maxHeaderSize: number;
  readonly requestTimeoutMs: number;
  readonly headersTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
  /** Bind with SO_REUSEPORT (`--workers` > 1: every worker binds the same ports). */
  readonly reusePort?: boolean;
}

export function httpServerOptions(limits: HttpServerLimits) {
  return {
    maxHeaderSize: limits.maxHeaderSize,
    requestTimeout: limits.requestTimeoutMs,
    headersTimeout: limits.headersTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    // Node checks the header and request timeouts on this interval (30 s by default): a slow
    // client would be held that much longer than the limit.
    connectionsCheckingInterval: Math.min(1_000, limits.headersTimeoutMs),
    // The HTTPS vhost listener: a handshake gets the header timeout, not Node's 120 s.
    handshakeTimeout: limits.headersTimeoutMs,
    // Never lenient, whatever NODE_OPTIONS says (--insecure-http-parser accepts CL+TE).
    insecureHTTPParser: false,
    noDelay: true,
    requireHostHeader: false,
  };
}

export class ServiceListener {
  readonly bind: string;
  readonly port: number;
  runtime: ServiceRuntime;
  secureContext: SecureContext | undefined;
  /**
   * The port has `SSL_CERT` but the certificate did not load: connections are refused (closed at
   * once) rather than served in plaintext. Reported as a `certificate` listener problem.
   */
  tlsUnavailable = false;
  readonly #server: Server;
  #http: HttpServer | undefined;
  // What a port without connections does not need is made on first use: a pacer serving 10,000
  // service ports keeps 10,000 of these.
  #sockets: Set<Socket> | undefined;
  readonly #tcp: TcpTimeouts;
  readonly #limits: HttpServerLimits;
  readonly #httpsPort: number;
  #httpCtx: { http: HttpListenerContext; https: HttpListenerContext } | undefined;
  readonly #budget: ConnectionBudget;
  #name: string | undefined;

  constructor(bind: string, port: number, runtime: ServiceRuntime, tcp: TcpTimeouts, limits: HttpServerLimits, httpsPort: number, budget: ConnectionBudget) {
    this.bind = bind;
    this.port = port;
    this.runtime = runtime;
    this.#budget = budget;
    this.#tcp = tcp;
    this.#limits = limits;
    this.#httpsPort = httpsPort;
    this.#server = createServer({ allowHalfOpen: true, pauseOnConnect: true, noDelay: true }, (socket) => this.#onConnection(socket));
  }

  async listen(): Promise<void> {
    await listening(this.#server, (done) =>
      this.#server.listen({ host: this.bind, port: this.port, exclusive: true, reusePort: this.#limits.reusePort === true }, done),
    );
    this.#server.on('error', () => undefined);
  }

  get connections(): number {
    return this.#sockets?.size ?? 0;
  }

  /** Stop accepting; let connections finish for at most `drainMs`, then cut them. */
  async close(drainMs: number, markClosing = true): Promise<void> {
    // A runtime that moved to another listener (its bind address or port changed) is not closing.
    if (markClosing) this.runtime.closing = true;
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    const deadline = Date.now() + drainMs;
    while (this.connections > 0 && Date.now() < deadline) {
      this.#http?.closeIdleConnections();
      await new Promise((r) => setTimeout(r, 50));
    }
    for (const s of this.#sockets ?? []) s.destroy();
    // The unbound http server's connection-check interval (armed by its 'listening') goes too.
    this.#http?.close(() => undefined);
    this.#http = undefined;
    await closed;
  }

  #onConnection(socket: Socket): void {
    const plainHttp = this.runtime.mode === 'http' && this.secureContext === undefined && !this.tlsUnavailable;
    const sockets = (this.#sockets ??= new Set());
    this.#name ??= `tcp ${hostPort(this.bind, this.port)}`;
    if (!this.#budget.admit(socket, this.#name, sockets.size, plainHttp)) return;
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    if (this.tlsUnavailable) {
      socket.destroy();
      return;
    }
    const context = this.secureContext;
    if (!context) {
      this.#dispatch(socket, false);
      return;
    }
    socket.on('error', () => undefined);
    const secure = new TLSSocket(socket, { isServer: true, secureContext: context, ...TLS_SERVER_OPTIONS } as ConstructorParameters<typeof TLSSocket>[1]);
    secure.on('error', () => secure.destroy());
    // A handshake must finish within the header timeout: a client that opens and says nothing
    // (or stalls mid-handshake) does not hold the socket.
    let handshook = false;
    socket.setTimeout(this.#limits.headersTimeoutMs);
    socket.once('timeout', () => {
      if (!handshook) socket.destroy();
    });
    secure.once('secure', () => {
      handshook = true;
      socket.setTimeout(0);
      this.#dispatch(secure, true);
    });
    socket.resume();
  }

  #dispatch(socket: Socket, tls: boolean): void {
    const rt = this.runtime;
    if (rt.mode === 'http') {
      const http = (this.#http ??= this.#createHttp());
      http.emit('connection', socket);
      if (!tls) socket.resume();
      return;
    }
    proxyTcp(socket, rt, this.#tcp);
  }

  #createHttp(): HttpServer {
    const resolve = () => this.runtime;
    const base = { port: String(this.port), httpsPort: this.#httpsPort, maxAttempts: this.#tcp.maxAttempts, connectTimeoutMs: this.#tcp.connectTimeoutMs, idleTimeoutMs: this.#tcp.idleTimeoutMs };
    this.#httpCtx ??= { http: { ...base, proto: 'http' }, https: { ...base, proto: 'https' } };
    const ctx = this.#httpCtx;
    const server = createHttpServer(httpServerOptions(this.#limits), (req, res) => {
      handleRequest(req, res, resolve, (req.socket as TLSSocket).encrypted ? ctx.https : ctx.http);
    });
    server.on('upgrade', (req, socket, head) => {
      handleUpgrade(req, socket, head, resolve, (req.socket as TLSSocket).encrypted ? ctx.https : ctx.http);
    });
    // Node arms its header/request timeouts when a server starts listening; this one never does.
    server.emit('listening');
    return server;
  }
}
