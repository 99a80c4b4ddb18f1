// Task lifecycles and deployments: every change emits the event sequence Marathon would.
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { ApiError, notFoundApp } from './api-error.ts';
import { assignServicePorts, networkMode, normaliseApp, parentGroup, servicePorts, ValidationError } from './app-def.ts';
import type { BackendFactory, BackendHandle, PortPlan } from './backends.ts';
import {
  apiPostEvent, appTerminatedEvent, deploymentFailedEvent, deploymentInfoEvent, deploymentStepSuccessEvent, deploymentSuccessEvent,
  failedHealthCheckEvent, groupChangeSuccessEvent, healthStatusChangedEvent, instanceChangedEvent, instanceHealthChangedEvent,
  statusUpdateEvent,
} from './events.ts';
import { aggregateHealth, appDefinitionJson, isListed, newVersion, taskId, timestamp } from './json.ts';
import type { Store } from './state.ts';
import type { AppRecord, BackendKind, Condition, Deployment, Instance, IpAddress, JsonObject } from './types.ts';
import { isInactive, isJsonObject, TERMINAL_CONDITIONS } from './types.ts';

export interface SchedulerOptions {
  stepDelayMs: number;
  backendHost: string;
  agentId: string;
  publish: (event: JsonObject) => void;
  /** Yields during bursts until streams have caught up (or gives up after a while). */
  pace: () => Promise<void>;
}

export interface CreateOptions {
  backend?: BackendKind;
  autoHealthy?: boolean;
  /** Address the tasks report and bind to (default: the emulator's backendHost). */
  host?: string;
  clientIp?: string;
  uri?: string;
  force?: boolean;
}

export interface MutationResult {
  deployment: Deployment;
  rec: AppRecord;
  created: boolean;
}

const STATE_TO_CONDITION: Record<string, Condition> = {
  TASK_STAGING: 'Staging', TASK_STARTING: 'Starting', TASK_RUNNING: 'Running', TASK_KILLING: 'Killing',
  TASK_KILLED: 'Killed', TASK_FINISHED: 'Finished', TASK_FAILED: 'Failed', TASK_ERROR: 'Error',
  TASK_LOST: 'Unreachable', TASK_UNREACHABLE: 'Unreachable', TASK_GONE: 'Gone', TASK_GONE_BY_OPERATOR: 'Gone',
  TASK_DROPPED: 'Dropped', TASK_UNKNOWN: 'Unknown',
};

const FAILURE_STATES = new Set(['TASK_FAILED', 'TASK_ERROR', 'TASK_LOST', 'TASK_DROPPED', 'TASK_GONE', 'TASK_GONE_BY_OPERATOR', 'TASK_UNKNOWN']);

interface StepSpec {
  action: string;
  run: (dep: Deployment) => Promise<boolean>;
}

function safePath(appId: string): string {
  return appId.slice(1).replaceAll('/', '_');
}

function ipOf(address: string): IpAddress {
  return { ipAddress: address, protocol: net.isIPv6(address) ? 'IPv6' : 'IPv4' };
}

export class Scheduler {
  readonly #store: Store;
  readonly #backends: BackendFactory;
  readonly #opts: SchedulerOptions;
  readonly #handles = new Set<BackendHandle>();
  readonly #timers = new Set<NodeJS.Timeout>();
  /** Per-emulator cursor into 127.0.1.1 … 127.0.254.254 for container-mode task IPs (random start: parallel emulators). */
  #ipCursor = Math.floor(Math.random() * 254 * 200);

  constructor(store: Store, backends: BackendFactory, opts: SchedulerOptions) {
    this.#store = store;
    this.#backends = backends;
    this.#opts = opts;
  }

  // ---------------------------------------------------------------- app mutations

