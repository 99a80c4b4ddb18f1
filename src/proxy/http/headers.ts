/**
 * Header handling of the HTTP proxy, pure (no I/O): what goes upstream from a downstream request,
 * what goes downstream from an upstream response.
 *
 * Hop-by-hop headers (RFC 9110 §7.6.1) are never forwarded: `Connection` and every header it
 * names, `Keep-Alive`, `TE`, `Trailer`, `Transfer-Encoding`, `Upgrade` and the `Proxy-*` family
 * (`Proxy-Connection`, `Proxy-Authorization`, `Proxy-Authenticate`). Each connection's framing is
 * its own: Node frames the downstream side, pacer's upstream client (`client.ts`) the upstream side. `Expect` is answered by the
 * downstream server (100-continue) and not forwarded.
 *
 * Upstream requests carry `X-Forwarded-For` (appended to what the client sent, as HAProxy's
 * `option forwardfor` does with one header per hop), `X-Forwarded-Proto` and `X-Forwarded-Port`
 * (set, as marathon-lb's `http-request set-header`), and `Forwarded` (RFC 7239, appended).
 */
import { STATUS_CODES } from 'node:http';

const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'proxy-connection',
  'proxy-authorization',
  'proxy-authenticate',
]);

/** Headers the proxy sets itself on upstream requests (whatever the client sent is replaced or extended). */
const SET_BY_PROXY: ReadonlySet<string> = new Set(['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-port', 'forwarded', 'expect']);

/** What the proxy knows about the downstream connection, for the forwarding headers. */
export interface ForwardInfo {
  /** Client IP as seen by the proxy (IPv4-mapped IPv6 addresses unmapped). */
  readonly clientAddress: string;
  readonly proto: 'http' | 'https';
  /** Port the client connected to, as text. */
  readonly port: string;
}

export function isHopByHop(lowerName: string): boolean {
  return HOP_BY_HOP.has(lowerName);
}

/** Header names listed in `Connection` values (lower case), or undefined when there are none. */
export function connectionTokens(values: string | readonly string[] | undefined): Set<string> | undefined {
  if (values === undefined) return undefined;
  let tokens: Set<string> | undefined;
  for (const value of typeof values === 'string' ? [values] : values) {
    for (const part of value.split(',')) {
      const token = part.trim().toLowerCase();
      if (token === '' || token === 'close' || token === 'keep-alive') continue;
      (tokens ??= new Set()).add(token);
    }
  }
  return tokens;
}

/** `::ffff:10.0.0.1` → `10.0.0.1`; anything else unchanged. */
export function unmapAddress(address: string | undefined): string {
  if (address === undefined) return '';
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

function forwardedNode(address: string): string {
  return address.includes(':') ? `"[${address}]"` : address;
}

/**
 * The header list (flat `[name, value, name, value, …]`) to send upstream for
 * a downstream request's `rawHeaders`. One pass; names keep the client's spelling.
 */
export function upstreamRequestHeaders(rawHeaders: readonly string[], info: ForwardInfo, extra?: readonly string[]): string[] {
  const out: string[] = [];
  let xff: string | undefined;
  let forwarded: string | undefined;
  let named: Set<string> | undefined;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    if (name.length === 10 && name.toLowerCase() === 'connection') {
      const tokens = connectionTokens(rawHeaders[i + 1]);
      if (tokens) for (const t of tokens) (named ??= new Set()).add(t);
    }
  }
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    const value = rawHeaders[i + 1]!;
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || named?.has(lower)) continue;
    if (SET_BY_PROXY.has(lower)) {
      if (lower === 'x-forwarded-for') xff = xff === undefined ? value : `${xff}, ${value}`;
      else if (lower === 'forwarded') forwarded = forwarded === undefined ? value : `${forwarded}, ${value}`;
      continue;
    }
    out.push(name, value);
  }
  const client = info.clientAddress;
  out.push('x-forwarded-for', xff === undefined ? client : `${xff}, ${client}`);
  out.push('x-forwarded-proto', info.proto);
  out.push('x-forwarded-port', info.port);
  const node = `for=${forwardedNode(client)};proto=${info.proto}`;
  out.push('forwarded', forwarded === undefined ? node : `${forwarded}, ${node}`);
  if (extra) for (const h of extra) out.push(h);
  return out;
}

/**
 * The request head to send upstream (request line, `headers` from `upstreamRequestHeaders`, empty
 * line), as one string. A request without `Host` (HTTP/1.0) gets the backend's `address:port`;
 * `chunked` adds the framing of a body whose length the client did not give.
 */
