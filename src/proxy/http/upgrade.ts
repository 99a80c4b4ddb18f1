/**
 * HTTP upgrades (WebSocket): the request head is written on a fresh upstream connection and the
 * upstream's response head is read and parsed first. Only a `101 Switching Protocols` starts the
 * splice (bytes both ways, exactly as in TCP mode: the 101 and every frame pass through untouched).
 * Any other answer is relayed to the client (its head, then its body: `Content-Length` bytes, or
 * until the backend closes) and both connections are closed: the client's later bytes never reach
 * the backend unrouted. A connect that fails is retried on another backend.
 */
import type { IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { ServiceRuntime } from '../service.ts';
import type { UpstreamState } from '../upstreams.ts';
import type { HttpListenerContext } from './handler.ts';
import { closingResponse, proxypassTarget, unmapAddress, upgradeRequestHead } from './headers.ts';

/** The largest upstream response head accepted. */
const MAX_HEAD = 64 * 1024;
const BAD_GATEWAY = closingResponse(502);

export function proxyUpgrade(req: IncomingMessage, client: Duplex, head: Buffer, rt: ServiceRuntime, ctx: HttpListenerContext): void {
  const info = { clientAddress: unmapAddress(req.socket.remoteAddress), proto: ctx.proto, port: ctx.port };
  const target = proxypassTarget(req.url ?? '/', rt.policy.proxypassPath);
  const requestHead = upgradeRequestHead(req.method ?? 'GET', target, req.rawHeaders, info);
  const tried = new Set<string>();
  rt.metrics.tcpOpen.inc();
  let counted = true;
  let upstream: Socket | undefined;
  const state = { spliced: false };
  // Attached before any connect: a client that goes away also takes the upstream down.
  client.once('close', () => {
    if (counted) rt.metrics.tcpOpen.dec();
    counted = false;
    upstream?.destroy();
  });

  const attempt = (n: number): void => {
    if (client.destroyed) return;
    const u: UpstreamState | undefined = rt.upstreams.pick(rt.balancer, { clientAddress: req.socket.remoteAddress }, tried);
    if (!u || n >= ctx.maxAttempts) {
      client.end(closingResponse(503));
      return;
    }
    if (n > 0) rt.metrics.retries.inc();
    rt.upstreams.acquire(u);
    let connected = false;
    const socket: Socket = connect({ host: u.address, port: u.port, noDelay: true });
    upstream = socket;
    u.sockets.add(socket);
    socket.setTimeout(ctx.connectTimeoutMs);
    socket.on('timeout', () => {
      if (!connected) socket.destroy(Object.assign(new Error('connect timeout'), { code: 'ETIMEDOUT' }));
      else {
        socket.destroy();
        client.destroy();
      }
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (connected) return;
      rt.upstreams.connectFailed(u, error.code ?? error.message);
      tried.add(u.key);
    });
    socket.once('close', () => {
      u.sockets.delete(socket);
      rt.upstreams.release(u);
      if (!connected) attempt(n + 1);
      else if (state.spliced) client.destroy();
      else closeClient(client);
    });
    socket.once('connect', () => {
      connected = true;
      if (client.destroyed) {
        socket.destroy();
        return;
      }
      rt.upstreams.connectSucceeded(u);
      socket.setTimeout(ctx.idleTimeoutMs);
      socket.write(requestHead);
      if (head.length > 0) socket.write(head);
      awaitResponse(socket, client, state);
    });
  };
  attempt(0);
}

/** Read the upstream's response head: splice on 101, otherwise relay the answer and close. */
function awaitResponse(upstream: Socket, client: Duplex, state: { spliced: boolean }): void {
  let buffered: Buffer = Buffer.alloc(0);
  const onData = (chunk: Buffer): void => {
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
    for (;;) {
      const end = buffered.indexOf('\r\n\r\n');
      if (end === -1) {
        if (buffered.length > MAX_HEAD) fail();
        return;
      }
      const headText = buffered.toString('latin1', 0, end);
      const status = /^HTTP\/1\.[01] (\d{3})(?: |\r|$)/.exec(headText);
      if (!status) {
        fail();
        return;
      }
      const code = Number(status[1]);
      if (code >= 100 && code < 200 && code !== 101) {
        // An interim answer (100 Continue, 103 Early Hints): pass it on, read the next head.
        client.write(buffered.subarray(0, end + 4));
        buffered = buffered.subarray(end + 4);
        continue;
      }
      upstream.off('data', onData);
      if (code === 101) {
        state.spliced = true;
        client.write(buffered);
        client.pipe(upstream);
        upstream.pipe(client);
        return;
      }
      relay(upstream, client, buffered, end + 4, headText);
      return;
    }
  };
  const fail = (): void => {
    upstream.off('data', onData);
    upstream.destroy();
    closeClient(client, BAD_GATEWAY);
  };
  upstream.on('data', onData);
}

/** A refused upgrade: the response goes to the client as is, then both sides close. */
function relay(upstream: Socket, client: Duplex, buffered: Buffer, bodyStart: number, headText: string): void {
  const lengthMatch = /\r\ncontent-length:[ \t]*(\d+)[ \t]*(?:\r|$)/i.exec(headText);
  const chunked = /\r\ntransfer-encoding:[^\r]*chunked/i.test(headText);
  const length = lengthMatch && !chunked ? Number(lengthMatch[1]) : -1;
  const finish = (): void => {
    upstream.destroy();
    closeClient(client);
  };
  if (length >= 0) {
    const total = bodyStart + length;
    if (buffered.length >= total) {
      client.write(buffered.subarray(0, total));
      finish();
      return;
    }
    client.write(buffered);
    let remaining = total - buffered.length;
    upstream.on('data', (chunk: Buffer) => {
      if (remaining <= 0) return;
      const part = chunk.length <= remaining ? chunk : chunk.subarray(0, remaining);
      remaining -= part.length;
      client.write(part);
      if (remaining <= 0) finish();
    });
    return;
  }
  // No length: the body runs until the backend closes (the upstream 'close' closes the client).
  client.write(buffered);
  upstream.on('data', (chunk: Buffer) => {
    client.write(chunk);
  });
}

/** End the client's side after what was written is flushed, then close it fully. */
function closeClient(client: Duplex, last?: string): void {
  if (client.destroyed) return;
  if (client.writableEnded) return;
  const done = (): void => {
    client.destroy();
  };
  if (last === undefined) client.end(done);
  else client.end(last, done);
}
