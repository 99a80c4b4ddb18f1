/**
 * Misbehaving backends for the reliability tests, each a real socket on a loopback address that
 * the Marathon emulator reports as a task (IP-per-task apps with `backend: 'none'`: every task
 * gets its own 127.0.x.y, and the test puts one of these on `thatIP:containerPort`).
 *
 * TCP kinds:
 * - `refuse`: nothing listens (the kernel answers RST: ECONNREFUSED);
 * - `blackhole`: listens, but its accept queue is full and its thread never accepts, so SYNs are
 *   dropped and a connect hangs until the client's connect timeout;
 * - `http`: a scripted HTTP/1.1 server; the request path picks the behaviour (see `FRAMING` and
 *   the list above it); every path not listed answers 200 with the backend's name;
 * - `tcp`: a scripted TCP server; the client's first line picks the behaviour (see `tcpScript`);
 *   any other line gets `<name>\n` and an echo (a plain echo backend). It waits for that line with
 *   no timer, so a slow machine cannot turn a scripted connection into an echo one;
 * - `hang`: accepts, reads everything, never writes, never closes.
 *
 * UDP kinds: `udp-echo` (replies `<name> <payload>`), `udp-silent` (reads, never replies),
 * `udp-refuse` (nothing bound: the kernel answers ICMP port unreachable).
 *
 * Every server counts its connections and requests and closes everything it holds in `close()`.
 */
import dgram from 'node:dgram';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { Worker } from 'node:worker_threads';

export type FaultKind = 'refuse' | 'blackhole' | 'http' | 'tcp' | 'hang' | 'udp-echo' | 'udp-silent' | 'udp-refuse';

export interface FaultBackend {
  readonly kind: FaultKind;
  readonly address: string;
  readonly port: number;
  /** `address:port`, pacer's `backend` metric label. */
  readonly name: string;
  /** TCP connections accepted so far. */
  connections: number;
  /** HTTP requests (heads) seen, by path; TCP sessions by command; UDP datagrams under `udp`. */
  readonly seen: Map<string, number>;
  /** Connections whose peer (pacer) has not closed its side yet (FIN or reset). */
  readonly open: Set<Socket>;
  /** HTTP kind: the request paths of each connection, in order (to see whether one was reused). */
  readonly log: string[][];
  close(): Promise<void>;
}

/**
 * HTTP behaviours by request path:
 * - `/reset-mid`: `Content-Length: 1000`, 100 bytes, then RST;
 * - `/fin-mid`: `Content-Length: 1000`, 100 bytes, then FIN;
 * - `/reset-chunked`: a chunked answer with one chunk, then RST;
 * - `/bad-chunk-later`: a chunked answer with one chunk, then an invalid chunk size;
 * - `/reset-before`: RST as soon as the request head arrived, no answer;
 * - `/fin-before`: FIN as soon as the request head arrived, no answer;
 * - `/slow`: the head after 300 ms, then 4 body pieces 300 ms apart (1.2 s in all: longer than
 *   pacer's 1 s idle timeout in these tests, each gap shorter), `Content-Length` framed;
 * - `/hang`: reads the request, never answers;
 * - `/noread`: stops reading (the socket is paused) and never answers;
 * - `/drop-reused`: closes the connection when it is not the connection's first request (a
 *   backend that closed a kept-alive connection as the request arrived), else `200 fresh`;
 * - `/cl-te`, `/dup-cl`, `/bad-chunk`, `/bare-cr`: invalid framing (see `FRAMING`);
 * - anything else: `200`, `x-backend: <name>`, body `<name>\n`, keep-alive.
 */
export const FRAMING: Readonly<Record<string, string>> = {
  '/cl-te': 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n',
  '/dup-cl': 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!',
  '/bad-chunk': 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n',
  '/bare-cr': 'HTTP/1.1 200 OK\r\nX-A: a\rb\r\nContent-Length: 5\r\n\r\nhello',
};

/**
 * `tcpScript`: TCP behaviours by the client's first line:
 * - `reset`: writes `partial`, then RST;
 * - `slow`: writes `a`, `b`, `c`, `d\n` 300 ms apart (1.2 s in all, every gap under 1 s), then echoes;
 * - `fin`: writes `bye\n` and half-closes (FIN) but keeps reading: what it reads later is counted;
 * - `noread`: writes `stuck\n`, then stops reading;
 * - `hang`: nothing, ever;
 * - any other line: `<name>\n`, then an echo.
 */

function base(kind: FaultKind, address: string, port: number): FaultBackend {
  const seen = new Map<string, number>();
  return {
    kind,
    address,
    port,
    name: `${address}:${port}`,
    connections: 0,
    seen,
    open: new Set<Socket>(),
    log: [],
    close: async () => undefined,
  };
}

function count(b: FaultBackend, what: string): void {
  b.seen.set(what, (b.seen.get(what) ?? 0) + 1);
}

function listen(server: Server, address: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: address, port, exclusive: true }, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** Every socket of each server, whatever its state, for `close()`. */
const everySocket = new WeakMap<FaultBackend, Set<Socket>>();

