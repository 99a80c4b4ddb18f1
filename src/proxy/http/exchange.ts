/**
 * One HTTP request forwarded upstream: the downstream request streams into a pooled keep-alive
 * connection of the backend's `UpstreamPool` (no buffering), the upstream response streams back
 * with backpressure both ways.
 *
 * Retries, at most `maxAttempts` attempts in all:
 * - when the connect fails (refused, timed out: nothing was sent, not even the head, and the
 *   downstream body has not been read), any request goes to another backend; the failed one is
 *   excluded for this request;
 * - when a *reused* keep-alive connection closed or reset before any byte of a response (the
 *   classic race: the backend closed an idle connection just as the request went out on it), a
 *   request with an idempotent method and no body is sent again on a fresh connection, to any
 *   backend (this one included: it did nothing wrong);
 * - never after a timeout or an invalid answer, nor after a fresh connection was closed or reset:
 *   the backend may have acted on the request.
 * Failures the backend is to blame for (connect refused or timed out; with the whole request sent,
 * no response byte before the idle timeout or a fresh connection closed or reset before any
 * response byte) count towards its passive ejection (`UpstreamSet.connectFailed` / `responseFailed`).
 * Failures while the client is still sending its body do not: a slow client must not eject a
 * backend.
 * When nothing answers: 503 (no backend, or none could be connected), 504 (timeout), 502 (broken
 * or invalid response), each with a one-line body.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { HSTS_VALUE, STICKY_COOKIE, type ServiceRuntime } from '../service.ts';
import type { UpstreamState } from '../upstreams.ts';
import { ABORTED, BAD_RESPONSE, CONNECT_TIMEOUT, TIMEOUT, type ResponseHandler, type UpstreamError, type UpstreamRequest } from './client.ts';
import { cookieValue, requestHead } from './headers.ts';

/** Tests of `--workers` set `PACER_TEST_WORKER_HEADER=1` to see which process answered (`x-pacer-pid`). */
const PID_HEADER = process.env['PACER_TEST_WORKER_HEADER'] === '1' ? String(process.pid) : undefined;

const IDEMPOTENT: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);
/** Errors that mean the backend saw the request and may have acted on it: never retried. */
const NOT_STALE: ReadonlySet<string> = new Set([TIMEOUT, BAD_RESPONSE, ABORTED]);
const CONNECT_ERRORS: ReadonlySet<string> = new Set(['ECONNREFUSED', CONNECT_TIMEOUT, 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'ETIMEDOUT']);

/** Send a small plain-text answer (errors, redirects, denials) and count it. */
export function sendSmall(res: ServerResponse, status: number, body: string, headers?: Record<string, string>): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store', ...headers });
  res.end(body);
}

export interface ExchangeOptions {
  readonly proto: 'http' | 'https';
  readonly maxAttempts: number;
}

export class Exchange implements ResponseHandler {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly rt: ServiceRuntime;
  readonly started: number;
  readonly headers: string[];
  readonly path: string;
  readonly method: string;
  readonly options: ExchangeOptions;
  readonly hasBody: boolean;
  readonly chunked: boolean;
  upstream: UpstreamState | undefined;
  request: UpstreamRequest | undefined;
  tried: Set<string> | undefined;
  attempts = 0;
  /** The next attempt opens a new connection (the last one was a stale keep-alive connection). */
  fresh = false;
  responded = false;
  done = false;
  status = 0;
  /** The sticky cookie to set on the response (a new client, or its backend went away). */
  setCookie: string | undefined;

  constructor(req: IncomingMessage, res: ServerResponse, rt: ServiceRuntime, headers: string[], path: string, options: ExchangeOptions) {
    this.req = req;
    this.res = res;
    this.rt = rt;
    this.headers = headers;
    this.path = path;
    this.method = req.method ?? 'GET';
    this.options = options;
    this.started = performance.now();
    const reqHeaders = req.headers;
    const length = reqHeaders['content-length'];
    this.chunked = length === undefined && reqHeaders['transfer-encoding'] !== undefined;
    this.hasBody = this.chunked || (length !== undefined && length !== '0');
    rt.metrics.httpOpen.inc();
    res.once('close', this.onDownstreamClose);
  }

  start(): void {
    const rt = this.rt;
    let u: UpstreamState | undefined;
    if (rt.policy.sticky) {
      const wanted = cookieValue(this.req.headers.cookie, STICKY_COOKIE);
      u = wanted === undefined ? undefined : rt.upstreams.byCookie(wanted);
      if (u && this.tried?.has(u.key)) u = undefined; // a retry goes elsewhere
      if (!u) {
        u = rt.upstreams.pick(rt.balancer, { clientAddress: this.req.socket.remoteAddress }, this.tried);
        if (u) this.setCookie = `${STICKY_COOKIE}=${u.cookie}; path=/`;
      }
    } else u = rt.upstreams.pick(rt.balancer, { clientAddress: this.req.socket.remoteAddress }, this.tried);
    if (!u) {
      this.fail(503, this.attempts > 0 ? 'no backend could be reached\n' : 'no backend available\n');
      return;
    }
    if (this.attempts > 0) rt.metrics.retries.inc();
    this.attempts++;
    this.upstream = u;
    rt.upstreams.acquire(u);
    const head = requestHead(this.method, this.path, this.headers, u.name, this.chunked);
    const fresh = this.fresh;
    this.fresh = false;
    this.request = u.pool.request(head, this.method === 'HEAD', this.hasBody ? { stream: this.req, chunked: this.chunked } : undefined, this, fresh);
  }

