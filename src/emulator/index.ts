// Marathon emulator: library entry point. See docs/emulator.md.
import { randomUUID } from 'node:crypto';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { ApiError } from './api-error.ts';
import { canonicalPath, servicePorts } from './app-def.ts';
import { BackendFactory } from './backends.ts';
import type { BurstKind, ControlTarget, CreateAppOptions, DeploymentRef } from './control-api.ts';
import { createControlHandler } from './control-api.ts';
import type { Fault } from './faults.ts';
import { FaultState } from './faults.ts';
import { MarathonApi, type RawApp } from './http-api.ts';
import { appInfoJson, deploymentInfoJson, isListed, taskJson } from './json.ts';
import { NodeServer } from './node-server.ts';
import { Scheduler } from './scheduler.ts';
import { SseHub } from './sse.ts';
import { Store } from './state.ts';
import type { JsonObject } from './types.ts';
import { isJsonObject } from './types.ts';

export type { BurstKind, CreateAppOptions, DeploymentRef } from './control-api.ts';
export type { Fault } from './faults.ts';
export type { BackendKind, Json, JsonObject } from './types.ts';
export { demoApps } from './demo-apps.ts';

export interface EmulatorOptions {
  /** Address the Marathon node(s) listen on. Default 127.0.0.1. */
  host?: string;
  /** Leader node port. Default 0 (ephemeral). */
  port?: number;
  /** When defined (0 = ephemeral), a standby node runs too. */
  standbyPort?: number;
  /** 'user:pass': HTTP basic auth on every Marathon path (not on /_emulator). */
  credentials?: string;
  /** SSE keep-alive period. Default 10 000 ms. */
  keepAliveMs?: number;
  /** event_stream_max_outstanding_messages. Default 1024. */
  maxOutstanding?: number;
  /** Delay between task lifecycle steps. Default 5 ms. */
  stepDelayMs?: number;
  /** Address task backends bind to and tasks report as `host`. Default 127.0.0.1. */
  backendHost?: string;
}

export type TaskPredicate = (tasks: JsonObject[]) => boolean;

export interface Emulator extends ControlTarget {
  /** URL of the node that is the leader now. */
  readonly url: string;
  /** URLs of all nodes (leader first at start). */
  readonly nodes: readonly string[];
  /** URL of the node that is standby now, if a standby runs. */
  readonly standbyUrl: string | undefined;
  /** Control API base URL (on the first node): `<node>/_emulator`. */
  readonly controlUrl: string;
  /** Task JSON (as GET /v2/apps/{id}/tasks answers) of an app. */
  tasks(appId: string): JsonObject[];
  /** Resolves with the app's tasks once `predicate(tasks)` holds; rejects after `timeoutMs` (default 10 s). */
  waitForTasks(appId: string, predicate: TaskPredicate, timeoutMs?: number): Promise<JsonObject[]>;
  /** Resolves once no deployment is running; rejects after `timeoutMs` (default 10 s). */
  waitForDeployments(timeoutMs?: number): Promise<void>;
  /** Number of open /v2/events streams. */
  readonly streamCount: number;
  close(): Promise<void>;
}

class EmulatorImpl implements Emulator {
  readonly #store = new Store();
  readonly #faults = new FaultState();
  readonly #hub: SseHub;
  readonly #scheduler: Scheduler;
  readonly #nodes: NodeServer[] = [];
  readonly #maxOutstanding: number;
  #leaderIndex = 0;
  #closed = false;
  #rawApps: RawApp[] = [];