function tracked(b: FaultBackend, onSocket: (socket: Socket) => void): Server {
  const all = new Set<Socket>();
  everySocket.set(b, all);
  return createServer({ allowHalfOpen: true }, (socket) => {
    b.connections++;
    b.open.add(socket);
    all.add(socket);
    socket.once('close', () => all.delete(socket));
    socket.once('close', () => b.open.delete(socket));
    socket.once('end', () => b.open.delete(socket));
    socket.on('error', () => undefined);
    onSocket(socket);
  });
}

function closer(b: FaultBackend, server: Server, timers: Set<NodeJS.Timeout>): () => Promise<void> {
  return () =>
    new Promise<void>((resolve) => {
      for (const t of timers) clearTimeout(t);
      for (const s of everySocket.get(b) ?? []) s.destroy();
      server.close(() => resolve());
    });
}

/** The scripted HTTP server's handling of one request head (body bytes, if any, are consumed). */
function httpScript(b: FaultBackend, socket: Socket, path: string, index: number, timers: Set<NodeJS.Timeout>): void {
  const later = (ms: number, f: () => void): void => {
    const t = setTimeout(() => {
      timers.delete(t);
      if (!socket.destroyed) f();
    }, ms);
    timers.add(t);
  };
  const framing = FRAMING[path];
  if (framing !== undefined) {
    socket.write(framing);
    return;
  }
  switch (path) {
    case '/reset-mid':
      socket.write(`HTTP/1.1 200 OK\r\ncontent-length: 1000\r\nx-backend: ${b.name}\r\n\r\n${'x'.repeat(100)}`);
      later(50, () => socket.resetAndDestroy());
      return;
    case '/fin-mid':
      socket.write(`HTTP/1.1 200 OK\r\ncontent-length: 1000\r\nx-backend: ${b.name}\r\n\r\n${'x'.repeat(100)}`);
      later(50, () => socket.end());
      return;
    case '/reset-chunked':
      socket.write(`HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\nx-backend: ${b.name}\r\n\r\n64\r\n${'x'.repeat(100)}\r\n`);
      later(50, () => socket.resetAndDestroy());
      return;
    case '/bad-chunk-later':
      socket.write(`HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\nx-backend: ${b.name}\r\n\r\n64\r\n${'x'.repeat(100)}\r\n`);
      later(50, () => socket.write('zz\r\nnot a chunk\r\n0\r\n\r\n'));
      return;
    case '/reset-before':
      socket.resetAndDestroy();
      return;
    case '/fin-before':
      socket.end();
      return;
    case '/slow': {
      const piece = 'slow-piece\n';
      later(300, () => socket.write(`HTTP/1.1 200 OK\r\ncontent-length: ${piece.length * 4}\r\nx-backend: ${b.name}\r\n\r\n`));
      for (let i = 1; i <= 4; i++) later(300 + i * 300, () => socket.write(piece));
      return;
    }
    case '/hang':
      return;
    case '/noread':
      socket.pause();
      return;
    case '/drop-reused':
      if (index > 0) {
        socket.destroy();
        return;
      }
      socket.write('HTTP/1.1 200 OK\r\ncontent-length: 6\r\n\r\nfresh\n');
      return;
    default: {
      const body = `${b.name}\n`;
      socket.write(`HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\nx-backend: ${b.name}\r\n\r\n${body}`);
    }
  }
}

async function startHttp(address: string, port: number): Promise<FaultBackend> {
  const b = base('http', address, port);
  const timers = new Set<NodeJS.Timeout>();
  const server = tracked(b, (socket) => {
    let buffered = Buffer.alloc(0);
    let bodyLeft = 0;
    const paths: string[] = [];
    b.log.push(paths);
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      for (;;) {
        if (bodyLeft > 0) {
          const n = Math.min(bodyLeft, buffered.length);
          bodyLeft -= n;
          buffered = buffered.subarray(n);
          if (bodyLeft > 0) return;
        }
        const end = buffered.indexOf('\r\n\r\n');
        if (end === -1) return;
        const head = buffered.toString('latin1', 0, end);
        buffered = buffered.subarray(end + 4);
        const path = /^\S+ (\S+)/.exec(head)?.[1] ?? '/';
        bodyLeft = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
        count(b, path);
        paths.push(path);
        httpScript(b, socket, path, paths.length - 1, timers);
        if (socket.destroyed || socket.isPaused()) return;
      }
    });
    // The client's FIN: close our side too (a keep-alive connection pacer let go).
    socket.on('end', () => socket.end());
  });
  await listen(server, address, port);
  b.close = closer(b, server, timers);
  return b;
}

