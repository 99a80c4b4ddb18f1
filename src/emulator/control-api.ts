// The emulator's own HTTP control API under /_emulator/ (no auth, no faults): drives state, events and faults.
import type http from 'node:http';
import { ApiError } from './api-error.ts';
import { canonicalPath } from './app-def.ts';
import type { Fault } from './faults.ts';
import { parseFault } from './faults.ts';
import type { BackendKind, JsonObject } from './types.ts';
import { isJsonObject } from './types.ts';

export type BurstKind = 'status' | 'health' | 'mixed';

export interface CreateAppOptions {
  backend?: BackendKind;
  autoHealthy?: boolean;
  /** Address the app's tasks report as `host` and bind to (default: the emulator's backendHost). */
  host?: string;
}

export interface DeploymentRef {
  deploymentId: string;
  version: string;
}

/** What the control API needs from the emulator (the Emulator class implements it). */
export interface ControlTarget {
  createApp(app: object, opts?: CreateAppOptions): Promise<DeploymentRef & { app: JsonObject }>;
  scaleApp(id: string, instances: number): Promise<DeploymentRef>;
  deleteApp(id: string): Promise<DeploymentRef>;
  killTask(taskId: string, opts?: { scale?: boolean }): Promise<void>;
  setTaskState(taskId: string, state: string, opts?: { message?: string; relaunch?: boolean }): Promise<void>;
  setTaskHealth(taskId: string, alive: boolean, check?: number): Promise<void>;
  publishEvent(event: JsonObject): number;
  writeRaw(text: string): number;
  burst(appId: string, count: number, kind?: BurstKind): Promise<number>;
  fault(f: Fault): void;
  clearFaults(): void;
  /**
   * Serve `text` verbatim (absurd or invalid apps) as one more element of every `GET /v2/apps` list
   * (whatever its filters), and as the app of `GET /v2/apps/{id}` when it parses to an app with that
   * id; not in `GET /v2/apps/{group}/*`, nor anywhere else. Returns how many are held.
   */
  addRawApp(text: string): number;
  clearRawApps(): void;
  state(): JsonObject;
}

const BACKENDS: readonly string[] = ['http', 'tcp', 'udp', 'none'];

function send(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function parseJson(body: string): JsonObject {
  let v: unknown;
  try {
    v = JSON.parse(body === '' ? '{}' : body);
  } catch (e) {
    throw new ApiError(400, { message: `Invalid JSON: ${(e as Error).message}` });
  }
  if (!isJsonObject(v)) throw new ApiError(400, { message: 'body must be a JSON object' });
  return v;
}

function bool(v: unknown, dflt: boolean): boolean {
  return typeof v === 'boolean' ? v : dflt;
}

export function createControlHandler(target: ControlTarget): (req: http.IncomingMessage, res: http.ServerResponse, url: URL, body: string) => Promise<void> {
  return async (req, res, url, body) => {
    const method = req.method ?? 'GET';
    const path = url.pathname.replace(/^\/_emulator/, '');
    try {
      if (path === '/state' && method === 'GET') { send(res, 200, target.state()); return; }
      if (path === '/apps' && method === 'POST') {
        const b = parseJson(body);
        const app = b['app'];
        if (!isJsonObject(app)) throw new ApiError(422, { message: '"app" must be a Marathon app definition object' });
        const backend = b['backend'] ?? 'http';
        if (typeof backend !== 'string' || !BACKENDS.includes(backend)) throw new ApiError(422, { message: 'backend must be http, tcp, udp or none' });
        const host = b['host'];
        const opts: CreateAppOptions = { backend: backend as BackendKind, autoHealthy: bool(b['autoHealthy'], true) };
        if (typeof host === 'string') opts.host = host;
        send(res, 201, await target.createApp(app, opts));
        return;
      }
      let m = /^\/apps\/(.+)\/scale$/.exec(path);
      if (m !== null && method === 'POST') {
        const instances = parseJson(body)['instances'];
        if (typeof instances !== 'number') throw new ApiError(422, { message: '"instances" must be a number' });
        send(res, 200, await target.scaleApp(canonicalPath(m[1] ?? ''), instances));
        return;
      }
      m = /^\/apps\/(.+)$/.exec(path);
      if (m !== null && method === 'DELETE') {
        send(res, 200, await target.deleteApp(canonicalPath(m[1] ?? '')));
        return;
      }
      m = /^\/tasks\/([^/]+)\/(state|health|kill)$/.exec(path);
      if (m !== null && method === 'POST') {
        const taskId = decodeURIComponent(m[1] ?? '');
        const b = parseJson(body);
        if (m[2] === 'state') {
          const state = b['state'];
          if (typeof state !== 'string') throw new ApiError(422, { message: '"state" must be a Mesos task state such as TASK_FAILED' });
          const opts: { message?: string; relaunch?: boolean } = { relaunch: bool(b['relaunch'], true) };
          if (typeof b['message'] === 'string') opts.message = b['message'];
          await target.setTaskState(taskId, state, opts);
        } else if (m[2] === 'health') {
          const alive = b['alive'];
          if (typeof alive !== 'boolean') throw new ApiError(422, { message: '"alive" must be a boolean' });
          const check = b['check'];
          await target.setTaskHealth(taskId, alive, typeof check === 'number' ? check : undefined);
        } else {
          await target.killTask(taskId, { scale: bool(b['scale'], false) });
        }
        send(res, 200, { ok: true, taskId });
        return;
      }
      if (path === '/events' && method === 'POST') {
        const ev = parseJson(body);
        if (typeof ev['eventType'] !== 'string') throw new ApiError(422, { message: 'the event needs a string "eventType"' });
        send(res, 200, { streams: target.publishEvent(ev) });
        return;
      }
      if (path === '/raw' && method === 'POST') {
        send(res, 200, { streams: target.writeRaw(body) });
        return;
      }
      if (path === '/raw-apps' && method === 'POST') {
        send(res, 200, { rawApps: target.addRawApp(body) });
        return;
      }
      if (path === '/raw-apps' && method === 'DELETE') {
        target.clearRawApps();
        send(res, 200, { ok: true });
        return;
      }
      if (path === '/burst' && method === 'POST') {
        const b = parseJson(body);
        const appId = b['appId'];
        const count = b['count'];
        const kind = b['kind'] ?? 'status';
        if (typeof appId !== 'string' || typeof count !== 'number' || count < 0) {
          throw new ApiError(422, { message: 'need {"appId": string, "count": number}' });
        }
        if (kind !== 'status' && kind !== 'health' && kind !== 'mixed') throw new ApiError(422, { message: 'kind must be status, health or mixed' });
        const sent = await target.burst(canonicalPath(appId), Math.floor(count), kind);
        send(res, 200, { appId: canonicalPath(appId), sent });
        return;
      }
      if (path === '/faults' && method === 'POST') {
        const f = parseFault(parseJson(body));
        if (typeof f === 'string') throw new ApiError(422, { message: f });
        target.fault(f);
        send(res, 200, { ok: true, fault: f });
        return;
      }
      if (path === '/faults' && method === 'DELETE') {
        target.clearFaults();
        send(res, 200, { ok: true });
        return;
      }
      send(res, 404, { message: `no control route ${method} /_emulator${path}` });
    } catch (e) {
      if (e instanceof ApiError) send(res, e.status, e.body);
      else send(res, 500, { message: (e as Error).message });
    }
  };
}
