// The Marathon REST routes (/v2/* except /v2/events, and /ping), answering byte-for-byte per CONTRACT §2.
import { ApiError, notFoundApp } from './api-error.ts';
import { canonicalPath, servicePorts } from './app-def.ts';
import { appInfoJson, deploymentInfoJson, isListed, parseEmbeds, taskJson } from './json.ts';
import type { Scheduler } from './scheduler.ts';
import type { Store } from './state.ts';
import type { AppRecord, Deployment, Json, JsonObject } from './types.ts';
import { isJsonObject } from './types.ts';

export interface Reply {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** Body of an /v2/apps route (the bad-json fault truncates these). */
  appsBody?: boolean;
}

export interface ApiContext {
  store: Store;
  scheduler: Scheduler;
  /** host:port of the current leader, or undefined. */
  leader: () => string | undefined;
  httpPort: () => number;
  frameworkId: string;
  /**
   * App JSON texts served verbatim (control API `/raw-apps`), with the id each parses to (if any):
   * in `GET /v2/apps` and `GET /v2/apps/{id}` only (see ControlTarget.addRawApp).
   */
  rawApps: () => readonly RawApp[];
}

export interface RawApp {
  readonly text: string;
  readonly id: string | undefined;
}

export interface ApiRequest {
  method: string;
  url: URL;
  body: string;
  accept: string;
  clientIp: string;
}

const JSON_TYPE = 'application/json';

function json(status: number, body: Json, headers: Record<string, string> = {}): Reply {
  return { status, headers: { 'Content-Type': JSON_TYPE, ...headers }, body: JSON.stringify(body) };
}

function parseBody(body: string): JsonObject {
  let v: unknown;
  try {
    v = JSON.parse(body === '' ? '{}' : body);
  } catch (e) {
    throw new ApiError(400, { message: 'Invalid JSON', details: [{ path: '/', errors: [`Invalid JSON: ${(e as Error).message}`] }] });
  }
  if (!isJsonObject(v)) {
    throw new ApiError(400, { message: 'Invalid JSON', details: [{ path: '/', errors: ['error.expected.jsobject'] }] });
  }
  return v;
}

/** Splits a label selector on commas outside parentheses. */
function splitTerms(s: string): string[] {
  const out: string[] = [];
  let depth = 0; let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) { out.push(cur); cur = ''; } else cur += ch;
  }
  out.push(cur);
  return out.map((t) => t.trim()).filter((t) => t !== '');
}

/** marathon label selector: `k`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`; comma = AND. */
export function labelSelector(s: string): (labels: Record<string, string>) => boolean {
  const preds = splitTerms(s).map((term): ((l: Record<string, string>) => boolean) => {
    let m = /^(\S+?)\s*(==|!=)\s*(.*)$/.exec(term);
    if (m !== null) {
      const [, k = '', op, v = ''] = m;
      return op === '==' ? (l) => l[k] === v : (l) => l[k] !== v;
    }
    m = /^(\S+)\s+(in|notin)\s*\((.*)\)$/.exec(term);
    if (m !== null) {
      const [, k = '', op, list = ''] = m;
      const values = new Set(list.split(',').map((x) => x.trim()));
      return op === 'in' ? (l) => l[k] !== undefined && values.has(l[k] ?? '') : (l) => l[k] === undefined || !values.has(l[k] ?? '');
    }
    return (l) => l[term] !== undefined;
  });
  return (labels) => preds.every((p) => p(labels));
}

function deploymentResult(d: Deployment, status = 200): Reply {
  return json(status, { version: d.version, deploymentId: d.id }, { 'Marathon-Deployment-Id': d.id });
}

export class MarathonApi {
  readonly #ctx: ApiContext;

  constructor(ctx: ApiContext) {
    this.#ctx = ctx;
  }

  async handle(req: ApiRequest): Promise<Reply> {
    try {
      return this.#route(req);
    } catch (e) {
      if (e instanceof ApiError) return json(e.status, e.body);
      return json(500, { message: (e as Error).message });
    }
  }