/** The scripted TCP server (`tcpScript` above). */
async function startTcp(address: string, port: number): Promise<FaultBackend> {
  const b = base('tcp', address, port);
  const timers = new Set<NodeJS.Timeout>();
  const later = (socket: Socket, ms: number, f: () => void): void => {
    const t = setTimeout(() => {
      timers.delete(t);
      if (!socket.destroyed) f();
    }, ms);
    timers.add(t);
  };
  const server = tracked(b, (socket) => {
    let first = '';
    let mode: string | undefined;
    const echo = (): void => {
      socket.on('data', (c: Buffer) => socket.write(c));
      socket.on('end', () => socket.end());
    };
    const onFirst = (chunk: Buffer): void => {
      if (mode !== undefined) return;
      first += chunk.toString('latin1');
      const nl = first.indexOf('\n');
      if (nl === -1) return;
      socket.off('data', onFirst);
      mode = first.slice(0, nl).trim();
      count(b, mode);
      switch (mode) {
        case 'reset':
          socket.write('partial');
          later(socket, 50, () => socket.resetAndDestroy());
          return;
        case 'slow':
          ['a', 'b', 'c'].forEach((piece, i) => later(socket, (i + 1) * 300, () => socket.write(piece)));
          later(socket, 1_200, () => {
            socket.write('d\n');
            echo();
          });
          return;
        case 'fin':
          socket.end('bye\n');
          socket.on('data', (c: Buffer) => count(b, `after-fin:${c.toString().trim()}`));
          return;
        case 'noread':
          socket.write('stuck\n');
          socket.pause();
          return;
        case 'hang':
          socket.resume();
          return;
        default:
          socket.write(`${b.name}\n`);
          echo();
      }
    };
    socket.on('data', onFirst);
  });
  await listen(server, address, port);
  b.close = closer(b, server, timers);
  return b;
}

async function startHang(address: string, port: number): Promise<FaultBackend> {
  const b = base('hang', address, port);
  const server = tracked(b, (socket) => {
    socket.on('data', () => count(b, 'data'));
  });
  await listen(server, address, port);
  b.close = closer(b, server, new Set());
  return b;
}

/** The blackhole's listen backlog: its accept queue is full after this many + 1 connects. */
const BLACKHOLE_BACKLOG = 1;

/**
 * A listener whose accept queue is full and whose thread is blocked (`Atomics.wait`): the kernel
 * drops further SYNs, so a connect neither succeeds nor fails until the client gives up.
 */
async function startBlackhole(address: string, port: number): Promise<FaultBackend> {
  const b = base('blackhole', address, port);
  const flag = new SharedArrayBuffer(4);
  const worker = new Worker(
    `const { workerData, parentPort } = require('node:worker_threads');
     const server = require('node:net').createServer();
     server.on('error', (e) => parentPort.postMessage(String(e)));
     server.listen({ host: workerData.address, port: workerData.port, backlog: workerData.backlog, exclusive: true }, () => {
       parentPort.postMessage('ready');
       Atomics.wait(new Int32Array(workerData.flag), 0, 0);
       server.close();
     });`,
    { eval: true, workerData: { address, port, flag, backlog: BLACKHOLE_BACKLOG } },
  );
  const ready = await new Promise<unknown>((resolve) => worker.once('message', resolve));
  const release = async (): Promise<void> => {
    const cell = new Int32Array(flag);
    Atomics.store(cell, 0, 1);
    Atomics.notify(cell, 0);
    await worker.terminate();
  };
  if (ready !== 'ready') {
    await release();
    throw new Error(`blackhole ${address}:${port}: ${String(ready)}`);
  }
  // Fill the accept queue: with `backlog: 1` Linux completes backlog + 1 = 2 connects nobody
  // accepts, then drops further SYNs (a connect hangs). Wait for those two to complete.
  const fillers: Socket[] = [];
  await Promise.all(
    Array.from({ length: BLACKHOLE_BACKLOG + 1 }, () => {
      const socket = connect({ host: address, port });
      fillers.push(socket);
      return new Promise<void>((resolve, reject) => {
        socket.once('connect', () => resolve());
        socket.once('error', reject);
      });
    }),
  );
  for (const socket of fillers) socket.on('error', () => undefined);
  b.close = async () => {
    for (const s of fillers) s.destroy();
    await release();
  };
  return b;
}

async function startUdp(kind: 'udp-echo' | 'udp-silent', address: string, port: number): Promise<FaultBackend> {
  const b = base(kind, address, port);
  const socket = dgram.createSocket('udp4');
  socket.on('message', (msg, rinfo) => {
    count(b, 'udp');
    if (kind === 'udp-echo') socket.send(Buffer.concat([Buffer.from(`${b.name} `), msg]), rinfo.port, rinfo.address);
  });
  socket.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind({ address, port, exclusive: true }, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  b.close = () => new Promise<void>((resolve) => socket.close(() => resolve()));
  return b;
}

/** Start a fault backend of `kind` on `address:port`. */
export function startFault(kind: FaultKind, address: string, port: number): Promise<FaultBackend> {
  switch (kind) {
    case 'refuse':
    case 'udp-refuse':
      return Promise.resolve(base(kind, address, port));
    case 'blackhole':
      return startBlackhole(address, port);
    case 'http':
      return startHttp(address, port);
    case 'tcp':
      return startTcp(address, port);
    case 'hang':
      return startHang(address, port);
    case 'udp-echo':
    case 'udp-silent':
      return startUdp(kind, address, port);
  }
}
