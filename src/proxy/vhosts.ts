/**
 * The shared virtual-host listeners: plain HTTP on `--http-port` and HTTPS on `--https-port`
 * (marathon-lb's `marathon_http_in` and `marathon_https_in`, plus its `marathon_http_appid_in`
 * rule by `X-Marathon-App-Id` on both). Routes are swapped in place when the table changes.
 * The app-id rule only reaches services bound to a wildcard address or to this listener's own
 * address; the service's ACL and basic auth apply on every path (handler.ts).
 */
import { listening } from '../net/listening.ts';
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { ConnectionBudget } from './connection-limits.ts';
import { handleRequest, handleUpgrade, type HttpListenerContext } from './http/handler.ts';
import { hostName } from './http/headers.ts';
import { VhostRouter } from './http/router.ts';
import { httpServerOptions, type HttpServerLimits } from './listener.ts';
import type { ServiceRuntime } from './service.ts';
import { TLS_SERVER_OPTIONS, type CertificateStore } from './tls.ts';

export class VhostListener {
  readonly proto: 'http' | 'https';
  readonly bind: string;
  readonly port: number;
  router: VhostRouter<ServiceRuntime> = new VhostRouter([]);
  /** Accepts, applies the connection limits, then hands the socket to the HTTP(S) server. */
  readonly #front: NetServer;
  readonly #server: HttpServer | HttpsServer;
  readonly #sockets = new Set<Socket>();
  readonly #reusePort: boolean;

  constructor(proto: 'http' | 'https', bind: string, port: number, limits: HttpServerLimits, base: Omit<HttpListenerContext, 'proto' | 'port'>, certs: CertificateStore, budget: ConnectionBudget) {
    this.proto = proto;
    this.bind = bind;
    this.port = port;
    this.#reusePort = limits.reusePort === true;
    const ctx: HttpListenerContext = { ...base, proto, port: String(port) };
    const resolve = (req: IncomingMessage): ServiceRuntime | undefined => {
      const appId = req.headers['x-marathon-app-id'];
      if (typeof appId === 'string') {
        // Only for services reachable on this listener's address anyway: a service bound to
        // another address (`HAPROXY_{n}_BIND_ADDR=127.0.0.1`) must not be reachable through it.
        const rt = this.router.matchAppId(appId);
        if (rt && appIdReachable(rt.service.bindAddress, bind)) return rt;
      }
      const host = req.headers.host ?? (req.socket as TLSSocket).servername;
      return this.router.match(hostName(typeof host === 'string' ? host : undefined), req.url ?? '/');
    };
    const options = httpServerOptions(limits);
    this.#server =
      proto === 'http'
        ? createHttpServer(options, (req, res) => handleRequest(req, res, resolve, ctx))
        : createHttpsServer({ ...options, SNICallback: certs.sniCallback, ...TLS_SERVER_OPTIONS }, (req, res) => handleRequest(req, res, resolve, ctx));
    this.#server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => handleUpgrade(req, socket, head, resolve, ctx));
    this.#server.on('tlsClientError', () => undefined);
    // Node arms its header/request timeouts when a server starts listening; this one never does.
    this.#server.emit('listening');
    const name = this.address;
    this.#front = createNetServer({ pauseOnConnect: true, noDelay: true }, (socket) => {
      if (!budget.admit(socket, name, this.#sockets.size, proto === 'http')) return;
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
      this.#server.emit('connection', socket);
      socket.resume();
    });
  }

  get address(): string {
    return `${this.proto} ${this.bind}:${this.port}`;
  }

  listen(): Promise<void> {
    return listening(this.#front, (done) =>
      this.#front.listen({ host: this.bind, port: this.port, exclusive: true, reusePort: this.#reusePort }, done),
    ).then(() => {
      this.#front.on('error', () => undefined);
    });
  }

  async close(drainMs: number): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#front.close(() => resolve()));
    const deadline = Date.now() + drainMs;
    while (this.#sockets.size > 0 && Date.now() < deadline) {
      this.#server.closeIdleConnections();
      await new Promise((r) => setTimeout(r, 50));
    }
    this.#server.closeAllConnections();
    for (const s of this.#sockets) s.destroy();
    this.#server.close(() => undefined);
    await closed;
  }
}

/** Whether the `X-Marathon-App-Id` rule may reach a service bound to `serviceBind` from a listener on `listenerBind`. */
export function appIdReachable(serviceBind: string, listenerBind: string): boolean {
  return serviceBind === '0.0.0.0' || serviceBind === '::' || serviceBind === listenerBind;
}
