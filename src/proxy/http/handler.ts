/**
 * The request side of every HTTP listener (an HTTP-mode service port, or the shared virtual-host
 * listeners on `--http-port`/`--https-port`): find the service, apply its policy in marathon-lb's
 * order, then forward.
 *
 * Policy, per service (labels of the port): `BACKEND_NETWORK_ALLOWED_ACL` (403 to other clients),
 * `REDIRECT_TO_HTTPS` (301 to https for requests that came in plain), `HTTP_BACKEND_REDIR` (301
 * from `/`), `AUTH` (basic auth, 401 with a realm), `HTTP_BACKEND_PROXYPASS_PATH` (prefix stripped
 * before forwarding); `USE_HSTS`, `STICKY` and `HTTP_BACKEND_REVPROXY_PATH` act on the response.
 *
 * Before any of that, a request node:http's parser accepted but a proxy must not forward
 * (`requestRefusal`, `originTarget` in headers.ts: two Host headers, a target naming another host,
 * Transfer-Encoding in HTTP/1.0, …) is answered 400/501/505 with `Connection: close`, and
 * nothing more is read from that connection: a request pipelined behind it is never forwarded.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { tryVerifyPassword } from '../auth/password.ts';
import type { ServiceRuntime } from '../service.ts';
import { Exchange, sendSmall } from './exchange.ts';
import { closingResponse, hostName, originTarget, proxypassTarget, requestRefusal, unmapAddress, upstreamRequestHeaders, type ForwardInfo, type Refusal } from './headers.ts';
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

/** Connections on which a request was refused as malformed: whatever follows on them is dropped. */
const refused = new WeakSet<Socket>();

/**
 * The protocol checks every request passes before it is routed: undefined when it passes (and
 * `req.url` is then in origin form), the refusal to answer, or `'dropped'` when an earlier request
 * on the connection was refused.
 */
function admissible(req: IncomingMessage): Refusal | 'dropped' | undefined {
  if (refused.has(req.socket)) return 'dropped';
  const refusal = requestRefusal(req.httpVersionMajor, req.httpVersionMinor, req.rawHeaders);
  if (refusal) return refusal;
  const url = req.url ?? '/';
  const target = originTarget(req.method ?? 'GET', url, req.headers.host);
  if (typeof target !== 'string') return target;
  if (target !== url) req.url = target;
  return undefined;
}

export function handleRequest(req: IncomingMessage, res: ServerResponse, resolve: Resolve, ctx: HttpListenerContext): void {
  const problem = admissible(req);
  if (problem !== undefined) {
    // A request pipelined behind a refused one gets no answer: the connection closes after the refusal.
    if (problem === 'dropped') return;
    refused.add(req.socket);
    res.shouldKeepAlive = false;
    sendSmall(res, problem.status, `${problem.reason}\n`, { connection: 'close' });
    return;
  }
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
  // Two Authorization headers: pacer would check the first and the backend might read the second.
  let count = 0;
  for (let i = 0; i < req.rawHeaders.length; i += 2) if (req.rawHeaders[i]!.length === 13 && req.rawHeaders[i]!.toLowerCase() === 'authorization') count++;
  if (count > 1) return false;
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon === -1 || decoded.slice(0, colon) !== auth.user) return false;
  return tryVerifyPassword(decoded.slice(colon + 1), auth.passwordHash);
}

/** The `upgrade` side (WebSocket): the same policy, then a raw splice to one backend. */
export function handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, resolve: Resolve, ctx: HttpListenerContext): void {
  socket.on('error', () => undefined);
  const problem = admissible(req);
  if (problem !== undefined) {
    if (problem === 'dropped') socket.end();
    else socket.end(closingResponse(problem.status));
    return;
  }
  const rt = resolve(req);
  if (!rt || (rt.acl && !rt.allows(req.socket.remoteAddress))) {
    socket.end(closingResponse(rt ? 403 : 503));
    return;
  }
  if (rt.policy.redirectToHttps && ctx.proto === 'http') {
    socket.end(closingResponse(301, { location: httpsUrl(req, ctx.httpsPort) }));
    return;
  }
  if (rt.policy.auth) {
    void authorize(req, rt).then((ok) => {
      if (socket.destroyed || req.socket.destroyed) return;
      if (ok === 'busy') socket.end(closingResponse(503, { 'retry-after': '1' }));
      else if (ok) proxyUpgrade(req, socket, head, rt, ctx);
      else socket.end(closingResponse(401, { 'www-authenticate': rt.policy.authChallenge ?? 'Basic' }));
    });
    return;
  }
  proxyUpgrade(req, socket, head, rt, ctx);
}