  onResponseHead(statusCode: number, statusMessage: string, headers: string[]): void {
    this.responded = true;
    this.status = statusCode;
    const rt = this.rt;
    if (this.upstream) rt.upstreams.connectSucceeded(this.upstream);
    const policy = rt.policy;
    if (this.setCookie !== undefined) headers.push('set-cookie', this.setCookie);
    if (policy.hsts && this.options.proto === 'https') {
      for (let i = headers.length - 2; i >= 0; i -= 2) if (headers[i]!.toLowerCase() === 'strict-transport-security') headers.splice(i, 2);
      headers.push('strict-transport-security', HSTS_VALUE);
    }
    if (policy.revproxyPath !== undefined) {
      for (let i = 0; i < headers.length; i += 2) {
        const location = headers[i + 1]!;
        if (headers[i]!.toLowerCase() === 'location' && location.startsWith('/')) headers[i + 1] = policy.revproxyPath + location;
      }
    }
    if (PID_HEADER !== undefined) headers.push('x-pacer-pid', PID_HEADER);
    if (this.done) return;
    try {
      this.res.writeHead(statusCode, statusMessage, headers);
    } catch {
      // The client parser validates names and values; this is the second line of defence (a
      // header node:http refuses must not throw inside the upstream socket's 'data' handler).
      this.responded = false;
      const request = this.request;
      this.request = undefined;
      request?.abort();
      if (this.upstream) {
        this.rt.upstreams.release(this.upstream);
        this.upstream = undefined;
      }
      try {
        this.fail(502, 'bad gateway: invalid response from the backend\n');
      } catch {
        this.res.destroy();
        this.finish(502);
      }
    }
  }

  onResponseData(chunk: Buffer): boolean {
    this.rt.metrics.bytesOut.inc(chunk.length);
    if (this.done) return true;
    if (this.res.write(chunk)) return true;
    this.res.once('drain', this.onDrain);
    return false;
  }

  onResponseEnd(): void {
    this.request = undefined;
    this.res.end();
    this.finish(this.status);
  }

  onResponseError(error: UpstreamError): void {
    this.request = undefined;
    const u = this.upstream;
    this.upstream = undefined;
    const code = error.code;
    // Nothing was written: the connect failed (a socket error on a connected socket is not one).
    const connectError = CONNECT_ERRORS.has(code) && !error.sent;
    // The backend closed a kept-alive connection as the request went out: not its fault.
    const stale = error.reused && error.received === 0 && !NOT_STALE.has(code);
    if (u) {
      this.rt.upstreams.release(u);
      if (connectError) this.rt.upstreams.connectFailed(u, code);
      // The backend had the whole request and broke the exchange before any response byte. (Not
      // while the client was still sending: a slow client must not get a backend ejected.)
      else if (error.complete && !this.responded && !stale && error.received === 0 && code !== BAD_RESPONSE) this.rt.upstreams.responseFailed(u, code);
      if (!stale) (this.tried ??= new Set()).add(u.key);
    }
    if (this.done) return;
    if (this.responded) {
      // The head went out: the client must see the answer cut (the connection closed before the
      // declared length or the last chunk), never a short answer that looks complete.
      this.res.destroy(error);
      this.finish(this.status);
      return;
    }
    // Only when the request cannot have been processed: the connect failed (nothing was sent, the
    // body unread), or a reused keep-alive connection closed or reset before any response byte
    // (the backend closed it as the request went out; idempotent, bodiless requests only). Never
    // after a timeout or a bad answer: the backend may have acted on it.
    const retryable = connectError || (stale && !this.hasBody && IDEMPOTENT.has(this.method));
    if (retryable && this.attempts < this.options.maxAttempts) {
      this.fresh = stale;
      this.start();
      return;
    }
    if (code === TIMEOUT) this.fail(504, 'backend timed out\n');
    else if (connectError) this.fail(503, 'no backend could be reached\n');
    else if (code === BAD_RESPONSE) this.fail(502, 'bad gateway: invalid response from the backend\n');
    else this.fail(502, 'bad gateway: the backend failed to answer\n');
  }

  fail(status: number, body: string): void {
    sendSmall(this.res, status, body);
    this.finish(status);
  }

  finish(status: number): void {
    if (this.done) return;
    this.done = true;
    const rt = this.rt;
    if (this.upstream) {
      rt.upstreams.release(this.upstream);
      this.upstream = undefined;
    }
    rt.metrics.httpOpen.dec();
    rt.metrics.request(this.method, status);
    rt.metrics.duration.observe((performance.now() - this.started) / 1000);
    const length = this.req.headers['content-length'];
    if (length !== undefined) rt.metrics.bytesIn.inc(Number(length) || 0);
  }

  readonly onDrain = (): void => {
    this.request?.resume();
  };

  readonly onDownstreamClose = (): void => {
    if (this.done) return;
    // The client went away before the response ended.
    this.request?.abort();
    this.request = undefined;
    this.finish(499);
  };
}