  createApp(input: JsonObject, o: CreateOptions = {}): MutationResult {
    const spec = this.#normalise(input);
    if (this.#store.apps.has(spec.id)) throw new ApiError(409, { message: `An app with id [${spec.id}] already exists.` });
    if (this.#store.apps.has(parentGroup(spec.id)) || [...this.#store.apps.keys()].some((id) => id.startsWith(spec.id + '/'))) {
      throw new ApiError(409, { message: `An app with id [${spec.id}] conflicts with an existing app or group.` });
    }
    assignServicePorts(spec, this.#store.takenServicePorts(spec.id), []);
    const version = newVersion();
    const rec: AppRecord = {
      spec, version, lastScalingAt: version, lastConfigChangeAt: version,
      backend: o.backend ?? 'http', autoHealthy: o.autoHealthy ?? true, host: o.host ?? this.#opts.backendHost,
    };
    this.#store.apps.set(spec.id, rec);
    this.#store.changed();
    this.#opts.publish(apiPostEvent(o.clientIp ?? '127.0.0.1', o.uri ?? '/v2/apps', appDefinitionJson(rec)));
    this.#opts.publish(groupChangeSuccessEvent(parentGroup(spec.id), version));
    const steps: StepSpec[] = [{ action: 'StartApplication', run: async () => true }];
    if (spec.instances > 0) steps.push({ action: 'ScaleApplication', run: (dep) => this.#scaleStep(spec.id, dep) });
    const deployment = this.#deploy(spec.id, version, steps);
    return { deployment, rec, created: true };
  }

  /** PUT /v2/apps/{id}: partial update (fields given replace the current ones), scale, or create. */
  updateApp(id: string, body: JsonObject, o: CreateOptions = {}): MutationResult {
    const rec = this.#store.apps.get(id);
    if (rec === undefined) return this.createApp({ ...body, id }, o);
    this.#checkLock(id, o.force === true);
    const keys = Object.keys(body).filter((k) => k !== 'id');
    const onlyInstances = keys.length === 1 && keys[0] === 'instances';
    const merged: JsonObject = { ...appDefinitionJson(rec) };
    for (const k of keys) {
      const v = body[k];
      if (v !== undefined) merged[k] = v;
    }
    if ('ports' in body) delete merged['portDefinitions'];
    const bodyContainer = body['container'];
    const bodyDocker = isJsonObject(bodyContainer) ? bodyContainer['docker'] : undefined;
    if ('ipAddress' in body || (isJsonObject(bodyDocker) && 'network' in bodyDocker)) {
      if (!('networks' in body)) delete merged['networks'];
    }
    const spec = this.#normalise({ ...merged, id });
    assignServicePorts(spec, this.#store.takenServicePorts(id), servicePorts(rec.spec));
    const configChanged = !onlyInstances && JSON.stringify({ ...spec, instances: 0 }) !== JSON.stringify({ ...rec.spec, instances: 0 });
    const version = newVersion();
    rec.spec = spec;
    rec.version = version;
    rec.lastScalingAt = version;
    if (configChanged) rec.lastConfigChangeAt = version;
    this.#store.changed();
    this.#opts.publish(apiPostEvent(o.clientIp ?? '127.0.0.1', o.uri ?? `/v2/apps${id}`, appDefinitionJson(rec)));
    this.#opts.publish(groupChangeSuccessEvent(parentGroup(id), version));
    const steps: StepSpec[] = configChanged
      ? [{ action: 'RestartApplication', run: (dep) => this.#restartStep(id, dep) }]
      : [{ action: 'ScaleApplication', run: (dep) => this.#scaleStep(id, dep) }];
    return { deployment: this.#deploy(id, version, steps), rec, created: false };
  }

  scaleApp(id: string, instances: number, force = false): Deployment {
    if (!Number.isInteger(instances) || instances < 0) {
      throw new ApiError(422, { message: 'Object is not valid', details: [{ path: '/instances', errors: ['error.min'] }] });
    }
    return this.updateApp(id, { instances }, { force }).deployment;
  }

  deleteApp(id: string, force = false): Deployment {
    const rec = this.#store.apps.get(id);
    if (rec === undefined) throw notFoundApp(id);
    this.#checkLock(id, force);
    this.#store.apps.delete(id);
    this.#store.changed();
    const version = newVersion();
    this.#opts.publish(groupChangeSuccessEvent(parentGroup(id), version));
    return this.#deploy(id, version, [{
      action: 'StopApplication',
      run: async (dep) => {
        for (const inst of this.#store.instancesOf(id)) void this.#kill(inst);
        const ok = await this.#store.waitFor(() => this.#store.instancesOf(id).length === 0, () => dep.cancelled);
        if (ok) this.#opts.publish(appTerminatedEvent(id));
        return ok;
      },
    }]);
  }

  /** Kill one task. Without `scale` a replacement instance is launched (the app keeps its size). */
  killTask(id: string, o: { scale?: boolean; force?: boolean } = {}): { instance: Instance; deployment?: Deployment } {
    const inst = this.#store.findTask(id);
    if (inst === undefined || !isListed(inst)) throw new ApiError(404, { message: `Task '${id}' does not exist` });
    const rec = this.#store.apps.get(inst.appId);
    if (o.scale === true && rec !== undefined) {
      this.#checkLock(rec.spec.id, o.force === true);
      const version = newVersion();
      rec.spec.instances = Math.max(0, rec.spec.instances - 1);
      rec.version = version;
      rec.lastScalingAt = version;
      this.#store.changed();
      this.#opts.publish(groupChangeSuccessEvent(parentGroup(rec.spec.id), version));
      const appId = rec.spec.id;
      const deployment = this.#deploy(appId, version, [{
        action: 'ScaleApplication',
        run: async (dep) => {
          void this.#kill(inst);
          return this.#store.waitFor(() => this.#settled(appId), () => dep.cancelled);
        },
      }]);
      return { instance: inst, deployment };
    }
    void this.#kill(inst).then(() => {
      const current = this.#store.apps.get(inst.appId);
      if (current === undefined || this.#store.closed) return;
      const active = this.#store.instancesOf(current.spec.id).filter((i) => i.goal === 'Running').length;
      if (active < current.spec.instances) this.#newInstance(current);
    });
    return { instance: inst };
  }

  // ---------------------------------------------------------------- control API: state and health

  setTaskState(id: string, state: string, o: { message?: string; relaunch?: boolean } = {}): Instance {
    const inst = this.#store.findTask(id);
    if (inst === undefined) throw new ApiError(404, { message: `Task '${id}' does not exist` });
    const cond = STATE_TO_CONDITION[state];
    if (cond === undefined) throw new ApiError(422, { message: `Unknown task state '${state}'` });
    inst.epoch++;
    inst.mesosState = state;
    inst.condition = cond;
    const now = timestamp();
    if (cond === 'Staging' && inst.stagedAt === undefined) inst.stagedAt = now;
    if (cond === 'Running' && inst.startedAt === undefined) inst.startedAt = now;
    const rec = this.#store.apps.get(inst.appId);
    if (TERMINAL_CONDITIONS.has(cond)) {
      if (FAILURE_STATES.has(state) && rec !== undefined) {
        rec.lastTaskFailure = {
          appId: inst.appId, host: inst.host, message: o.message ?? '', state, taskId: taskId(inst), timestamp: now,
          version: inst.version, slaveId: inst.agentId,
        };
      }
      inst.health = [];
      inst.lastAggregate = null;
    }
    this.#opts.publish(statusUpdateEvent(inst, state, o.message ?? ''));
    this.#opts.publish(instanceChangedEvent(inst));
    this.#store.changed();
    if (TERMINAL_CONDITIONS.has(cond)) {
      void this.#closeBackend(inst);
      if (inst.goal !== 'Running') {
        this.#store.instances.delete(inst.instanceId);
        this.#store.changed();
      } else if (o.relaunch !== false) {
        void this.#relaunch(inst, inst.epoch);
      }
    }
    return inst;
  }

  /** Sets the result of one check (or all when `check` is undefined) and emits the health events. */
  setTaskHealth(id: string, alive: boolean, check?: number, cause = 'emulated failure'): Instance {
    const inst = this.#store.findTask(id);
    if (inst === undefined) throw new ApiError(404, { message: `Task '${id}' does not exist` });
    if (inst.healthChecks.length === 0) throw new ApiError(409, { message: `App '${inst.appId}' has no health checks` });
    if (check !== undefined && (!Number.isInteger(check) || check < 0 || check >= inst.healthChecks.length)) {
      throw new ApiError(422, { message: `No health check with index ${check}` });
    }
    const indices = check === undefined ? inst.healthChecks.map((_, i) => i) : [check];
    this.#applyHealth(inst, indices, alive, cause);
    return inst;
  }

  #applyHealth(inst: Instance, indices: readonly number[], alive: boolean, cause: string): void {
    const now = timestamp();
    for (const i of indices) {
      const hc = inst.healthChecks[i];
      if (hc === undefined) continue;
      const prev = inst.health[i];
      const next = prev === undefined ? { alive, consecutiveFailures: 0 } : { ...prev, alive };
      if (alive) {
        next.consecutiveFailures = 0;
        next.lastSuccess = now;
        next.firstSuccess ??= now;
      } else {
        next.consecutiveFailures = (prev?.consecutiveFailures ?? 0) + 1;
        next.lastFailure = now;
        next.lastFailureCause = cause;
      }
      inst.health[i] = next;
      if (prev === undefined || prev.alive !== alive) this.#opts.publish(healthStatusChangedEvent(inst, alive));
      if (!alive) this.#opts.publish(failedHealthCheckEvent(inst, hc));
    }
    const agg = aggregateHealth(inst);
    if (agg !== inst.lastAggregate) {
      inst.lastAggregate = agg;
      this.#opts.publish(instanceHealthChangedEvent(inst, agg));
    }
    this.#store.changed();
  }

  /**
   * Emits `count` events cycling over the app's tasks, each replaying the task's current state, so the final state a
   * client derives equals the real one. `kind` = status (status_update_event), health (health_status_changed_event for
   * tasks with results, status otherwise) or mixed.
   */
  async burst(appId: string, count: number, kind: 'status' | 'health' | 'mixed' = 'status'): Promise<number> {
    if (!this.#store.apps.has(appId)) throw notFoundApp(appId);
    const tasks = this.#store.listedTasks(appId);
    if (tasks.length === 0) throw new ApiError(409, { message: `App '${appId}' has no tasks` });
    let sent = 0;
    for (let i = 0; i < count; i++) {
      const inst = tasks[i % tasks.length];
      if (inst === undefined) break;
      const useHealth = (kind === 'health' || (kind === 'mixed' && i % 2 === 1));
      const results = inst.health;
      const r = results[i % Math.max(1, results.length)];
      if (useHealth && r !== undefined) this.#opts.publish(healthStatusChangedEvent(inst, r.alive));
      else this.#opts.publish(statusUpdateEvent(inst, inst.mesosState));
      sent++;
      if (sent % 64 === 0) {
        await this.#opts.pace();
        if (this.#store.closed) break;
      }
    }
    return sent;
  }

  // ---------------------------------------------------------------- deployments

  #normalise(input: JsonObject): AppRecord['spec'] {
    try {
      return normaliseApp(input);
    } catch (e) {
      if (e instanceof ValidationError) {
        throw new ApiError(422, { message: 'Object is not valid', details: e.details });
      }
      throw e;
    }
  }

  #checkLock(appId: string, force: boolean): void {
    const deps = this.#store.deploymentsOf(appId);
    if (deps.length === 0) return;
    if (!force) {
      throw new ApiError(409, {
        message: `App is locked by one or more deployments. Override with the option '?force=true'. View details at '/v2/deployments/<DEPLOYMENT_ID>'.`,
        deployments: deps.map((d) => ({ id: d.id })),
      });
    }
    for (const d of deps) {
      d.cancelled = true;
      this.#store.deployments.delete(d.id);
      this.#opts.publish(deploymentFailedEvent(d, 'The deployment was cancelled (forced by a newer deployment)'));
    }
    this.#store.changed();
  }

  #deploy(appId: string, version: string, steps: StepSpec[]): Deployment {
    const dep: Deployment = {
      id: randomUUID(), version, affectedApps: [appId], steps: steps.map((s) => [{ action: s.action, app: appId }]),
      currentStep: 0, cancelled: false,
    };
    this.#store.deployments.set(dep.id, dep);
    this.#store.changed();
    void this.#runDeployment(dep, steps);
    return dep;
  }

  async #runDeployment(dep: Deployment, steps: StepSpec[]): Promise<void> {
    for (let i = 0; i < steps.length; i++) {
      const step = steps[i];
      if (step === undefined || dep.cancelled || this.#store.closed) return;
      dep.currentStep = i;
      this.#opts.publish(deploymentInfoEvent(dep));
      const ok = await step.run(dep);
      if (!ok || dep.cancelled || this.#store.closed) return;
      this.#opts.publish(deploymentStepSuccessEvent(dep));
    }
    this.#store.deployments.delete(dep.id);
    this.#store.changed();
    this.#opts.publish(deploymentSuccessEvent(dep));
  }

  /** All instances current, running, healthy (when checked) and as many as wanted. */
  #settled(appId: string): boolean {
    const rec = this.#store.apps.get(appId);
    if (rec === undefined) return true;
    const insts = this.#store.instancesOf(appId);
    if (insts.length !== rec.spec.instances) return false;
    return insts.every((i) => i.goal === 'Running' && this.#ready(i, rec));
  }

  #ready(i: Instance, rec: AppRecord): boolean {
    return i.configVersion === rec.lastConfigChangeAt && i.condition === 'Running'
      && (i.healthChecks.length === 0 || aggregateHealth(i) === true);
  }

  async #scaleStep(appId: string, dep: Deployment): Promise<boolean> {
    const rec = this.#store.apps.get(appId);
    if (rec === undefined) return false;
    const active = this.#store.instancesOf(appId).filter((i) => i.goal === 'Running');
    const target = rec.spec.instances;
    if (active.length < target) {
      for (let k = active.length; k < target; k++) this.#newInstance(rec);
    } else if (active.length > target) {
      const byAge = [...active].sort((a, b) => a.seq - b.seq);
      const victims = rec.spec.killSelection === 'OLDEST_FIRST' ? byAge.slice(0, active.length - target) : byAge.slice(target);
      for (const v of victims) void this.#kill(v);
    }
    return this.#store.waitFor(() => this.#settled(appId), () => dep.cancelled);
  }

  async #restartStep(appId: string, dep: Deployment): Promise<boolean> {
    const rec = this.#store.apps.get(appId);
    if (rec === undefined) return false;
    const current = (): Instance[] => this.#store.instancesOf(appId).filter((i) => i.goal === 'Running' && i.configVersion === rec.lastConfigChangeAt);
    for (let k = current().length; k < rec.spec.instances; k++) this.#newInstance(rec);
    const up = await this.#store.waitFor(
      () => current().filter((i) => this.#ready(i, rec)).length >= rec.spec.instances, () => dep.cancelled);
    if (!up) return false;
    for (const old of this.#store.instancesOf(appId)) {
      if (old.goal === 'Running' && old.configVersion !== rec.lastConfigChangeAt) void this.#kill(old);
    }
    return this.#store.waitFor(() => this.#settled(appId), () => dep.cancelled);
  }

  // ---------------------------------------------------------------- task lifecycle

  #newInstance(rec: AppRecord): Instance {
    const inst: Instance = {
      instanceId: `${safePath(rec.spec.id)}.instance-${randomUUID()}`,
      appId: rec.spec.id,
      incarnation: 1,
      condition: 'Scheduled',
      mesosState: 'TASK_STAGING',
      goal: 'Running',
      host: rec.host,
      agentId: this.#opts.agentId,
      ports: [],
      ipAddresses: [],
      version: rec.version,
      configVersion: rec.lastConfigChangeAt,
      healthChecks: rec.spec.healthChecks,
      health: [],
      lastAggregate: null,
      seq: this.#store.nextSeq(),
      epoch: 0,
    };
    this.#store.instances.set(inst.instanceId, inst);
    this.#store.changed();
    void this.#launch(inst, rec);
    return inst;
  }