export function requestHead(method: string, path: string, headers: readonly string[], defaultHost: string, chunked: boolean): string {
  let head = `${method} ${path} HTTP/1.1\r\n`;
  let host = false;
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!;
    if (!host && name.length === 4 && name.toLowerCase() === 'host') host = true;
    head += `${name}: ${headers[i + 1]!}\r\n`;
  }
  if (!host) head += `host: ${defaultHost}\r\n`;
  if (chunked) head += 'transfer-encoding: chunked\r\n';
  return `${head}\r\n`;
}

/** Host header → lower-case host name without the port (`Web.Example.com:8080` → `web.example.com`). */
export function hostName(host: string | undefined): string {
  if (!host) return '';
  let end = host.length;
  if (host.charCodeAt(0) === 91 /* [ */) {
    const close = host.indexOf(']');
    return (close === -1 ? host : host.slice(0, close + 1)).toLowerCase();
  }
  const colon = host.lastIndexOf(':');
  if (colon !== -1) end = colon;
  let name = host.slice(0, end);
  if (name.endsWith('.')) name = name.slice(0, -1);
  return name.toLowerCase();
}

/**
 * The request head to write on a raw upstream connection for an upgrade (WebSocket): the client's
 * request line and headers, `Connection`/`Upgrade` kept (they are the point), forwarding headers
 * replaced as for any request.
 */
export function upgradeRequestHead(method: string, url: string, rawHeaders: readonly string[], info: ForwardInfo): string {
  let head = `${method} ${url} HTTP/1.1\r\n`;
  let xff: string | undefined;
  let forwarded: string | undefined;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    const value = rawHeaders[i + 1]!;
    const lower = name.toLowerCase();
    if (SET_BY_PROXY.has(lower)) {
      if (lower === 'x-forwarded-for') xff = xff === undefined ? value : `${xff}, ${value}`;
      else if (lower === 'forwarded') forwarded = forwarded === undefined ? value : `${forwarded}, ${value}`;
      continue;
    }
    if (lower === 'proxy-connection' || lower === 'proxy-authorization' || lower === 'keep-alive') continue;
    head += `${name}: ${value}\r\n`;
  }
  const client = info.clientAddress;
  const node = `for=${forwardedNode(client)};proto=${info.proto}`;
  head += `x-forwarded-for: ${xff === undefined ? client : `${xff}, ${client}`}\r\n`;
  head += `x-forwarded-proto: ${info.proto}\r\nx-forwarded-port: ${info.port}\r\n`;
  head += `forwarded: ${forwarded === undefined ? node : `${forwarded}, ${node}`}\r\n\r\n`;
  return head;
}

/** The value of one cookie in a `Cookie` header, or undefined. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  let at = header.indexOf(name);
  while (at !== -1) {
    const before = at === 0 ? ' ' : header[at - 1];
    if ((before === ' ' || before === ';') && header[at + name.length] === '=') {
      const start = at + name.length + 1;
      const end = header.indexOf(';', start);
      return header.slice(start, end === -1 ? undefined : end).trim();
    }
    at = header.indexOf(name, at + 1);
  }
  return undefined;
}

/** Why a request is refused before it is routed; the connection is closed after the answer. */
export interface Refusal {
  readonly status: 400 | 501 | 505;
  readonly reason: string;
}

/** RFC 9110 §7.2 `Host = uri-host [ ":" port ]` (RFC 3986 IP-literal, IPv4 or reg-name). */
const HOST_VALUE = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~!$&'()*+,;=%]*)(?::[0-9]*)?$/;

const VERSION: Refusal = { status: 505, reason: 'HTTP version not supported' };
const TWO_HOSTS: Refusal = { status: 400, reason: 'bad request: more than one Host header' };
const BAD_HOST: Refusal = { status: 400, reason: 'bad request: invalid Host header' };
const TE_10: Refusal = { status: 400, reason: 'bad request: Transfer-Encoding in an HTTP/1.0 request' };
const NOT_CHUNKED: Refusal = { status: 400, reason: 'bad request: Transfer-Encoding does not end in chunked' };
const CODING: Refusal = { status: 501, reason: 'transfer coding not implemented (only chunked)' };
const TARGET: Refusal = { status: 400, reason: 'bad request: invalid request target' };
const AUTHORITY: Refusal = { status: 400, reason: 'bad request: the request target and Host name different hosts' };

