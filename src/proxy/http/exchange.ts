/**
 * One HTTP request forwarded upstream: the downstream request streams into an undici pool
 * `dispatch` (no buffering), the upstream response streams back with backpressure both ways.
 *
 * Retries: a request that has no body is sent again, to another backend, when the connect fails
 * (refused, timed out: nothing was sent), and, when its method is idempotent, when the upstream
 * connection fails before any byte of a response (the classic race: the backend closed an idle
 * keep-alive connection just as the request went out on it). At most `maxAttempts` attempts.
 * When nothing answers: 503 (no backend, or none could be connected), 504 (timeout), 502 (broken
 * or invalid response), each with a one-line body.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Dispatcher } from 'undici';
import { HSTS_VALUE, STICKY_COOKIE, type ServiceRuntime } from '../service.ts';
import type { UpstreamState } from '../upstreams.ts';
import { cookieValue, stripResponseHeaders } from './headers.ts';

type Headers = Record<string, string | string[] | undefined>;

const IDEMPOTENT: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);
const CONNECT_ERRORS: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'ETIMEDOUT',
]);
const TIMEOUT_ERRORS: ReadonlySet<string> = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

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

export class Exchange implements Dispatcher.DispatchHandler {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly rt: ServiceRuntime;
  readonly started: number;
  readonly headers: string[];
  readonly path: string;
  readonly options: ExchangeOptions;
  readonly hasBody: boolean;
  upstream: UpstreamState | undefined;
  controller: Dispatcher.DispatchController | undefined;
  tried: Set<string> | undefined;
  attempts = 0;
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
    this.options = options;
    this.started = performance.now();
    const length = req.headers['content-length'];
    this.hasBody = req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
    rt.metrics.httpOpen.inc();
    res.once('close', this.onDownstreamClose);
  }

  start(): void {
    const rt = this.rt;
    let u: UpstreamState | undefined;
    if (rt.policy.sticky) {
      const wanted = cookieValue(this.req.headers.cookie, STICKY_COOKIE);
      u = wanted === undefined ? undefined : rt.upstreams.byCookie(wanted);
      if (!u) {
        u = rt.upstreams.pick(rt.balancer, { clientAddress: this.req.socket.remoteAddress }, this.tried);
        if (u) this.setCookie = `${STICKY_COOKIE}=${u.cookie}; path=/`;
      }
    } else u = rt.upstreams.pick(rt.balancer, { clientAddress: this.req.socket.remoteAddress }, this.tried);
    if (!u) {
      this.fail(503, 'no backend available\n');
      return;
    }
    if (this.attempts > 0) rt.metrics.retries.inc();
    this.attempts++;
    this.upstream = u;
    rt.upstreams.acquire(u);
    u.pool.dispatch(
      {
        path: this.path,
        method: this.req.method ?? 'GET',
        headers: this.headers,
        body: this.hasBody ? this.req : null,
      },
      this,
    );
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.done) controller.abort(new Error('downstream closed'));
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: Headers, statusMessage?: string): void {
    if (statusCode < 200) return;
    this.responded = true;
    this.status = statusCode;
    const rt = this.rt;
    if (this.upstream) rt.upstreams.connectSucceeded(this.upstream);
    stripResponseHeaders(headers);
    const policy = rt.policy;
    if (this.setCookie !== undefined) {
      const existing = headers['set-cookie'];
      headers['set-cookie'] = existing === undefined ? this.setCookie : [...(typeof existing === 'string' ? [existing] : existing), this.setCookie];
    }
    if (policy.hsts && this.options.proto === 'https') headers['strict-transport-security'] = HSTS_VALUE;
    if (policy.revproxyPath !== undefined) {
      const location = headers['location'];
      if (typeof location === 'string' && location.startsWith('/')) headers['location'] = policy.revproxyPath.replace(/\/$/, '') + location;
    }
    if (this.done) return;
    this.res.writeHead(statusCode, statusMessage ?? '', headers);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.rt.metrics.bytesOut.inc(chunk.length);
    if (!this.res.write(chunk)) {
      controller.pause();
      this.res.once('drain', this.onDrain);
    }
  }

  onResponseEnd(): void {
    this.res.end();
    this.finish(this.status);
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    const u = this.upstream;
    this.upstream = undefined;
    const code = (error as NodeJS.ErrnoException).code ?? '';
    const connectError = CONNECT_ERRORS.has(code);
    if (u) {
      this.rt.upstreams.release(u);
      if (connectError) {
        this.rt.upstreams.connectFailed(u, code);
        (this.tried ??= new Set()).add(u.key);
      }
    }
    if (this.done) return;
    if (this.responded) {
      this.res.destroy(error);
      this.finish(this.status);
      return;
    }
    const method = this.req.method ?? 'GET';
    const retryable = !this.hasBody && (connectError || IDEMPOTENT.has(method));
    if (retryable && this.attempts < this.options.maxAttempts) {
      this.start();
      return;
    }
    if (TIMEOUT_ERRORS.has(code)) this.fail(504, 'backend timed out\n');
    else if (connectError) this.fail(503, 'no backend could be reached\n');
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
    rt.metrics.request(this.req.method ?? 'GET', status);
    rt.metrics.duration.observe((performance.now() - this.started) / 1000);
    const length = this.req.headers['content-length'];
    if (length !== undefined) rt.metrics.bytesIn.inc(Number(length) || 0);
  }

  readonly onDrain = (): void => {
    this.controller?.resume();
  };

  readonly onDownstreamClose = (): void => {
    if (this.done) return;
    // The client went away before the response ended.
    this.controller?.abort(new Error('downstream closed'));
    this.finish(499);
  };
}
