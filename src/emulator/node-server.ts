// One emulated Marathon node (leader or standby): auth, faults, leader proxying semantics, SSE, and dispatch.
import http from 'node:http';
import type net from 'node:net';
import type { FaultState } from './faults.ts';
import type { MarathonApi, Reply } from './http-api.ts';
import type { SseHub } from './sse.ts';

export interface NodeContext {
  api: MarathonApi;
  hub: SseHub;
  faults: FaultState;
  /** 'user:pass' or undefined. */
  credentials: string | undefined;
  /** host:port of the leader node, or undefined during a no-leader fault. */
  leaderHostPort: () => string | undefined;
  isLeader: (nodeId: string) => boolean;
  control: (req: http.IncomingMessage, res: http.ServerResponse, url: URL, body: string) => Promise<void>;
}

/** A Jetty-style HTML error page. */
export function jettyErrorPage(status: number, reason: string, path: string): string {
  return `<html>\n<head>\n<meta http-equiv="Content-Type" content="text/html;charset=ISO-8859-1"/>\n`
    + `<title>Error ${status} ${reason}</title>\n</head>\n<body><h2>HTTP ERROR ${status}</h2>\n`
    + `<p>Problem accessing ${path}. Reason:\n<pre>    ${reason}</pre></p><hr><a href="http://eclipse.org/jetty">Powered by Jetty:// 9.4.z</a><hr/>\n`
    + `</body>\n</html>\n`;
}

function sendHtml(res: http.ServerResponse, status: number, reason: string, path: string, headers: Record<string, string> = {}): void {
  const body = jettyErrorPage(status, reason, path);
  res.writeHead(status, { 'Content-Type': 'text/html;charset=iso-8859-1', 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'must-revalidate,no-cache,no-store', ...headers });
  res.end(body);
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => { setTimeout(resolve, ms).unref(); });
}

export function formatHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

export class NodeServer {
  readonly id: string;
  readonly server: http.Server;
  readonly #ctx: NodeContext;
  readonly #sockets = new Set<net.Socket>();
  #hostPort = '';

  constructor(id: string, ctx: NodeContext) {
    this.id = id;
    this.#ctx = ctx;
    this.server = http.createServer((req, res) => { void this.#handle(req, res); });
    this.server.on('connection', (s) => {
      this.#sockets.add(s);
      s.on('close', () => this.#sockets.delete(s));
    });
  }

  get hostPort(): string {
    return this.#hostPort;
  }

  get url(): string {
    return `http://${this.#hostPort}`;
  }

  listen(host: string, port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        const addr = this.server.address();
        const actual = typeof addr === 'object' && addr !== null ? addr.port : port;
        this.#hostPort = formatHostPort(host, actual);
        resolve();
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      for (const s of this.#sockets) s.destroy();
      this.server.close(() => resolve());
    });
  }

  #authorised(req: http.IncomingMessage): boolean {
    const creds = this.#ctx.credentials;
    if (creds === undefined) return true;
    const h = req.headers.authorization ?? '';
    const m = /^basic\s+(.+)$/i.exec(h);
    if (m === null) return false;
    return Buffer.from(m[1] ?? '', 'base64').toString('utf8') === creds;
  }

  async #handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    res.on('error', () => { /* client went away */ });
    const url = new URL(req.url ?? '/', 'http://emulator');
    const path = url.pathname;
    let body: string;
    try {
      body = await readBody(req);
    } catch {
      res.destroy();
      return;
    }
    if (path === '/_emulator' || path.startsWith('/_emulator/')) {
      await this.#ctx.control(req, res, url, body);
      return;
    }
    if (!this.#authorised(req)) {
      sendHtml(res, 401, 'Unauthorized', path, { 'WWW-Authenticate': 'basic realm="Mesosphere"' });
      return;
    }
    const { faults } = this.#ctx;
    const delay = faults.slowDelayMs('headers');
    if (delay > 0) await sleep(delay);
    const bodyDelay = path === '/v2/events' ? 0 : faults.slowDelayMs('body');
    if (bodyDelay > 0) delayBody(res, bodyDelay);
    const isApiPath = path === '/ping' || path.startsWith('/v2/') || path === '/v2';
    if (isApiPath && faults.noLeader()) {
      sendHtml(res, 502, 'Could not determine the current leader', path);
      return;
    }
    const errStatus = faults.httpErrorStatus();
    if (isApiPath && errStatus !== undefined) {
      const b = JSON.stringify({ message: `emulated HTTP ${errStatus}` });
      res.writeHead(errStatus, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(b) });
      res.end(b);
      return;
    }
    const leader = this.#ctx.leaderHostPort();
    const isLeader = this.#ctx.isLeader(this.id);
    if (path === '/v2/events') {
      if (!isLeader) {
        if (leader === undefined) { sendHtml(res, 502, 'Could not determine the current leader', path); return; }
        res.writeHead(302, { 'Location': `http://${leader}/v2/events${url.search}`, 'Content-Length': 0 });
        res.end();
        return;
      }
      this.#events(req, res, url);
      return;
    }
    if (!isApiPath) {
      sendHtml(res, 404, 'Not Found', path);
      return;
    }
    const reply = await this.#ctx.api.handle({
      method: req.method ?? 'GET', url, body, accept: req.headers.accept ?? '', clientIp: req.socket.remoteAddress ?? '',
    });
    this.#send(res, reply, leader, isLeader);
  }

  #send(res: http.ServerResponse, reply: Reply, leader: string | undefined, isLeader: boolean): void {
    let body = reply.body;
    if (reply.appsBody === true && this.#ctx.faults.badJson()) body = body.slice(0, Math.max(1, Math.floor(body.length / 2)));
    const headers: Record<string, string | number> = { ...reply.headers, 'Content-Length': Buffer.byteLength(body) };
    if (leader !== undefined) headers['X-Marathon-Leader'] = `http://${leader}`;
    if (!isLeader) headers['Via'] = `1.1 ${this.#hostPort}`;
    res.writeHead(reply.status, headers);
    res.end(body);
  }

  #events(req: http.IncomingMessage, res: http.ServerResponse, url: URL): void {
    const accepts = req.headersDistinct['accept'] ?? [];
    if (req.method !== 'GET' || !accepts.includes('text/event-stream')) {
      sendHtml(res, 405, 'HTTP method GET is not supported by this URL', url.pathname);
      return;
    }
    const types = url.searchParams.getAll('event_type');
    const filter = types.length > 0 ? new Set(types) : undefined;
    const leader = this.#ctx.leaderHostPort();
    const headers: Record<string, string> = { 'X-Frame-Options': 'DENY', 'X-XSS-Protection': '1; mode=block' };
    if (leader !== undefined) headers['X-Marathon-Leader'] = `http://${leader}`;
    this.#ctx.hub.attach(res, this.id, filter, req.socket.remoteAddress ?? '', headers);
  }
}

/** Hold back the end of a response: headers and any early bytes go out now, the rest after `ms`. */
function delayBody(res: http.ServerResponse, ms: number): void {
  const end = res.end.bind(res) as (...args: unknown[]) => http.ServerResponse;
  const write = res.write.bind(res) as (...args: unknown[]) => boolean;
  res.end = ((...args: unknown[]) => {
    if (!res.headersSent) res.flushHeaders();
    setTimeout(() => {
      if (args.length > 0 && args[0] !== undefined && typeof args[0] !== 'function') write(args[0]);
      end();
    }, ms);
    return res;
  }) as typeof res.end;
}
