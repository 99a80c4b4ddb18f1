/**
 * The request side of every HTTP listener (an HTTP-mode service port, or the shared virtual-host
 * listeners on `--http-port`/`--https-port`): find the service, apply its policy in marathon-lb's
 * order, then forward.
 *
 * Policy, per service (labels of the port): `BACKEND_NETWORK_ALLOWED_ACL` (403 to other clients),
 * `REDIRECT_TO_HTTPS` (301 to https for requests that came in plain), `HTTP_BACKEND_REDIR` (301
 * from `/`), `AUTH` (basic auth, 401 with a realm), `HTTP_BACKEND_PROXYPASS_PATH` (prefix stripped
 * before forwarding); `USE_HSTS`, `STICKY` and `HTTP_BACKEND_REVPROXY_PATH` act on the response.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { tryVerifyPassword } from '../auth/password.ts';
import type { ServiceRuntime } from '../service.ts';
import { Exchange, sendSmall } from './exchange.ts';
import { hostName, proxypassTarget, unmapAddress, upstreamRequestHeaders, type ForwardInfo } from './headers.ts';
import { proxyUpgrade } from './upgrade.ts';

export interface HttpListenerContext {
  readonly proto: 'http' | 'https';
  /** The listener's port, as text (X-Forwarded-Port). */
  readonly port: string;
  /** Port of the HTTPS listener for redirects (0: none; 443 is left out of the URL). */
  readonly httpsPort: number;
  readonly maxAttempts: number;
  readonly connectTimeoutMs: number;
  readonly idleTimeoutMs: number;
}

const NO_ROUTE = 'pacer: no service for this host\n';

/** Finds the service of a request: fixed for a service port, by vhost/path/app id for the shared listeners. */
export type Resolve = (req: IncomingMessage) => ServiceRuntime | undefined;

export function handleRequest(req: IncomingMessage, res: ServerResponse, resolve: Resolve, ctx: HttpListenerContext): void {
  const rt = resolve(req);
  if (!rt) {
    sendSmall(res, 503, NO_ROUTE);
    return;
  }
  if (rt.closing) res.shouldKeepAlive = false;
  const policy = rt.policy;
  if (rt.acl && !rt.allows(req.socket.remoteAddress)) return answer(rt, req, res, 403, 'forbidden\n');
  if (policy.redirectToHttps && ctx.proto === 'http') {
    return answer(rt, req, res, 301, 'moved to https\n', { location: httpsUrl(req, ctx.httpsPort) });
  }
  if (policy.backendRedir !== undefined && (req.url === '/' || req.url === '')) {
    return answer(rt, req, res, 301, 'moved\n', { location: policy.backendRedir });
  }
  if (policy.auth) {
    void authorize(req, rt).then((ok) => {
      // The client may have gone while the password was checked: nothing to forward.
      if (req.socket.destroyed || res.destroyed) return;
      if (ok === 'busy') answer(rt, req, res, 503, 'busy: try again\n', { 'retry-after': '1' });
      else if (ok) forward(req, res, rt, ctx);
      else answer(rt, req, res, 401, 'authentication required\n', { 'www-authenticate': policy.authChallenge ?? 'Basic' });
    });
    return;
  }
  forward(req, res, rt, ctx);
}

function forward(req: IncomingMessage, res: ServerResponse, rt: ServiceRuntime, ctx: HttpListenerContext): void {
  const info: ForwardInfo = { clientAddress: unmapAddress(req.socket.remoteAddress), proto: ctx.proto, port: ctx.port };
  const path = proxypassTarget(req.url ?? '/', rt.policy.proxypassPath);
  new Exchange(req, res, rt, upstreamRequestHeaders(req.rawHeaders, info), path, { proto: ctx.proto, maxAttempts: ctx.maxAttempts }).start();
}

function answer(rt: ServiceRuntime, req: IncomingMessage, res: ServerResponse, status: number, body: string, headers?: Record<string, string>): void {
  sendSmall(res, status, body, headers);
  rt.metrics.request(req.method ?? 'GET', status);
}

function httpsUrl(req: IncomingMessage, httpsPort: number): string {
  const host = hostName(req.headers.host);
  const port = httpsPort === 443 || httpsPort === 0 ? '' : `:${httpsPort}`;
  return `https://${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}${port}${req.url ?? '/'}`;
}

/** The basic-auth check: `'busy'` when the process already runs its maximum of password hashes. */
async function authorize(req: IncomingMessage, rt: ServiceRuntime): Promise<boolean | 'busy'> {
  const auth = rt.policy.auth;
  if (!auth) return true;
  const header = req.headers.authorization;
  if (!header || !/^basic /i.test(header)) return false;
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon === -1 || decoded.slice(0, colon) !== auth.user) return false;
  return tryVerifyPassword(decoded.slice(colon + 1), auth.passwordHash);
}

/** The `upgrade` side (WebSocket): the same policy, then a raw splice to one backend. */
export function handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, resolve: Resolve, ctx: HttpListenerContext): void {
  socket.on('error', () => undefined);
  const rt = resolve(req);
  if (!rt || (rt.acl && !rt.allows(req.socket.remoteAddress))) {
    socket.end(`HTTP/1.1 ${rt ? '403 Forbidden' : '503 Service Unavailable'}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
    return;
  }
  if (rt.policy.redirectToHttps && ctx.proto === 'http') {
    socket.end(`HTTP/1.1 301 Moved Permanently\r\nlocation: ${httpsUrl(req, ctx.httpsPort)}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
    return;
  }
  if (rt.policy.auth) {
    void authorize(req, rt).then((ok) => {
      if (socket.destroyed || req.socket.destroyed) return;
      if (ok === 'busy') socket.end('HTTP/1.1 503 Service Unavailable\r\nretry-after: 1\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      else if (ok) proxyUpgrade(req, socket, head, rt, ctx);
      else socket.end(`HTTP/1.1 401 Unauthorized\r\nwww-authenticate: ${rt.policy.authChallenge ?? 'Basic'}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
    });
    return;
  }
  proxyUpgrade(req, socket, head, rt, ctx);
}