/**
 * What node:http's strict parser (llhttp) lets through but a proxy must not forward, checked on
 * every request before it is routed (RFC 9112/9110; the parser already refuses both
 * Content-Length and Transfer-Encoding, duplicate or non-numeric lengths, `chunked` not last,
 * obs-fold, bare CR/LF, whitespace before a colon and bad chunk sizes, and node:http answers 431
 * beyond `maxHeaderSize` or 1,000 header lines):
 * - an HTTP version other than 1.x (llhttp accepts `HTTP/2.0` and 0.9 request lines): 505;
 * - more than one `Host`, or a `Host` that is not `host[:port]` (RFC 9112 §3.2): 400;
 * - `Transfer-Encoding` in an HTTP/1.0 request (RFC 9112 §6.1: faulty framing): 400;
 * - a `Transfer-Encoding` whose last coding is not `chunked`: 400; a coding before `chunked`
 *   (`gzip, chunked`: pacer re-frames the body and would drop the coding): 501 (RFC 9112 §6.1).
 */
export function requestRefusal(versionMajor: number, versionMinor: number, rawHeaders: readonly string[]): Refusal | undefined {
  if (versionMajor !== 1) return VERSION;
  let hosts = 0;
  let codings: string | undefined;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    if (name.length === 4) {
      if (name.toLowerCase() !== 'host') continue;
      if (++hosts > 1) return TWO_HOSTS;
      if (!HOST_VALUE.test(rawHeaders[i + 1]!)) return BAD_HOST;
    } else if (name.length === 17 && name.toLowerCase() === 'transfer-encoding') {
      codings = codings === undefined ? rawHeaders[i + 1]! : `${codings},${rawHeaders[i + 1]!}`;
    }
  }
  if (codings !== undefined) {
    if (versionMinor === 0) return TE_10;
    const list = codings.split(',').map((c) => c.trim()).filter((c) => c !== '');
    // RFC 9112 §6.1: `chunked` not last → the length cannot be determined: 400 (llhttp would
    // refuse it too, but only once the head was read and handed to pacer); another coding before
    // it → 501.
    if (list.length === 0 || list[list.length - 1]!.toLowerCase() !== 'chunked') return NOT_CHUNKED;
    if (list.length !== 1) return CODING;
  }
  return undefined;
}

const ABSOLUTE = /^(https?):\/\/([^/?#]*)([^#]*)$/i;

/**
 * The request target to route and forward, in origin form (RFC 9112 §3.2.1: what a client sends
 * to an origin server), or why the request is refused. `/path?query` is returned as is (and
 * `*` for OPTIONS). The absolute form (`http://host/path`) is accepted when its authority names
 * the same host and port as the `Host` header (RFC 9112 §3.2.2 has a server use the target's
 * authority and ignore Host: pacer routes by Host, so a request whose two disagree is refused,
 * as HAProxy does) and without userinfo; anything else is a 400.
 */
export function originTarget(method: string, url: string, host: string | undefined): string | Refusal {
  if (url.charCodeAt(0) === 47 /* / */) return url;
  if (url === '*' && method === 'OPTIONS') return url;
  const m = ABSOLUTE.exec(url);
  if (!m) return TARGET;
  const scheme = m[1]!.toLowerCase();
  const authority = m[2]!;
  if (authority === '' || authority.includes('@') || !HOST_VALUE.test(authority)) return TARGET;
  if (host === undefined || !sameAuthority(authority, host, scheme === 'https' ? '443' : '80')) return AUTHORITY;
  const rest = m[3]!;
  return rest === '' ? '/' : rest.charCodeAt(0) === 63 /* ? */ ? `/${rest}` : rest;
}

function sameAuthority(a: string, b: string, defaultPort: string): boolean {
  return hostName(a) === hostName(b) && portOf(a, defaultPort) === portOf(b, defaultPort);
}

function portOf(authority: string, defaultPort: string): string {
  const close = authority.lastIndexOf(']');
  const colon = authority.lastIndexOf(':');
  if (colon === -1 || colon < close) return defaultPort;
  const port = authority.slice(colon + 1).replace(/^0+(?=\d)/, '');
  return port === '' ? defaultPort : port;
}

/** `HTTP_BACKEND_PROXYPASS_PATH`: the request target with the prefix stripped (always starts with `/`). */
export function proxypassTarget(url: string, strip: string | undefined): string {
  if (strip === undefined || !url.startsWith(strip)) return url;
  const path = url.slice(strip.endsWith('/') ? strip.length - 1 : strip.length);
  return path.startsWith('/') ? path : `/${path}`;
}

/**
 * A whole answer for a raw socket, after which the connection closes: the status line (reason
 * phrase from node:http), `extra` header lines, `connection: close`, the length, and `body`.
 */
export function closingResponse(status: number, extra: Readonly<Record<string, string>> = {}, body = ''): string {
  let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n`;
  for (const [name, value] of Object.entries(extra)) head += `${name}: ${value}\r\n`;
  return `${head}connection: close\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}
