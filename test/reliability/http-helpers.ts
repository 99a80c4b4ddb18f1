/**
 * Helpers of the hostile-HTTP tests: a recording HTTP/1.1 backend with a strict parser of its own
 * (what pacer forwards must be unambiguous to it), and a raw `net` client.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { waitFor } from '../helpers/processes.ts';

/** One complete request the backend parsed. */
export interface SeenRequest {
  readonly conn: number;
  readonly method: string;
  readonly target: string;
  readonly version: string;
  /** Lower-case name, value. */
  readonly headers: readonly (readonly [string, string])[];
  readonly body: Buffer;
  /** The body's framing on the wire: `chunked`, `length` or `none`. */
  readonly framing: 'chunked' | 'length' | 'none';
  /** The chunk sizes on the wire (chunked bodies). */
  readonly chunks: readonly number[];
}

export interface BackendConnection {
  readonly id: number;
  /** Every byte received (latin1). */
  raw: string;
  /** Requests completed on it. */
  requests: number;
  /** The peer (pacer) closed or reset it. */
  closed: boolean;
}

/** Raw answer for a request, or undefined for the default `200` (body `ok <target>`). */
export type Responder = (req: SeenRequest) => string | undefined;

type Parsed = { kind: 'incomplete' } | { kind: 'bad'; why: string } | { kind: 'request'; request: Omit<SeenRequest, 'conn'>; used: number };

/** A strict HTTP/1.1 request parser: what a careful origin server would accept. */
function parseRequest(buf: Buffer): Parsed {
  const headEnd = buf.indexOf('\r\n\r\n');
  if (headEnd === -1) return buf.length > 1 << 20 ? { kind: 'bad', why: 'head too large' } : { kind: 'incomplete' };
  const head = buf.toString('latin1', 0, headEnd);
  const lines = head.split('\r\n');
  if (lines.some((l) => l.includes('\r') || l.includes('\n'))) return { kind: 'bad', why: 'bare CR or LF in the head' };
  const m = /^([A-Z]+) (\S+) (HTTP\/1\.[01])$/.exec(lines[0]!);
  if (!m) return { kind: 'bad', why: `request line ${JSON.stringify(lines[0])}` };
  const headers: [string, string][] = [];
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon);
    if (colon <= 0 || !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name)) return { kind: 'bad', why: `header line ${JSON.stringify(line)}` };
    headers.push([name.toLowerCase(), line.slice(colon + 1).trim()]);
  }
  const te = headers.filter(([n]) => n === 'transfer-encoding');
  const cl = headers.filter(([n]) => n === 'content-length');
  const hosts = headers.filter(([n]) => n === 'host');
  if (hosts.length > 1) return { kind: 'bad', why: 'two Host headers' };
  if (te.length > 0 && cl.length > 0) return { kind: 'bad', why: 'both Transfer-Encoding and Content-Length' };
  if (cl.length > 1) return { kind: 'bad', why: 'two Content-Length headers' };
  if (te.length > 1 || (te.length === 1 && te[0]![1].toLowerCase() !== 'chunked')) return { kind: 'bad', why: `Transfer-Encoding ${JSON.stringify(te)}` };
  const base = { method: m[1]!, target: m[2]!, version: m[3]!, headers };
  let at = headEnd + 4;
  if (te.length === 1) {
    const parts: Buffer[] = [];
    const chunks: number[] = [];
    for (;;) {
      const nl = buf.indexOf('\r\n', at);
      if (nl === -1) return { kind: 'incomplete' };
      const sizeText = buf.toString('latin1', at, nl);
      if (!/^[0-9a-f]{1,8}$/i.test(sizeText)) return { kind: 'bad', why: `chunk size ${JSON.stringify(sizeText)}` };
      const size = parseInt(sizeText, 16);
      at = nl + 2;
      if (size === 0) {
        if (buf.length < at + 2) return { kind: 'incomplete' };
        if (buf[at] !== 13 || buf[at + 1] !== 10) return { kind: 'bad', why: 'trailers after the last chunk' };
        return { kind: 'request', request: { ...base, body: Buffer.concat(parts), framing: 'chunked', chunks }, used: at + 2 };
      }
      if (buf.length < at + size + 2) return { kind: 'incomplete' };
      parts.push(buf.subarray(at, at + size));
      chunks.push(size);
      at += size;
      if (buf[at] !== 13 || buf[at + 1] !== 10) return { kind: 'bad', why: 'no CRLF after chunk data' };
      at += 2;
    }
  }
  if (cl.length === 1) {
    if (!/^\d+$/.test(cl[0]![1])) return { kind: 'bad', why: `Content-Length ${cl[0]![1]}` };
    const n = Number(cl[0]![1]);
    if (buf.length < at + n) return { kind: 'incomplete' };
    return { kind: 'request', request: { ...base, body: buf.subarray(at, at + n), framing: 'length', chunks: [] }, used: at + n };
  }
  return { kind: 'request', request: { ...base, body: Buffer.alloc(0), framing: 'none', chunks: [] }, used: at };
}