  #delay(): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => { this.#timers.delete(t); resolve(); }, this.#opts.stepDelayMs);
      this.#timers.add(t);
    });
  }

  #stale(inst: Instance, epoch: number): boolean {
    return this.#store.closed || this.#store.instances.get(inst.instanceId) !== inst || inst.epoch !== epoch || inst.goal !== 'Running';
  }

  #transition(inst: Instance, cond: Condition, mesosState?: string): number {
    inst.condition = cond;
    if (mesosState !== undefined) {
      inst.mesosState = mesosState;
      this.#opts.publish(statusUpdateEvent(inst, mesosState));
    }
    this.#opts.publish(instanceChangedEvent(inst));
    this.#store.changed();
    return ++inst.epoch;
  }

  async #launch(inst: Instance, rec: AppRecord): Promise<void> {
    let epoch = this.#transition(inst, 'Scheduled');
    await this.#delay();
    if (this.#stale(inst, epoch)) return;
    try {
      await this.#allocate(inst, rec);
    } catch (err) {
      if (this.#stale(inst, epoch)) return;
      inst.epoch++;
      this.#opts.publish(statusUpdateEvent(inst, 'TASK_FAILED', `emulator could not bind the task's ports: ${String(err)}`));
      inst.condition = 'Failed';
      inst.mesosState = 'TASK_FAILED';
      this.#opts.publish(instanceChangedEvent(inst));
      this.#store.changed();
      return;
    }
    if (this.#stale(inst, epoch)) { await this.#closeBackend(inst); return; }
    epoch = this.#transition(inst, 'Provisioned');
    await this.#delay();
    if (this.#stale(inst, epoch)) return;
    inst.stagedAt = timestamp();
    epoch = this.#transition(inst, 'Staging', 'TASK_STAGING');
    await this.#delay();
    if (this.#stale(inst, epoch)) return;
    epoch = this.#transition(inst, 'Starting', 'TASK_STARTING');
    await this.#delay();
    if (this.#stale(inst, epoch)) return;
    inst.startedAt = timestamp();
    epoch = this.#transition(inst, 'Running', 'TASK_RUNNING');
    if (inst.healthChecks.length === 0 || !rec.autoHealthy) return;
    await this.#delay();
    if (this.#stale(inst, epoch) || inst.health.some((r) => r !== undefined)) return;
    this.#applyHealth(inst, inst.healthChecks.map((_, i) => i), true, '');
  }

  async #relaunch(inst: Instance, epoch: number): Promise<void> {
    await this.#delay();
    if (this.#stale(inst, epoch)) return;
    const rec = this.#store.apps.get(inst.appId);
    if (rec === undefined) return;
    inst.incarnation++;
    inst.ports = [];
    inst.ipAddresses = [];
    delete inst.stagedAt;
    delete inst.startedAt;
    inst.health = [];
    inst.lastAggregate = null;
    inst.mesosState = 'TASK_STAGING';
    inst.version = rec.version;
    inst.configVersion = rec.lastConfigChangeAt;
    inst.healthChecks = rec.spec.healthChecks;
    inst.host = rec.host;
    await this.#launch(inst, rec);
  }

  async #kill(inst: Instance): Promise<void> {
    if (inst.goal !== 'Running') return;
    inst.goal = 'Decommissioned';
    const placed = isListed(inst) && !isInactive(inst.condition);
    let epoch = this.#transition(inst, inst.condition);
    if (placed) {
      await this.#delay();
      if (this.#store.closed || inst.epoch !== epoch) return this.#expunge(inst);
      epoch = this.#transition(inst, 'Killing', 'TASK_KILLING');
      await this.#delay();
      if (this.#store.closed || inst.epoch !== epoch) return this.#expunge(inst);
      this.#transition(inst, 'Killed', 'TASK_KILLED');
    }
    await this.#expunge(inst);
  }

  async #expunge(inst: Instance): Promise<void> {
    if (this.#store.instances.get(inst.instanceId) === inst) {
      this.#store.instances.delete(inst.instanceId);
      this.#store.changed();
    }
    await this.#closeBackend(inst);
  }

  async #closeBackend(inst: Instance): Promise<void> {
    const b = inst.backend;
    if (b === undefined) return;
    delete inst.backend;
    await b.close();
  }

  #nextTaskIp(): string {
    const k = this.#ipCursor++ % (254 * 254);
    return `127.0.${1 + Math.floor(k / 254)}.${1 + (k % 254)}`;
  }

  /** Chooses addresses, starts the task's servers and records ports/IPs on the instance. */
  async #allocate(inst: Instance, rec: AppRecord): Promise<void> {
    const spec = rec.spec;
    const mode = networkMode(spec);
    const tid = taskId(inst);
    for (let attempt = 0; ; attempt++) {
      let plans: PortPlan[];
      let ip = rec.host;
      /** indices of plans that are host ports (go to task.ports) */
      let hostPortIdx: number[];
      if (mode === 'host') {
        plans = spec.portDefinitions.map((pd) => ({ protocol: pd.protocol, bindHost: rec.host, port: spec.requirePorts ? pd.port : 0 }));
        hostPortIdx = plans.map((_, i) => i);
      } else if (mode === 'container/bridge') {
        plans = (spec.container?.portMappings ?? []).map((pm) => ({ protocol: pm.protocol, bindHost: rec.host, port: pm.hostPort ?? 0 }));
        hostPortIdx = plans.map((_, i) => i);
      } else {
        ip = this.#nextTaskIp();
        const mappings = spec.container?.portMappings ?? [];
        plans = mappings.map((pm) => (pm.hostPort !== undefined
          ? { protocol: pm.protocol, bindHost: rec.host, port: pm.hostPort }
          : { protocol: pm.protocol, bindHost: ip, port: pm.containerPort }));
        hostPortIdx = mappings.flatMap((pm, i) => (pm.hostPort !== undefined ? [i] : []));
      }
      let handle: BackendHandle;
      try {
        handle = await this.#backends.start(rec.backend, tid, plans);
      } catch (err) {
        if (mode === 'container' && attempt < 20) continue;
        throw err;
      }
      if (this.#store.closed) { await handle.close(); return; }
      this.#handles.add(handle);
      inst.backend = { close: async () => { this.#handles.delete(handle); await handle.close(); } };
      inst.ports = hostPortIdx.map((i) => handle.ports[i] ?? 0);
      inst.ipAddresses = [ipOf(ip)];
      return;
    }
  }

  async close(): Promise<void> {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    await Promise.all([...this.#handles].map((h) => h.close()));
    this.#handles.clear();
  }
}
