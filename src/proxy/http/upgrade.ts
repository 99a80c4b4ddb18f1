/**
 * HTTP upgrades (WebSocket): the request head is written on a fresh upstream connection and, from
 * then on, bytes are spliced both ways, exactly as in TCP mode (the 101 and every frame pass
 * through untouched). A connect that fails is retried on another backend.
 */
import type { IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { ServiceRuntime } from '../service.ts';
import type { UpstreamState } from '../upstreams.ts';
import type { HttpListenerContext } from './handler.ts';
import { unmapAddress, upgradeRequestHead } from './headers.ts';

export function proxyUpgrade(req: IncomingMessage, client: Duplex, head: Buffer, rt: ServiceRuntime, ctx: HttpListenerContext): void {
  const info = { clientAddress: unmapAddress(req.socket.remoteAddress), proto: ctx.proto, port: ctx.port };
  const requestHead = upgradeRequestHead(req.method ?? 'GET', req.url ?? '/', req.rawHeaders, info);
  const tried = new Set<string>();
  rt.metrics.tcpOpen.inc();
  let counted = true;
  const uncount = () => {
    if (counted) rt.metrics.tcpOpen.dec();
    counted = false;
  };
  client.once('close', uncount);

  const attempt = (n: number): void => {
    if (client.destroyed) return;
    const u: UpstreamState | undefined = rt.upstreams.pick(rt.balancer, { clientAddress: req.socket.remoteAddress }, tried);
    if (!u || n >= ctx.maxAttempts) {
      client.end('HTTP/1.1 503 Service Unavailable\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      return;
    }
    if (n > 0) rt.metrics.retries.inc();
    rt.upstreams.acquire(u);
    let connected = false;
    const upstream: Socket = connect({ host: u.address, port: u.port, noDelay: true });
    u.sockets.add(upstream);
    upstream.setTimeout(ctx.connectTimeoutMs);
    upstream.on('timeout', () => {
      if (!connected) upstream.destroy(Object.assign(new Error('connect timeout'), { code: 'ETIMEDOUT' }));
      else {
        upstream.destroy();
        client.destroy();
      }
    });
    upstream.on('error', (error: NodeJS.ErrnoException) => {
      if (connected) return;
      rt.upstreams.connectFailed(u, error.code ?? error.message);
      tried.add(u.key);
    });
    upstream.once('close', () => {
      u.sockets.delete(upstream);
      rt.upstreams.release(u);
      if (!connected) attempt(n + 1);
      else client.destroy();
    });
    upstream.once('connect', () => {
      connected = true;
      rt.upstreams.connectSucceeded(u);
      upstream.setTimeout(ctx.idleTimeoutMs);
      upstream.write(requestHead);
      if (head.length > 0) upstream.write(head);
      client.pipe(upstream);
      upstream.pipe(client);
      client.once('close', () => upstream.destroy());
    });
  };
  attempt(0);
}
