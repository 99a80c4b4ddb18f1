/**
 * The upstream side of HTTP mode: a lean HTTP/1.1 client with one keep-alive connection pool per
 * backend. It replaced undici's `Pool` on the hot path (measured: about 1.4x the requests per
 * second of a minimal undici `dispatch` proxy, and far fewer allocations per request; see
 * docs/proxy.md, "Performance").
 *
 * One request at a time per connection (no pipelining). The request head is one string written in
 * one `write`; the response head is parsed from the first bytes (status line, headers, framing),
 * then the body streams through: `Content-Length`, `chunked` (decoded: the downstream side frames
 * its own), or until the connection closes. `HEAD`, 1xx (skipped), 204 and 304 answers have no
 * body. Framing is strict: `Transfer-Encoding` with `Content-Length`, differing `Content-Length`s,
 * an invalid chunk size (a 502 when it came with the head, a cut response later), bare CR or LF
 * in the head are `BAD_RESPONSE`, and the connection is closed. A connection goes back to the
 * pool only when both the request and the response are
 * complete and neither side said `Connection: close`; idle connections older than
 * `keepAliveMs` are not reused (the backend may be closing them), and closed ones leave the pool.
 *
 * Errors carry a `code`: the socket's (`ECONNREFUSED`, `ECONNRESET`, …) or one of `CONNECT_TIMEOUT`,
 * `TIMEOUT` (no byte for the idle timeout while a request is open), `BAD_RESPONSE`, `CLOSED`
 * (the connection ended before the response did), `ABORTED`, and `responded` tells whether a
 * response head had been delivered.
 */