  constructor(opts: EmulatorOptions) {
    this.#maxOutstanding = opts.maxOutstanding ?? 1024;
    this.#hub = new SseHub({
      keepAliveMs: opts.keepAliveMs ?? 10_000,
      maxOutstanding: this.#maxOutstanding,
      isSilenced: () => this.#faults.silenced(),
    });
    this.#scheduler = new Scheduler(this.#store, new BackendFactory(), {
      stepDelayMs: opts.stepDelayMs ?? 5,
      backendHost: opts.backendHost ?? '127.0.0.1',
      agentId: `${randomUUID()}-S0`,
      publish: (e) => this.#hub.publish(e),
      pace: () => this.#pace(),
    });
    const api = new MarathonApi({
      store: this.#store,
      scheduler: this.#scheduler,
      leader: () => this.#leaderHostPort(),
      httpPort: () => Number(this.#nodes[this.#leaderIndex]?.hostPort.split(':').pop() ?? 0),
      frameworkId: `${randomUUID()}-0000`,
      rawApps: () => this.#rawApps,
    });
    const control = createControlHandler(this);
    const ctx = {
      api,
      hub: this.#hub,
      faults: this.#faults,
      credentials: opts.credentials,
      leaderHostPort: () => this.#leaderHostPort(),
      isLeader: (id: string) => this.#nodes[this.#leaderIndex]?.id === id,
      control,
    };
    this.#nodes.push(new NodeServer('node-0', ctx));
    if (opts.standbyPort !== undefined) this.#nodes.push(new NodeServer('node-1', ctx));
  }

  async listen(opts: EmulatorOptions): Promise<void> {
    const host = opts.host ?? '127.0.0.1';
    try {
      await this.#nodes[0]?.listen(host, opts.port ?? 0);
      if (opts.standbyPort !== undefined) await this.#nodes[1]?.listen(host, opts.standbyPort);
    } catch (e) {
      await this.close();
      throw e;
    }
  }

  #leaderHostPort(): string | undefined {
    if (this.#faults.noLeader()) return undefined;
    return this.#nodes[this.#leaderIndex]?.hostPort;
  }

  async #pace(): Promise<void> {
    await yieldToLoop();
    const deadline = Date.now() + 100;
    while (!this.#closed && this.#hub.maxPending() > this.#maxOutstanding / 2 && Date.now() < deadline) {
      await new Promise((r) => { setTimeout(r, 1); });
    }
  }

  get url(): string {
    return this.#nodes[this.#leaderIndex]?.url ?? '';
  }

  get nodes(): readonly string[] {
    return this.#nodes.map((n) => n.url);
  }

  get standbyUrl(): string | undefined {
    if (this.#nodes.length < 2) return undefined;
    return this.#nodes[1 - this.#leaderIndex]?.url;
  }

  get controlUrl(): string {
    return `${this.#nodes[0]?.url ?? ''}/_emulator`;
  }

  get streamCount(): number {
    return this.#hub.size;
  }

  async createApp(app: object, opts: CreateAppOptions = {}): Promise<DeploymentRef & { app: JsonObject }> {
    if (!isJsonObject(app)) throw new ApiError(422, { message: 'app must be an object' });
    const { deployment, rec } = this.#scheduler.createApp(app, { ...opts, uri: '/v2/apps' });
    const info = appInfoJson(rec, new Set(['counts', 'deployments', 'tasks']), { instances: [], deployments: [deployment] });
    return { deploymentId: deployment.id, version: deployment.version, app: info };
  }

  async scaleApp(id: string, instances: number): Promise<DeploymentRef> {
    const d = this.#scheduler.scaleApp(canonicalPath(id), instances, true);
    return { deploymentId: d.id, version: d.version };
  }

  async deleteApp(id: string): Promise<DeploymentRef> {
    const d = this.#scheduler.deleteApp(canonicalPath(id), true);
    return { deploymentId: d.id, version: d.version };
  }

  async killTask(taskId: string, opts: { scale?: boolean } = {}): Promise<void> {
    this.#scheduler.killTask(taskId, { scale: opts.scale === true, force: true });
  }

  async setTaskState(taskId: string, state: string, opts: { message?: string; relaunch?: boolean } = {}): Promise<void> {
    this.#scheduler.setTaskState(taskId, state, opts);
  }

  async setTaskHealth(taskId: string, alive: boolean, check?: number): Promise<void> {
    this.#scheduler.setTaskHealth(taskId, alive, check);
  }

  publishEvent(event: JsonObject): number {
    this.#hub.publish(event);
    return this.#hub.size;
  }

  writeRaw(text: string): number {
    return this.#hub.writeRaw(text);
  }

  burst(appId: string, count: number, kind: BurstKind = 'status'): Promise<number> {
    return this.#scheduler.burst(canonicalPath(appId), count, kind);
  }

  fault(f: Fault): void {
    switch (f.kind) {
      case 'drop-streams':
        this.#hub.closeAll();
        return;
      case 'leader-change': {
        if (this.#nodes.length < 2) throw new ApiError(409, { message: 'leader-change needs a standby node (standbyPort)' });
        const old = this.#nodes[this.#leaderIndex];
        this.#leaderIndex = 1 - this.#leaderIndex;
        if (old !== undefined) this.#hub.closeAll(old.id);
        return;
      }
      case 'no-leader':
        this.#faults.apply(f);
        this.#hub.closeAll();
        return;
      default:
        this.#faults.apply(f);
    }
  }

  clearFaults(): void {
    this.#faults.clear();
  }

  addRawApp(text: string): number {
    let id: string | undefined;
    try {
      const v: unknown = JSON.parse(text);
      if (isJsonObject(v) && typeof v['id'] === 'string') id = canonicalPath(v['id']);
    } catch {
      // not JSON: listed verbatim all the same
    }
    this.#rawApps.push({ text, id });
    return this.#rawApps.length;
  }

  clearRawApps(): void {
    this.#rawApps = [];
  }

  tasks(appId: string): JsonObject[] {
    const id = canonicalPath(appId);
    const role = this.#store.apps.get(id)?.spec.role ?? '*';
    return this.#store.listedTasks(id).map((i) => taskJson(i, role));
  }

  async waitForTasks(appId: string, predicate: TaskPredicate, timeoutMs = 10_000): Promise<JsonObject[]> {
    const ok = await this.#store.waitFor(() => predicate(this.tasks(appId)), () => false, timeoutMs);
    if (!ok) throw new Error(`waitForTasks(${appId}) timed out after ${timeoutMs} ms; tasks: ${JSON.stringify(this.tasks(appId))}`);
    return this.tasks(appId);
  }

  async waitForDeployments(timeoutMs = 10_000): Promise<void> {
    const ok = await this.#store.waitFor(() => this.#store.deployments.size === 0, () => false, timeoutMs);
    if (!ok) throw new Error(`waitForDeployments timed out after ${timeoutMs} ms`);
  }

  state(): JsonObject {
    const apps: JsonObject[] = [];
    for (const rec of this.#store.apps.values()) {
      apps.push({
        id: rec.spec.id,
        version: rec.version,
        instances: rec.spec.instances,
        backend: rec.backend,
        autoHealthy: rec.autoHealthy,
        host: rec.host,
        servicePorts: servicePorts(rec.spec),
        tasks: this.#store.instancesOf(rec.spec.id).map((i) => ({
          ...taskJson(i, rec.spec.role, servicePorts(rec.spec)),
          instanceId: i.instanceId, condition: i.condition, goal: i.goal, listed: isListed(i),
        })),
      });
    }
    return {
      leader: this.#leaderHostPort() ?? null,
      nodes: this.#nodes.map((n) => n.url),
      streams: this.#hub.size,
      slowConsumerDisconnects: this.#hub.slowConsumerDisconnects,
      rawApps: this.#rawApps.length,
      faults: JSON.parse(JSON.stringify(this.#faults.describe())) as JsonObject,
      deployments: [...this.#store.deployments.values()].map(deploymentInfoJson),
      apps,
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#store.close();
    this.#hub.destroyAll();
    await Promise.all(this.#nodes.map((n) => n.close()));
    await this.#scheduler.close();
  }
}

export async function startEmulator(opts: EmulatorOptions = {}): Promise<Emulator> {
  const emu = new EmulatorImpl(opts);
  await emu.listen(opts);
  return emu;
}