  #appInfo(rec: AppRecord, embeds: ReadonlySet<string>): JsonObject {
    const { store } = this.#ctx;
    return appInfoJson(rec, embeds, { instances: store.instancesOf(rec.spec.id), deployments: store.deploymentsOf(rec.spec.id) });
  }

  #route(req: ApiRequest): Reply {
    const { method, url } = req;
    const path = url.pathname;
    const { store, scheduler } = this.#ctx;
    const q = url.searchParams;
    const force = q.get('force') === 'true';

    if (path === '/ping') {
      if (req.accept.includes('application/json')) return json(200, 'pong', { 'Cache-Control': 'must-revalidate,no-cache,no-store' });
      return { status: 200, headers: { 'Content-Type': 'text/plain', 'Cache-Control': 'must-revalidate,no-cache,no-store' }, body: 'pong' };
    }
    if (path === '/v2/info' && method === 'GET') return json(200, this.#info());
    if (path === '/v2/leader' && method === 'GET') {
      const leader = this.#ctx.leader();
      return leader === undefined ? json(404, { message: 'There is no leader' }) : json(200, { leader });
    }
    if (path === '/v2/deployments' && method === 'GET') {
      return json(200, [...store.deployments.values()].map(deploymentInfoJson));
    }
    if (path === '/v2/tasks' && method === 'GET') return this.#allTasks(q);
    if (path === '/v2/apps' || path === '/v2/apps/') {
      if (method === 'GET') return this.#listApps(q);
      if (method === 'POST') {
        const body = parseBody(req.body);
        const { deployment, rec } = scheduler.createApp(body, { clientIp: req.clientIp, uri: '/v2/apps', force });
        const info = appInfoJson(rec, new Set(['counts', 'deployments', 'tasks']), { instances: [], deployments: [deployment] });
        return {
          ...json(201, info, { 'Location': `/v2/apps${rec.spec.id}`, 'Marathon-Deployment-Id': deployment.id }),
          appsBody: true,
        };
      }
      return json(405, { message: 'HTTP 405 Method Not Allowed' });
    }
    if (path.startsWith('/v2/apps/')) return this.#appRoute(req, path.slice('/v2/apps'.length), force);
    return json(404, { message: 'HTTP 404 Not Found' });
  }

  #appRoute(req: ApiRequest, rest: string, force: boolean): Reply {
    const { store, scheduler } = this.#ctx;
    const { method, url } = req;
    const killMatch = /^(.*)\/tasks\/([^/]+)$/.exec(rest);
    if (killMatch !== null) {
      const appId = canonicalPath(killMatch[1] ?? '');
      const tid = decodeURIComponent(killMatch[2] ?? '');
      if (method === 'GET') {
        const inst = store.findTask(tid);
        if (inst === undefined || inst.appId !== appId || !isListed(inst)) return json(404, { message: `Task '${tid}' does not exist` });
        return json(200, { task: taskJson(inst, store.apps.get(appId)?.spec.role ?? '*') });
      }
      if (method !== 'DELETE') return json(405, { message: 'HTTP 405 Method Not Allowed' });
      if (!store.apps.has(appId)) throw notFoundApp(appId);
      const inst = store.findTask(tid);
      if (inst === undefined || inst.appId !== appId) return json(404, { message: `Task '${tid}' does not exist` });
      const role = store.apps.get(appId)?.spec.role ?? '*';
      const snapshot = taskJson(inst, role);
      const { deployment } = scheduler.killTask(tid, { scale: url.searchParams.get('scale') === 'true', force });
      if (deployment !== undefined) return deploymentResult(deployment);
      return json(200, { task: snapshot });
    }
    const tasksMatch = /^(.*)\/tasks\/?$/.exec(rest);
    if (tasksMatch !== null) {
      const appId = canonicalPath(tasksMatch[1] ?? '');
      const rec = store.apps.get(appId);
      if (rec === undefined) throw notFoundApp(appId);
      if (method !== 'GET') return json(405, { message: 'HTTP 405 Method Not Allowed' });
      return json(200, { tasks: store.listedTasks(appId).map((i) => taskJson(i, rec.spec.role)) });
    }
    if (rest.endsWith('/*') && method === 'GET') {
      // The apps of a group: the raw apps are not among them (test-only; nothing needs them here).
      const group = canonicalPath(rest.slice(0, -2));
      const embeds = parseEmbeds(url.searchParams.getAll('embed'));
      for (const e of ['tasks', 'counts', 'deployments', 'lastTaskFailure']) embeds.add(e);
      const apps = [...store.apps.values()].filter((r) => r.spec.id.startsWith(group === '/' ? '/' : group + '/'));
      return { ...json(200, { '*': apps.map((r) => this.#appInfo(r, embeds)) }), appsBody: true };
    }
    const appId = canonicalPath(rest);
    if (method === 'GET') {
      const rec = store.apps.get(appId);
      const raw = this.#ctx.rawApps().find((r) => r.id === appId);
      if (raw !== undefined) return { status: 200, headers: { 'Content-Type': JSON_TYPE }, body: `{"app":${raw.text}}`, appsBody: true };
      if (rec === undefined) throw notFoundApp(appId);
      const embeds = parseEmbeds(url.searchParams.getAll('embed'));
      for (const e of ['tasks', 'counts', 'deployments', 'lastTaskFailure']) embeds.add(e);
      return { ...json(200, { app: this.#appInfo(rec, embeds) }), appsBody: true };
    }
    if (method === 'PUT') {
      const body = parseBody(req.body);
      const bodyId = body['id'];
      if (typeof bodyId === 'string' && canonicalPath(bodyId) !== appId) {
        throw new ApiError(422, { message: 'Object is not valid', details: [{ path: '/id', errors: ['The id in the body does not match the path'] }] });
      }
      const { deployment, created } = scheduler.updateApp(appId, body, { clientIp: req.clientIp, uri: `/v2/apps${appId}`, force });
      return deploymentResult(deployment, created ? 201 : 200);
    }
    if (method === 'DELETE') return deploymentResult(scheduler.deleteApp(appId, force));
    return json(405, { message: 'HTTP 405 Method Not Allowed' });
  }

  #listApps(q: URLSearchParams): Reply {
    const { store } = this.#ctx;
    const embeds = parseEmbeds(q.getAll('embed'));
    embeds.add('counts');
    embeds.add('deployments');
    const idFilter = q.get('id')?.toLowerCase();
    const cmdFilter = q.get('cmd');
    const label = q.get('label');
    const selector = label !== null && label !== '' ? labelSelector(label) : undefined;
    const apps = [...store.apps.values()]
      .filter((r) => idFilter === undefined || r.spec.id.toLowerCase().includes(idFilter))
      .filter((r) => cmdFilter === null || (r.spec.cmd ?? '').includes(cmdFilter))
      .filter((r) => selector === undefined || selector(r.spec.labels))
      .sort((a, b) => a.spec.id.localeCompare(b.spec.id));
    const reply = json(200, { apps: apps.map((r) => this.#appInfo(r, embeds)) });
    const raw = this.#ctx.rawApps();
    if (raw.length > 0) {
      // `{"apps":[…]}`: the raw texts go in verbatim before the closing `]}`, whatever the query.
      const head = reply.body.slice(0, -2);
      reply.body = `${head}${apps.length > 0 ? ',' : ''}${raw.map((r) => r.text).join(',')}]}`;
    }
    return { ...reply, appsBody: true };
  }

  #allTasks(q: URLSearchParams): Reply {
    const { store } = this.#ctx;
    const statuses = [...q.getAll('status'), ...q.getAll('status[]')].map((s) => `TASK_${s.toUpperCase()}`);
    const tasks: JsonObject[] = [];
    for (const rec of [...store.apps.values()].sort((a, b) => a.spec.id.localeCompare(b.spec.id))) {
      for (const inst of store.listedTasks(rec.spec.id)) {
        const t = taskJson(inst, rec.spec.role, servicePorts(rec.spec));
        if (statuses.length > 0 && !statuses.includes(String(t['state']))) continue;
        tasks.push(t);
      }
    }
    return json(200, { tasks });
  }

  #info(): JsonObject {
    const leader = this.#ctx.leader() ?? null;
    const [leaderHost = 'localhost'] = (leader ?? 'localhost:8080').split(/:(?=\d+$)/);
    return {
      name: 'marathon',
      version: '1.10.17',
      buildref: 'emulator',
      elected: leader !== null,
      leader,
      frameworkId: this.#ctx.frameworkId,
      marathon_config: {
        access_control_allow_origin: ['*'],
        checkpoint: true,
        decline_offer_duration: 120000,
        default_network_name: 'dcos',
        env_vars_prefix: '',
        executor: '//cmd',
        failover_timeout: 604800,
        features: ['task_killing'],
        framework_name: 'marathon',
        ha: true,
        hostname: leaderHost,
        launch_token: 100,
        launch_token_refresh_interval: 30000,
        leader_proxy_connection_timeout_ms: 5000,
        leader_proxy_read_timeout_ms: 10000,
        local_port_max: 20000,
        local_port_min: 10000,
        maintenance_mode: true,
        master: 'zk://xxxxxxxx:xxxxxxxx@127.0.0.1:2181/mesos',
        max_instances_per_offer: 5,
        mesos_bridge_name: 'mesos-bridge',
        mesos_heartbeat_failure_threshold: 5,
        mesos_heartbeat_interval: 15000,
        mesos_leader_ui_url: 'http://127.0.0.1:5050/',
        mesos_role: '*',
        mesos_user: 'root',
        min_revive_offers_interval: 5000,
        new_group_enforce_role: 'off',
        offer_matching_timeout: 3000,
        on_elected_prepare_timeout: 180000,
        reconciliation_initial_delay: 15000,
        reconciliation_interval: 600000,
        scale_apps_initial_delay: 15000,
        scale_apps_interval: 300000,
        store_cache: true,
        task_launch_confirm_timeout: 300000,
        task_launch_timeout: 300000,
        task_lost_expunge_initial_delay: 300000,
        task_lost_expunge_interval: 30000,
        task_reservation_timeout: 20000,
        webui_url: leader === null ? null : `http://${leader}`,
      },
      zookeeper_config: {
        zk: 'zk://xxxxxxxx:xxxxxxxx@127.0.0.1:2181/marathon',
        zk_compression: true,
        zk_compression_threshold: 65536,
        zk_connection_timeout: 10000,
        zk_max_node_size: 1024000,
        zk_max_versions: 50,
        zk_session_timeout: 10000,
        zk_timeout: 10000,
      },
      http_config: { http_port: this.#ctx.httpPort(), https_port: 8443 },
    };
  }
}