export interface RecordingBackend {
  readonly ports: readonly number[];
  readonly requests: SeenRequest[];
  readonly connections: BackendConnection[];
  /** What the backend could not parse: pacer forwarded something ambiguous or broken. */
  readonly malformed: { conn: number; why: string }[];
  /** Every byte every connection received. */
  allBytes(): string;
  /** The connections whose bytes contain `text`. */
  connectionsWith(text: string): BackendConnection[];
  close(): Promise<void>;
}

/** A backend on each of `ports` (127.0.0.1), all recording into the same lists. */
export async function recordingBackend(ports: readonly number[], responder: Responder = () => undefined): Promise<RecordingBackend> {
  const requests: SeenRequest[] = [];
  const connections: BackendConnection[] = [];
  const malformed: { conn: number; why: string }[] = [];
  const sockets = new Set<Socket>();
  const onConnection = (socket: Socket): void => {
    const conn: BackendConnection = { id: connections.length, raw: '', requests: 0, closed: false };
    connections.push(conn);
    sockets.add(socket);
    let pending: Buffer = Buffer.alloc(0);
    socket.on('error', () => undefined);
    socket.on('close', () => {
      conn.closed = true;
      sockets.delete(socket);
    });
    socket.on('data', (chunk: Buffer) => {
      conn.raw += chunk.toString('latin1');
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      for (;;) {
        const parsed = parseRequest(pending);
        if (parsed.kind === 'incomplete') return;
        if (parsed.kind === 'bad') {
          malformed.push({ conn: conn.id, why: parsed.why });
          socket.destroy();
          return;
        }
        pending = pending.subarray(parsed.used);
        const request: SeenRequest = { conn: conn.id, ...parsed.request };
        requests.push(request);
        conn.requests++;
        const answer = responder(request);
        const body = `ok ${request.target}`;
        socket.write(answer ?? `HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`, 'latin1');
      }
    });
  };
  const servers: Server[] = [];
  for (const port of ports) {
    const server = createServer(onConnection);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', resolve);
    });
    servers.push(server);
  }
  return {
    ports,
    requests,
    connections,
    malformed,
    allBytes: () => connections.map((c) => c.raw).join(''),
    connectionsWith: (text) => connections.filter((c) => c.raw.includes(text)),
    close: async () => {
      for (const s of sockets) s.destroy();
      await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    },
  };
}

export { rawConnect, type RawConn } from '../helpers/raw-socket.ts';

/** The status lines (`HTTP/1.1 400 Bad Request`) of every response in a raw byte stream. */
export function statusLines(data: string): string[] {
  return data.match(/HTTP\/1\.[01] \d{3}[^\r\n]*/g) ?? [];
}

/** Poll `probe` until it is true, or fail after `timeoutMs` (waitFor with this file's defaults). */
export async function eventually(what: string, probe: () => boolean, timeoutMs = 3_000): Promise<void> {
  await waitFor(what, probe, timeoutMs, 10);
}
