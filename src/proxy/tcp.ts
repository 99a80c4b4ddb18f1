/**
 * TCP mode (L4): each downstream connection is spliced to one upstream connection, bytes both
 * ways, half-close respected (a client that shuts down its sending side still gets the rest of the
 * answer). A connect that is refused, fails or times out is retried on another backend before the
 * client notices; the client's first bytes wait (the socket is paused) until an upstream is
 * connected. Either side idle for the idle timeout closes both.
 */
import { connect, type Socket } from 'node:net';
import type { ServiceRuntime } from './service.ts';
import type { UpstreamState } from './upstreams.ts';

export interface TcpTimeouts {
  readonly connectTimeoutMs: number;
  readonly idleTimeoutMs: number;
  /** Connect attempts per downstream connection (each to a different backend when there are several). */
  readonly maxAttempts: number;
}

const CONNECT_TIMEOUT = Object.assign(new Error('connect timeout'), { code: 'ETIMEDOUT' });

function noop(): void {}

class TcpSession {
  readonly client: Socket;
  readonly rt: ServiceRuntime;
  readonly timeouts: TcpTimeouts;
  readonly clientAddress: string | undefined;
  tried: Set<string> | undefined;
  attempts = 0;
  upstream: UpstreamState | undefined;
  socket: Socket | undefined;
  connected = false;

  constructor(client: Socket, rt: ServiceRuntime, timeouts: TcpTimeouts) {
    this.client = client;
    this.rt = rt;
    this.timeouts = timeouts;
    this.clientAddress = client.remoteAddress;
    client.on('error', noop);
    client.once('close', this.onClientClose);
  }

  connect(): void {
    if (this.client.destroyed) return;
    const { upstreams } = this.rt;
    const u = upstreams.pick(this.rt.balancer, { clientAddress: this.clientAddress }, this.tried);
    if (!u || this.attempts >= this.timeouts.maxAttempts) {
      this.client.destroy();
      return;
    }
    if (this.attempts > 0) this.rt.metrics.retries.inc();
    this.attempts++;
    this.upstream = u;
    upstreams.acquire(u);
    const socket = connect({ host: u.address, port: u.port, allowHalfOpen: true, noDelay: true });
    this.socket = socket;
    u.sockets.add(socket);
    socket.setTimeout(this.timeouts.connectTimeoutMs);
    socket.on('timeout', this.onTimeout);
    socket.on('error', this.onUpstreamError);
    socket.once('connect', this.onConnect);
    socket.once('close', this.onUpstreamClose);
  }

  readonly onConnect = (): void => {
    const { client, socket, upstream } = this;
    if (!socket || !upstream) return;
    this.connected = true;
    this.rt.upstreams.connectSucceeded(upstream);
    socket.setTimeout(this.timeouts.idleTimeoutMs);
    client.setTimeout(this.timeouts.idleTimeoutMs);
    client.on('timeout', this.onTimeout);
    client.pipe(socket);
    socket.pipe(client);
  };

  readonly onTimeout = (): void => {
    if (!this.connected) this.socket?.destroy(CONNECT_TIMEOUT);
    else {
      this.socket?.destroy();
      this.client.destroy();
    }
  };

  readonly onUpstreamError = (error: NodeJS.ErrnoException): void => {
    if (this.connected || !this.upstream) return;
    this.rt.upstreams.connectFailed(this.upstream, error.code ?? error.message);
    (this.tried ??= new Set()).add(this.upstream.key);
  };

  readonly onUpstreamClose = (hadError: boolean): void => {
    const u = this.upstream;
    const socket = this.socket;
    if (u && socket) {
      u.sockets.delete(socket);
      this.rt.upstreams.release(u);
    }
    if (!this.connected) {
      this.upstream = undefined;
      this.socket = undefined;
      this.connect();
      return;
    }
    if (socket) {
      this.rt.metrics.bytesOut.inc(socket.bytesRead);
      this.rt.metrics.bytesIn.inc(socket.bytesWritten);
    }
    // The upstream is gone: a client that has not finished (or a broken upstream) goes too, once
    // what the upstream sent has been flushed to it.
    const client = this.client;
    if (client.destroyed) return;
    if (hadError) client.destroy();
    else if (!client.readableEnded) {
      if (client.writableFinished) client.destroy();
      else client.once('finish', () => client.destroy());
    }
  };

  readonly onClientClose = (hadError: boolean): void => {
    this.rt.metrics.tcpOpen.dec();
    // The client is gone (closed, reset, or cut by pacer's drain timeout): nothing the upstream
    // sends can be delivered any more.
    const socket = this.socket;
    if (socket && !socket.destroyed && (hadError || !this.connected || !socket.readableEnded || !socket.writableFinished)) socket.destroy();
  };
}

/** Serve one downstream connection of a TCP-mode service. The socket arrives paused. */
export function proxyTcp(client: Socket, rt: ServiceRuntime, timeouts: TcpTimeouts): void {
  if (!rt.allows(client.remoteAddress)) {
    client.destroy();
    return;
  }
  rt.metrics.tcpOpen.inc();
  new TcpSession(client, rt, timeouts).connect();
}
