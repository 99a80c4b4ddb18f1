/**
 * The admin HTTP server: health, readiness, the routing table, Prometheus metrics and
 * marathon-lb's health-check alias. Read-only: anything but GET and HEAD is refused with 405.
 * Later consumers (DNS's /v1 API, Habitat's peer lists, the status page) add their routes through
 * `AdminRoutes` rather than by editing this file.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics/registry.ts';
import type { RoutingTable } from '../model/routing-table.ts';
import type { SyncStatus } from '../marathon/sync.ts';
import { exposition } from '../metrics/exposition.ts';
import { routesView } from './routes-view.ts';
import { statusPage, type StatusSources } from './status-page.ts';

export interface AdminSources {
  readonly table: () => RoutingTable;
  readonly status: () => SyncStatus;
  readonly metrics: Metrics;
  readonly version: string;
  /** Why a part of pacer cannot serve yet (see Consumer.pending); `/ready` is 503 while any can't. */
  readonly pending?: () => readonly string[];
}

export type AdminHandler = (req: IncomingMessage, res: ServerResponse, url: URL) => void | Promise<void>;

/** Exact-path routes, then prefix routes; a consumer may register more before the server starts. */
export class AdminRoutes {
  readonly #routes = new Map<string, AdminHandler>();
  readonly #prefixes: [string, AdminHandler][] = [];

  add(path: string, handler: AdminHandler): this {
    this.#routes.set(path, handler);
    return this;
  }

  /** Every path that starts with `prefix` (e.g. `/v1/hosts/`) and has no exact route. */
  addPrefix(prefix: string, handler: AdminHandler): this {
    this.#prefixes.push([prefix, handler]);
    return this;
  }

  get(path: string): AdminHandler | undefined {
    return this.#routes.get(path) ?? this.#prefixes.find(([prefix]) => path.startsWith(prefix))?.[1];
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body, null, 2) + '\n';
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(text);
}

export function sendText(res: ServerResponse, status: number, body: string, contentType = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  res.end(body);
}

/** Resolves when `res` can take more, or is gone. */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

export function coreRoutes(sources: StatusSources): AdminRoutes {
  const routes = new AdminRoutes();
  const alive: AdminHandler = (_req, res) => sendText(res, 200, 'OK\n');
  routes.add('/health', alive);
  // marathon-lb's monitor-uri, kept so existing health checks of the LB app keep working.
  routes.add('/_haproxy_health_check', alive);
  // 503 only until the first complete sync has been taken by every part (the DNS server's first
  // zone of a big cluster is built in slices after it: `pending` says so). After that, 200 even
  // while Marathon is down or the table is stale: pacer keeps serving the last good table, and a
  // load balancer that took every pacer out of rotation because Marathon is down would turn a
  // Marathon outage into a traffic outage. The body (and pacer_marathon_stale_seconds) tells the
  // truth about staleness.
  routes.add('/ready', (_req, res) => {
    const status = sources.status();
    const pending = status.ready ? (sources.pending?.() ?? []) : [];
    const ready = status.ready && pending.length === 0;
    const body = {
      ready,
      pending,
      stale: status.stale ?? false,
      staleSeconds: Math.round((status.staleSeconds ?? 0) * 10) / 10,
      marathon: status.marathon,
      leader: status.leader ?? null,
      stream: status.stream,
      lastSyncAt: status.lastSyncAt ? new Date(status.lastSyncAt).toISOString() : null,
      lastSyncError: status.lastSyncError ?? null,
      tableVersion: sources.table().version,
    };
    sendJson(res, ready ? 200 : 503, body);
  });
  routes.add('/', statusPage(sources));
  routes.add('/routes', (_req, res) => sendJson(res, 200, routesView(sources.table())));
  routes.add('/metrics', async (_req, res) => {
    // Streamed, chunk by chunk as the socket drains (src/metrics/exposition.ts): at 100,000
    // backends the text is megabytes, and building it whole blocked the proxy for up to a second.
    const chunks = exposition(sources.metrics.registry);
    const first = await chunks.next();
    res.writeHead(200, { 'content-type': sources.metrics.registry.contentType, 'cache-control': 'no-store' });
    if (!first.done && !res.write(first.value)) await drained(res);
    for await (const chunk of chunks) {
      if (res.destroyed) return;
      if (!res.write(chunk)) await drained(res);
    }
    res.end();
  });
  return routes;
}

export function createAdminServer(routes: AdminRoutes, logger: Logger): Server {
  const server = createServer({ requestTimeout: 10_000, headersTimeout: 5_000, connectionsCheckingInterval: 1_000, maxHeaderSize: 16_384, insecureHTTPParser: false }, (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      sendText(res, 405, 'method not allowed: the admin server is read-only\n');
      return;
    }
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://admin');
    } catch {
      sendText(res, 400, 'bad request\n');
      return;
    }
    const handler = routes.get(url.pathname);
    if (!handler) {
      sendText(res, 404, 'not found\n');
      return;
    }
    Promise.resolve()
      .then(() => handler(req, res, url))
      .catch((error: unknown) => {
        logger.error({ err: error, path: url.pathname }, 'admin handler failed');
        if (!res.headersSent) sendText(res, 500, 'internal error\n');
        else res.destroy();
      });
  });
  server.keepAliveTimeout = 5_000;
  return server;
}
