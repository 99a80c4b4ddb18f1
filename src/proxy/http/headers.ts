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

/**
 * Removes hop-by-hop headers from an upstream response's headers (undici's lower-cased object), in
 * place, and returns it.
 */
export function stripResponseHeaders<H extends Record<string, string | string[] | undefined>>(headers: H): H {
  const named = connectionTokens(headers['connection']);
  for (const name of HOP_BY_HOP) delete headers[name];
  if (named) for (const name of named) delete headers[name];
  return headers;
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

/** `HTTP_BACKEND_PROXYPASS_PATH`: the request target with the prefix stripped (always starts with `/`). */
export function proxypassTarget(url: string, strip: string | undefined): string {
  if (strip === undefined || !url.startsWith(strip)) return url;
  const path = url.slice(strip.replace(/\/$/, '').length);
  return path.startsWith('/') ? path : `/${path}`;
}
