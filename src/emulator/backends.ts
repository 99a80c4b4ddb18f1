// Local servers that stand in for a task's processes: HTTP, TCP echo and UDP echo, each naming its task.
import dgram from 'node:dgram';
import http from 'node:http';
import net from 'node:net';
import type { BackendKind } from './types.ts';

export interface PortPlan {
  protocol: string; // 'tcp' | 'udp' | 'udp,tcp'
  bindHost: string;
  /** 0 = ephemeral. */
  port: number;
}

export interface BackendHandle {
  /** Actual port of each plan entry, in order. */
  ports: number[];
  close(): Promise<void>;
}

interface Closable { close(): Promise<void> }

function listenTcp(server: net.Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => { reject(err); };
    server.once('error', onError);
    server.listen({ host, port, exclusive: true }, () => {
      server.off('error', onError);
      const addr = server.address();
      resolve(typeof addr === 'object' && addr !== null ? addr.port : port);
    });
  });
}

function bindUdp(sock: dgram.Socket, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => { reject(err); };
    sock.once('error', onError);
    sock.bind({ address: host, port, exclusive: true }, () => {
      sock.off('error', onError);
      resolve(sock.address().port);
    });
  });
}

function trackedTcpServer(handler: (sock: net.Socket) => void): { server: net.Server; closable: Closable } {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => { /* client went away */ });
    handler(sock);
  });
  return {
    server,
    closable: {
      close: () => new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        if (!server.listening) { resolve(); return; }
        server.close(() => resolve());
      }),
    },
  };
}

function httpServer(taskId: () => string, port: () => number): { server: net.Server; closable: Closable } {
  const server = http.createServer((req, res) => {
    req.resume();
    const body = `${taskId()}\n`;
    res.writeHead(200, {
      'Content-Type': 'text/plain; charset=utf-8',
      'Content-Length': Buffer.byteLength(body),
      'X-Emulator-Task': taskId(),
      'X-Emulator-Port': String(port()),
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  return {
    server,
    closable: {
      close: () => new Promise<void>((resolve) => {
        server.closeAllConnections();
        if (!server.listening) { resolve(); return; }
        server.close(() => resolve());
      }),
    },
  };
}

function tcpEcho(taskId: () => string): { server: net.Server; closable: Closable } {
  return trackedTcpServer((sock) => {
    sock.write(`${taskId()}\n`);
    sock.pipe(sock);
  });
}

function udpEcho(taskId: () => string, type: 'udp4' | 'udp6'): dgram.Socket {
  const sock = dgram.createSocket({ type, reuseAddr: false });
  sock.on('message', (msg, rinfo) => {
    sock.send(Buffer.concat([Buffer.from(`${taskId()} `), msg]), rinfo.port, rinfo.address);
  });
  sock.on('error', () => { /* ignore */ });
  return sock;
}

function udpClosable(sock: dgram.Socket): Closable {
  return { close: () => new Promise<void>((resolve) => { try { sock.close(() => resolve()); } catch { resolve(); } }) };
}

/** Starts the servers of one port. Returns the bound port. For `udp,tcp` both bind the same number. */
async function startPort(kind: BackendKind, plan: PortPlan, taskId: string, closables: Closable[]): Promise<number> {
  const wantUdp = plan.protocol.includes('udp') || kind === 'udp';
  const wantTcp = plan.protocol.includes('tcp') && kind !== 'udp';
  const udpFamily = net.isIPv6(plan.bindHost) ? 'udp6' : 'udp4';
  for (let attempt = 0; ; attempt++) {
    let bound = plan.port;
    const local: Closable[] = [];
    try {
      if (wantTcp) {
        const tcp = kind === 'tcp' ? tcpEcho(() => taskId) : httpServer(() => taskId, () => bound);
        local.push(tcp.closable);
        bound = await listenTcp(tcp.server, plan.bindHost, bound);
      }
      if (wantUdp) {
        const sock = udpEcho(() => taskId, udpFamily);
        local.push(udpClosable(sock));
        bound = await bindUdp(sock, plan.bindHost, bound);
      }
      closables.push(...local);
      return bound;
    } catch (err) {
      await Promise.all(local.map((c) => c.close()));
      // An ephemeral TCP port can be taken for UDP by someone else: retry with a new one.
      if (plan.port === 0 && attempt < 20) continue;
      throw err;
    }
  }
}

export class BackendFactory {
  #nextFakePort = 31000;

  /** Allocates a host port without a server (backend `none`). */
  fakePort(): number {
    return this.#nextFakePort++;
  }

  async start(kind: BackendKind, taskId: string, plans: readonly PortPlan[]): Promise<BackendHandle> {
    const closables: Closable[] = [];
    const ports: number[] = [];
    const handle: BackendHandle = {
      ports,
      close: async () => { await Promise.all(closables.splice(0).map((c) => c.close())); },
    };
    try {
      for (const plan of plans) {
        if (kind === 'none') ports.push(plan.port !== 0 ? plan.port : this.fakePort());
        else ports.push(await startPort(kind, plan, taskId, closables));
      }
    } catch (err) {
      await handle.close();
      throw err;
    }
    return handle;
  }
}
