/**
 * A small open-loop, fixed-rate HTTP load generator (Debian's wrk 4 has no `-R`, and Debian has no
 * wrk2). Requests are due at a fixed schedule (`--rate` per second); each is sent on a free
 * keep-alive connection (raw `net` sockets, one request at a time per connection), or waits in a
 * queue for one. Latency is measured from the time the request was *due*, not sent, so a slow
 * server cannot hide its queueing (no coordinated omission). Prints one JSON line:
 * `{sent, ok, errors, rate, p50ms, p99ms, maxms}`. Requests are released on a timer tick (about 1 ms,
 * Node's timer resolution), which adds up to about 1 ms to every latency, for every peer alike.
 *
 *   node bench/loadgen.ts --port 8080 --rate 5000 --duration 5 [--connections 32]
 */
import { connect, type Socket } from 'node:net';
import { parseArgs } from 'node:util';

const { values: opts } = parseArgs({
  options: {
    port: { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
    rate: { type: 'string', default: '1000' },
    duration: { type: 'string', default: '5' },
    connections: { type: 'string', default: '32' },
    warmup: { type: 'string', default: '1' },
  },
});
const PORT = Number(opts.port);
const RATE = Number(opts.rate);
const DURATION_MS = Number(opts.duration) * 1000;
const WARMUP_MS = Number(opts.warmup) * 1000;
const CONNECTIONS = Number(opts.connections);
const REQUEST = Buffer.from(`GET / HTTP/1.1\r\nHost: ${opts.host}:${PORT}\r\nUser-Agent: pacer-loadgen\r\n\r\n`, 'latin1');

interface Conn {
  socket: Socket;
  busy: boolean;
  due: number;
  buf: Buffer;
  need: number;
  status: number;
}

const latencies: number[] = [];
const queue: number[] = [];
let head = 0;
let sent = 0;
let ok = 0;
let errors = 0;
let measuring = false;
const free: Conn[] = [];

function finish(conn: Conn, status: number): void {
  const ms = performance.now() - conn.due;
  if (measuring) {
    if (status >= 200 && status < 400) {
      ok++;
      latencies.push(ms);
    } else errors++;
  }
  conn.busy = false;
  dispatch(conn);
}

function onData(conn: Conn, chunk: Buffer): void {
  conn.buf = conn.buf.length ? Buffer.concat([conn.buf, chunk]) : chunk;
  for (;;) {
    if (conn.need < 0) {
      const end = conn.buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const headText = conn.buf.toString('latin1', 0, end);
      const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(headText)?.[1] ?? 0);
      const status = Number(headText.slice(9, 12));
      conn.need = end + 4 + length;
      conn.status = status;
    }
    if (conn.buf.length < conn.need) return;
    const status = conn.status;
    conn.buf = conn.buf.subarray(conn.need);
    conn.need = -1;
    finish(conn, status);
    if (conn.buf.length === 0) return;
  }
}

function dispatch(conn: Conn): void {
  if (head < queue.length) {
    conn.due = queue[head++]!;
    if (head > 4096) {
      queue.splice(0, head);
      head = 0;
    }
    conn.busy = true;
    conn.need = -1;
    sent++;
    conn.socket.write(REQUEST);
  } else free.push(conn);
}

function open(): Promise<Conn> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: opts.host, port: PORT });
    socket.setNoDelay(true);
    const conn: Conn = { socket, busy: false, due: 0, buf: Buffer.alloc(0), need: -1, status: 0 };
    socket.on('data', (c: Buffer) => onData(conn, c));
    socket.once('connect', () => resolve(conn));
    socket.on('error', (error) => {
      if (conn.busy) errors++;
      reject(error);
    });
    socket.on('close', () => {
      const i = free.indexOf(conn);
      if (i >= 0) free.splice(i, 1);
      if (conn.busy && measuring) errors++;
      conn.busy = false;
      // Replace a closed connection (bounded: only while the run lasts).
      if (running) void open().then((c) => dispatch(c), () => undefined);
    });
  });
}

let running = true;
const conns = await Promise.all(Array.from({ length: CONNECTIONS }, open));
for (const c of conns) free.push(c);

const start = performance.now();
const interval = 1000 / RATE;
let scheduled = 0;
const end = start + WARMUP_MS + DURATION_MS;
await new Promise<void>((resolve) => {
  const tick = (): void => {
    const now = performance.now();
    if (!measuring && now >= start + WARMUP_MS) measuring = true;
    if (now >= end) {
      resolve();
      return;
    }
    while (start + scheduled * interval <= now) {
      queue.push(start + scheduled * interval);
      scheduled++;
    }
    while (free.length > 0 && head < queue.length) dispatch(free.pop()!);
    setTimeout(tick, 0);
  };
  tick();
});
running = false;
// Requests still queued when the run ends are late by (end - due): count them, they are latency.
const now = performance.now();
for (let i = head; i < queue.length; i++) if (queue[i]! >= start + WARMUP_MS) latencies.push(now - queue[i]!);
const sorted = latencies.sort((a, b) => a - b);
const q = (p: number): number => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]! : Number.NaN);
process.stdout.write(
  `${JSON.stringify({ sent, ok, errors, rate: ok / (DURATION_MS / 1000), p50ms: q(0.5), p99ms: q(0.99), maxms: sorted.at(-1) ?? Number.NaN })}\n`,
);
for (const c of conns) c.socket.destroy();
process.exit(0);