import { connect, type Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { isHopByHop } from './headers.ts';

export const CONNECT_TIMEOUT = 'PACER_CONNECT_TIMEOUT';
export const TIMEOUT = 'PACER_UPSTREAM_TIMEOUT';
export const BAD_RESPONSE = 'PACER_BAD_RESPONSE';
export const CLOSED = 'PACER_UPSTREAM_CLOSED';
export const ABORTED = 'PACER_ABORTED';

/** The largest response head accepted from a backend. */
const MAX_HEAD = 64 * 1024;

export interface ClientOptions {
  readonly connectTimeoutMs: number;
  /** No byte either way for this long while a request is open: `TIMEOUT`. */
  readonly idleTimeoutMs: number;
  /** Idle connections are not reused after this long. */
  readonly keepAliveMs: number;
}

/** What a request tells its owner (the exchange). */
export interface ResponseHandler {
  /**
   * The final response head. `headers` is a flat `[name, value, …]` list without hop-by-hop
   * headers (RFC 9110 §7.6.1: `Connection` and what it names, `Keep-Alive`, `TE`, `Trailer`,
   * `Transfer-Encoding`, `Upgrade`, `Proxy-*`), names as the backend spelled them.
   */
  onResponseHead(status: number, statusMessage: string, headers: string[]): void;
  /** A body chunk; return false to pause until `UpstreamRequest.resume()`. */
  onResponseData(chunk: Buffer): boolean;
  onResponseEnd(): void;
  onResponseError(error: UpstreamError): void;
}

export class UpstreamError extends Error {
  readonly code: string;
  /** The request went out on a keep-alive connection that had served earlier requests. */
  reused = false;
  /** Response bytes read for this request before the error. */
  received = 0;
  /** Whether any byte of the request (head or body) was written: false when the connect failed. */
  sent = false;
  /** Whether the whole request (head and body) was written: the backend had all of it. */
  complete = false;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

export interface RequestBody {
  readonly stream: Readable;
  /** Encode with `Transfer-Encoding: chunked` (the client's length was unknown). */
  readonly chunked: boolean;
}


/** How the response body is delimited. */
const BodyMode = { None: 0, Length: 1, Chunked: 2, UntilClose: 3 } as const;
type BodyMode = (typeof BodyMode)[keyof typeof BodyMode];
/** Where the chunked decoder is. */
const Chunk = { Size: 0, Data: 1, DataEnd: 2, Trailers: 3 } as const;
type Chunk = (typeof Chunk)[keyof typeof Chunk];

const CRLF = Buffer.from('\r\n');

/** RFC 9110 §5.6.2 `token`: a header name. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** A field value or reason phrase: no CTL but HTAB (no bare CR/LF, no NUL, no DEL). */
const BAD_VALUE = /[\x00-\x08\x0a-\x1f\x7f]/;

const LAST_CHUNK = Buffer.from('0\r\n\r\n');
const CHUNK_SIZE = /^[0-9a-fA-F]{1,12}$/;

/** The size of a chunk-size line (`hex[;ext]`, CR already stripped), NaN when it is not one. */
function chunkSize(line: string): number {
  const semi = line.indexOf(';');
  const hex = (semi === -1 ? line : line.slice(0, semi)).trim();
  return CHUNK_SIZE.test(hex) ? parseInt(hex, 16) : Number.NaN;
}

/** False when `data` (the bytes after a chunked head) starts with a complete, invalid size line. */
function validFirstChunkLine(data: Buffer): boolean {
  const nl = data.indexOf(10);
  if (nl === -1) return data.length <= 4096;
  return Number.isFinite(chunkSize(data.toString('latin1', 0, nl).replace(/\r$/, '')));
}

/** One keep-alive connection; serves one request at a time. */
class Connection {
  readonly pool: UpstreamPool;
  readonly socket: Socket;
  connected = false;
  idleSince = 0;
  /** Requests this connection has served before the current one (0: fresh). */
  served = 0;
  /** The request in progress, if any. */
  request: UpstreamRequest | undefined;

  constructor(pool: UpstreamPool, socket: Socket) {
    this.pool = pool;
    this.socket = socket;
    socket.setTimeout(pool.options.connectTimeoutMs);
    socket.on('connect', this.onConnect);
    socket.on('data', this.onData);
    socket.on('timeout', this.onTimeout);
    socket.on('error', this.onError);
    socket.on('close', this.onClose);
    socket.on('drain', this.onDrain);
  }

  readonly onConnect = (): void => {
    this.connected = true;
    this.socket.setTimeout(this.pool.options.idleTimeoutMs);
    this.request?.sendBody();
  };

  readonly onData = (chunk: Buffer): void => {
    const r = this.request;
    if (!r) {
      // Bytes nobody asked for: the connection is not usable any more.
      this.socket.destroy();
      return;
    }
    r.parse(chunk);
  };

  readonly onTimeout = (): void => {
    const r = this.request;
    if (!r) {
      this.socket.destroy();
      return;
    }
    r.fail(this.connected ? TIMEOUT : CONNECT_TIMEOUT, this.connected ? 'upstream timed out' : 'connect timed out');
  };

  readonly onError = (error: NodeJS.ErrnoException): void => {
    this.request?.fail(error.code ?? CLOSED, error.message);
  };

  readonly onClose = (): void => {
    this.pool.forget(this);
    const r = this.request;
    if (r) r.closed();
  };

  readonly onDrain = (): void => {
    this.request?.bodyDrained();
  };
}

/** One request on one connection: writes the request, parses the response. */
export class UpstreamRequest {
  readonly #conn: Connection;
  readonly #handler: ResponseHandler;
  readonly #headOnly: boolean;
  readonly #body: RequestBody | undefined;
  #head: string;
  #buffer: Buffer | undefined;
  #headDone = false;
  #responded = false;
  #mode: BodyMode = BodyMode.None;
  #remaining = 0;
  #chunkState: Chunk = Chunk.Size;
  #line = '';
  #keepAlive = true;
  #requestDone = false;
  #responseDone = false;
  #finished = false;
  #paused = false;
  readonly #reused: boolean;
  #received = 0;
  #sent = false;
  /** A parsed final head not yet handed to the handler (see `parse`). */
  #pending: { status: number; message: string; headers: string[] } | undefined;

  constructor(conn: Connection, head: string, headOnly: boolean, body: RequestBody | undefined, handler: ResponseHandler) {
    this.#conn = conn;
    this.#reused = conn.served > 0;
    this.#head = head;
    this.#headOnly = headOnly;
    this.#body = body;
    this.#handler = handler;
    this.#requestDone = body === undefined;
  }

  /** Write the head (and start the body) once connected. */
  sendBody(): void {
    const socket = this.#conn.socket;
    if (this.#head === '') return;
    socket.write(this.#head, 'latin1');
    this.#head = '';
    this.#sent = true;
    const body = this.#body;
    if (!body) return;
    const stream = body.stream;
    stream.on('data', this.#onBodyData);
    stream.once('end', this.#onBodyEnd);
    stream.once('error', this.#onBodyError);
    stream.resume();
  }

  readonly #onBodyData = (chunk: Buffer): void => {
    if (this.#finished) return;
    const socket = this.#conn.socket;
    let ok: boolean;
    if (this.#body?.chunked) {
      if (chunk.length === 0) return;
      socket.write(`${chunk.length.toString(16)}\r\n`, 'latin1');
      socket.write(chunk);
      ok = socket.write(CRLF);
    } else ok = socket.write(chunk);
    if (!ok) this.#body?.stream.pause();
  };

  readonly #onBodyEnd = (): void => {
    if (this.#finished) return;
    if (this.#body?.chunked) this.#conn.socket.write(LAST_CHUNK);
    this.#requestDone = true;
    if (this.#responseDone) this.#release();
  };

  readonly #onBodyError = (): void => {
    this.fail(ABORTED, 'downstream request body failed');
  };

  bodyDrained(): void {
    if (!this.#requestDone) this.#body?.stream.resume();
  }

  /** Resume a paused response body. */
  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    if (!this.#finished) this.#conn.socket.resume();
  }

  /** Give up on this request (the downstream client went away): the connection is closed. */
  abort(): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#detachBody();
    this.#conn.request = undefined;
    this.#conn.socket.destroy();
  }

  parse(chunk: Buffer): void {
    if (this.#finished) return;
    this.#received += chunk.length;
    while (!this.#headDone) {
      const data = this.#buffer === undefined ? chunk : Buffer.concat([this.#buffer, chunk]);
      const end = data.indexOf('\r\n\r\n');
      // The limit holds whether or not the head's end came in the read that crossed it.
      if ((end === -1 ? data.length : end) > MAX_HEAD) {
        this.fail(BAD_RESPONSE, 'response head too large');
        return;
      }
      if (end === -1) {
        this.#buffer = data;
        return;
      }
      this.#buffer = undefined;
      const final = this.#parseHead(data.toString('latin1', 0, end));
      if (this.#finished) return;
      chunk = data.subarray(end + 4);
      if (!final) {
        // 1xx: another head follows.
        if (chunk.length === 0) return;
        continue;
      }
      // A chunked body whose first size line came with the head is checked before the head goes
      // out, so that garbage framing is a clean 502 rather than a response cut after its head.
      // (A size line that comes later is not waited for: streaming answers keep their head early.)
      if (this.#mode === BodyMode.Chunked && !validFirstChunkLine(chunk)) {
        this.fail(BAD_RESPONSE, 'invalid chunk size');
        return;
      }
      this.#deliverHead();
      if (this.#finished) return;
      if (this.#mode === BodyMode.None) {
        if (chunk.length > 0) this.#keepAlive = false;
        this.#responseEnd();
        return;
      }
      if (chunk.length === 0) return;
    }
    this.#bodyBytes(chunk);
  }

  /** Parse one head; true for a final one (delivered), false for a 1xx. */
  #parseHead(head: string): boolean {
    const lineEnd = head.indexOf('\r\n');
    const statusLine = lineEnd === -1 ? head : head.slice(0, lineEnd);
    const status = Number(statusLine.slice(9, 12));
    if (!statusLine.startsWith('HTTP/1.') || (statusLine.length > 12 && statusLine.charCodeAt(12) !== 32) || !(status >= 100 && status < 600)) {
      this.fail(BAD_RESPONSE, 'malformed status line');
      return true;
    }
    if (BAD_VALUE.test(statusLine) || statusLine.includes('\r')) {
      this.fail(BAD_RESPONSE, 'invalid characters in the status line');
      return true;
    }
    if (status < 200) {
      if (status === 101) this.fail(BAD_RESPONSE, 'unexpected 101');
      return status === 101;
    }
    const headers: string[] = [];
    let named: Set<string> | undefined;
    let length = -1;
    let chunked = false;
    let encoded = false;
    let keepAlive = statusLine.charCodeAt(7) !== 48; /* HTTP/1.0 closes by default */
    let start = lineEnd + 2;
    while (lineEnd !== -1 && start < head.length) {
      let end = head.indexOf('\r\n', start);
      if (end === -1) end = head.length;
      const colon = head.indexOf(':', start);
      if (colon === -1 || colon > end) {
        this.fail(BAD_RESPONSE, 'malformed header line');
        return true;
      }
      const name = head.slice(start, colon);
      const raw = head.slice(colon + 1, end);
      // A valid token also rules out obs-fold (a line starting with SP/HTAB) and bare LF/CR in names.
      if (!TOKEN.test(name) || BAD_VALUE.test(raw) || raw.includes('\r')) {
        this.fail(BAD_RESPONSE, 'invalid header line');
        return true;
      }
      const value = raw.trim();
      start = end + 2;
      const lower = name.toLowerCase();
      if (isHopByHop(lower)) {
        if (lower === 'transfer-encoding') {
          // A list of codings (several lines concatenate); `chunked` counts only as the last one.
          const codings = value.toLowerCase().split(',').map((c) => c.trim()).filter((c) => c !== '');
          if (codings.length > 0) {
            encoded = true;
            chunked = codings[codings.length - 1] === 'chunked';
          }
        }
        else if (lower === 'connection') {
          for (const part of value.split(',')) {
            const token = part.trim().toLowerCase();
            if (token === 'close') keepAlive = false;
            else if (token === 'keep-alive') keepAlive = true;
            else if (token !== '') (named ??= new Set()).add(token);
          }
        }
        continue;
      }
      if (lower === 'content-length') {
        const n = Number(value);
        if (!Number.isSafeInteger(n) || n < 0 || (length !== -1 && length !== n)) {
          this.fail(BAD_RESPONSE, 'invalid content-length');
          return true;
        }
        length = n;
      }
      headers.push(name, value);
    }
    if (named) {
      for (let i = headers.length - 2; i >= 0; i -= 2) if (named.has(headers[i]!.toLowerCase())) headers.splice(i, 2);
    }
    // Both framings (RFC 9112 §6.3: "ought to be handled as an error", a smuggling or splitting
    // attempt): refused. A coding pacer cannot delimit: never reuse this connection.
    if (encoded && length !== -1) {
      this.fail(BAD_RESPONSE, 'both transfer-encoding and content-length');
      return true;
    }
    if (encoded && !chunked) keepAlive = false;
    this.#keepAlive = keepAlive;
    if (this.#headOnly || status === 204 || status === 304) this.#mode = BodyMode.None;
    else if (chunked) this.#mode = BodyMode.Chunked;
    else if (encoded) {
      // Transfer-Encoding without a final `chunked`: the body runs until the connection closes.
      this.#mode = BodyMode.UntilClose;
      this.#keepAlive = false;
    } else if (length !== -1) {
      this.#mode = length === 0 ? BodyMode.None : BodyMode.Length;
      this.#remaining = length;
    } else {
      this.#mode = BodyMode.UntilClose;
      this.#keepAlive = false;
    }
    this.#headDone = true;
    this.#pending = { status, message: lineEnd === -1 ? '' : statusLine.slice(13), headers };
    return true;
  }

  #deliverHead(): void {
    const head = this.#pending;
    if (!head) return;
    this.#pending = undefined;
    this.#responded = true;
    this.#handler.onResponseHead(head.status, head.message, head.headers);
  }

  #bodyBytes(chunk: Buffer): void {
    switch (this.#mode) {
      case BodyMode.Length: {
        if (chunk.length < this.#remaining) {
          this.#remaining -= chunk.length;
          this.#deliver(chunk);
          return;
        }
        const last = chunk.length === this.#remaining ? chunk : chunk.subarray(0, this.#remaining);
        if (chunk.length > this.#remaining) this.#keepAlive = false; // bytes past the body
        this.#remaining = 0;
        this.#deliver(last);
        this.#responseEnd();
        return;
      }
      case BodyMode.UntilClose:
        this.#deliver(chunk);
        return;
      case BodyMode.Chunked:
        this.#chunked(chunk);
        return;
      default:
        this.#keepAlive = false;
    }
  }

  #chunked(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length && !this.#finished) {
      switch (this.#chunkState) {
        case Chunk.Size:
        case Chunk.Trailers: {
          const nl = chunk.indexOf(10, at);
          if (nl === -1) {
            this.#line += chunk.toString('latin1', at, chunk.length);
            if (this.#line.length > 4096) this.fail(BAD_RESPONSE, 'chunk line too long');
            return;
          }
          const line = (this.#line + chunk.toString('latin1', at, nl)).replace(/\r$/, '');
          this.#line = '';
          at = nl + 1;
          if (this.#chunkState === Chunk.Trailers) {
            if (line === '') {
              if (at < chunk.length) this.#keepAlive = false;
              this.#responseEnd();
              return;
            }
            continue;
          }
          const size = chunkSize(line);
          if (!Number.isFinite(size)) {
            this.fail(BAD_RESPONSE, 'invalid chunk size');
            return;
          }
          if (size === 0) this.#chunkState = Chunk.Trailers;
          else {
            this.#remaining = size;
            this.#chunkState = Chunk.Data;
          }
          continue;
        }
        case Chunk.Data: {
          const n = Math.min(this.#remaining, chunk.length - at);
          const part = at === 0 && n === chunk.length ? chunk : chunk.subarray(at, at + n);
          at += n;
          this.#remaining -= n;
          if (this.#remaining === 0) {
            this.#chunkState = Chunk.DataEnd;
            this.#remaining = 2;
          }
          this.#deliver(part);
          continue;
        }
        case Chunk.DataEnd: {
          // The CRLF after a chunk's data (`#remaining` counts down 2, 1).
          const expected = this.#remaining === 2 ? 13 : 10;
          if (chunk[at] !== expected) {
            this.fail(BAD_RESPONSE, 'missing CRLF after chunk data');
            return;
          }
          at++;
          this.#remaining--;
          if (this.#remaining === 0) this.#chunkState = Chunk.Size;
          continue;
        }
      }
    }
  }

  #deliver(chunk: Buffer): void {
    if (chunk.length === 0) return;
    if (!this.#handler.onResponseData(chunk) && !this.#paused && !this.#finished) {
      this.#paused = true;
      this.#conn.socket.pause();
    }
  }

  #responseEnd(): void {
    if (this.#finished) return;
    this.#responseDone = true;
    if (!this.#requestDone) {
      // The backend answered before the whole request was sent: it will not read the rest.
      this.#keepAlive = false;
      this.#detachBody();
    }
    this.#finished = true;
    this.#conn.request = undefined;
    this.#handler.onResponseEnd();
    this.#release();
  }

  #release(): void {
    const conn = this.#conn;
    if (!this.#keepAlive || !this.#requestDone) {
      conn.socket.destroy();
      return;
    }
    if (this.#paused) {
      this.#paused = false;
      conn.socket.resume();
    }
    conn.served++;
    conn.pool.release(conn);
  }

  /** The connection ended. */
  closed(): void {
    if (this.#finished) return;
    if (this.#headDone && this.#mode === BodyMode.UntilClose) {
      this.#keepAlive = false;
      this.#responseEnd();
      return;
    }
    this.fail(CLOSED, 'upstream closed the connection');
  }

  fail(code: string, message: string): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#detachBody();
    this.#conn.request = undefined;
    this.#conn.socket.destroy();
    const error = new UpstreamError(code, message);
    error.reused = this.#reused;
    error.received = this.#received;
    error.sent = this.#sent;
    error.complete = this.#sent && this.#requestDone;
    this.#handler.onResponseError(error);
  }

  get responded(): boolean {
    return this.#responded;
  }

  #detachBody(): void {
    const stream = this.#body?.stream;
    if (!stream) return;
    stream.off('data', this.#onBodyData);
    stream.off('end', this.#onBodyEnd);
    stream.off('error', this.#onBodyError);
  }
}

/** Keep-alive connections to one backend. */
export class UpstreamPool {
  readonly host: string;
  readonly port: number;
  readonly options: ClientOptions;
  /** Idle connections, most recently used last. */
  readonly #idle: Connection[] = [];
  readonly #all = new Set<Connection>();
  #closing = false;

  constructor(host: string, port: number, options: ClientOptions) {
    this.host = host;
    this.port = port;
    this.options = options;
  }

  /** Connections open (idle or busy). */
  get size(): number {
    return this.#all.size;
  }

  /**
   * Send one request: `head` is the whole request head (request line, headers, empty line).
   * `headOnly` for `HEAD` requests (the answer has no body). `fresh` skips the idle connections
   * (a retry after a kept-alive connection turned out to be closed).
   */
  request(head: string, headOnly: boolean, body: RequestBody | undefined, handler: ResponseHandler, fresh = false): UpstreamRequest {
    let conn: Connection | undefined;
    const now = Date.now();
    const idle = this.#idle;
    while (idle.length > 0 && !fresh) {
      const c = idle.pop()!;
      if (now - c.idleSince < this.options.keepAliveMs && !c.socket.destroyed) {
        conn = c;
        break;
      }
      c.socket.destroy();
    }
    if (!conn) {
      const socket = connect({ host: this.host, port: this.port, noDelay: true });
      conn = new Connection(this, socket);
      this.#all.add(conn);
    }
    const request = new UpstreamRequest(conn, head, headOnly, body, handler);
    conn.request = request;
    if (conn.connected) request.sendBody();
    return request;
  }

  release(conn: Connection): void {
    if (this.#closing || conn.socket.destroyed) {
      conn.socket.destroy();
      return;
    }
    conn.idleSince = Date.now();
    this.#idle.push(conn);
  }

  forget(conn: Connection): void {
    this.#all.delete(conn);
    const i = this.#idle.indexOf(conn);
    if (i !== -1) this.#idle.splice(i, 1);
  }

  /** No new requests; idle connections close now, busy ones when their request ends. */
  close(): void {
    this.#closing = true;
    for (const c of this.#idle.splice(0)) c.socket.destroy();
  }

  /** Cut everything. */
  destroy(): void {
    this.#closing = true;
    for (const c of [...this.#all]) c.socket.destroy();
    this.#idle.length = 0;
  }
}
