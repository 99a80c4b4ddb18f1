/**
 * Marathon event-stream payloads (CONTRACT §1.5) decoded into the few shapes pacer acts on.
 * Everything else is `ignored`; a payload that is not what its event type promises is a decode
 * failure, which the caller counts and skips.
 */
import { isTaskState, type TaskState } from './app.ts';
import { fail, ok, show, type Result } from './result.ts';
import { instanceIdOf } from './task-id.ts';

/** The event types pacer subscribes to (the server-side `event_type` filter). */
export const SUBSCRIBED_EVENT_TYPES = [
  'status_update_event',
  'instance_changed_event',
  'health_status_changed_event',
  'instance_health_changed_event',
  'api_post_event',
  'deployment_info',
  'deployment_success',
  'deployment_failed',
  'app_terminated_event',
] as const;

export type SubscribedEventType = (typeof SUBSCRIBED_EVENT_TYPES)[number];

export interface StatusUpdate {
  readonly kind: 'status';
  readonly taskId: string;
  readonly instanceId: string;
  readonly appId: string;
  readonly state: TaskState;
  readonly host: string;
  readonly agentId: string | undefined;
  readonly ipAddresses: readonly string[];
  readonly ports: readonly number[];
  readonly version: string | undefined;
  readonly timestamp: string | undefined;
}

export interface InstanceChanged {
  readonly kind: 'instance';
  readonly instanceId: string;
  readonly appId: string;
  readonly condition: string;
  readonly version: string | undefined;
  readonly timestamp: string | undefined;
}

/** One health check of one instance flipped (`health_status_changed_event`). */
export interface CheckChanged {
  readonly kind: 'check';
  readonly instanceId: string;
  readonly appId: string;
  readonly alive: boolean;
  readonly timestamp: string | undefined;
}

/** The aggregate health of an instance changed (`instance_health_changed_event`); null = unknown. */
export interface InstanceHealthChanged {
  readonly kind: 'instance-health';
  readonly instanceId: string;
  readonly appId: string;
  readonly healthy: boolean | null;
  readonly timestamp: string | undefined;
}

/** The app definition (or the app's existence) may have changed: fetch that one app again. */
export interface AppChanged {
  readonly kind: 'app';
  readonly appIds: readonly string[];
}

export interface Ignored {
  readonly kind: 'ignored';
}

export type MarathonEvent = StatusUpdate | InstanceChanged | CheckChanged | InstanceHealthChanged | AppChanged | Ignored;

const IGNORED: Ignored = { kind: 'ignored' };

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function str(o: Json, key: string): string | undefined {
  const v = o[key];
  return typeof v === 'string' ? v : undefined;
}


/**
 * Decode one event. `eventType` is the SSE `event:` name; the payload's own `eventType` wins when
 * present (Marathon always writes both, equal).
 */
export function decodeEvent(eventType: string, data: string): Result<MarathonEvent> {
  let json: unknown;
  try {
    json = JSON.parse(data);
  } catch {
    return fail(`${eventType || 'event'}: data is not JSON`);
  }
  if (!isObject(json)) return fail(`${eventType || 'event'}: data is not a JSON object`);
  const type = str(json, 'eventType') ?? eventType;
  switch (type) {
    case 'status_update_event':
      return decodeStatusUpdate(json);
    case 'instance_changed_event':
      return decodeInstanceChanged(json);
    case 'health_status_changed_event':
      return decodeCheckChanged(json);
    case 'instance_health_changed_event':
      return decodeInstanceHealth(json);
    case 'api_post_event': {
      const def = json['appDefinition'];
      const id = isObject(def) ? str(def, 'id') : undefined;
      return id ? ok({ kind: 'app', appIds: [id] }) : fail('api_post_event: appDefinition.id missing');
    }
    case 'app_terminated_event': {
      const id = str(json, 'appId');
      return id ? ok({ kind: 'app', appIds: [id] }) : fail('app_terminated_event: appId missing');
    }
    case 'deployment_info':
    case 'deployment_success':
    case 'deployment_failed':
      return decodeDeployment(type, json);
    default:
      return ok(IGNORED);
  }
}

function decodeStatusUpdate(o: Json): Result<MarathonEvent> {
  const taskId = str(o, 'taskId');
  const appId = str(o, 'appId');
  const state = o['taskStatus'];
  if (!taskId) return fail('status_update_event: taskId missing');
  if (!appId) return fail('status_update_event: appId missing');
  if (!isTaskState(state)) return fail(`status_update_event: unknown taskStatus ${show(state)}`);
  const ports = o['ports'];
  const portList: number[] = [];
  if (Array.isArray(ports)) {
    for (const p of ports) {
      if (!Number.isInteger(p) || (p as number) < 0 || (p as number) > 65535) {
        return fail(`status_update_event: bad port ${show(p)}`);
      }
      portList.push(p as number);
    }
  }
  const ips: string[] = [];
  const ipAddresses = o['ipAddresses'];
  if (Array.isArray(ipAddresses)) {
    for (const ip of ipAddresses) {
      if (isObject(ip) && typeof ip['ipAddress'] === 'string') ips.push(ip['ipAddress']);
    }
  }
  const slaveId = str(o, 'slaveId');
  return ok({
    kind: 'status',
    taskId,
    instanceId: instanceIdOf(taskId),
    appId,
    state,
    host: str(o, 'host') ?? '',
    agentId: slaveId === '' ? undefined : slaveId,
    ipAddresses: ips,
    ports: portList,
    version: str(o, 'version'),
    timestamp: str(o, 'timestamp'),
  });
}

function decodeInstanceChanged(o: Json): Result<MarathonEvent> {
  const instanceId = str(o, 'instanceId');
  const appId = str(o, 'runSpecId');
  const condition = str(o, 'condition');
  if (!instanceId || !appId || !condition) return fail('instance_changed_event: instanceId, runSpecId or condition missing');
  return ok({ kind: 'instance', instanceId, appId, condition, version: str(o, 'runSpecVersion'), timestamp: str(o, 'timestamp') });
}

function decodeCheckChanged(o: Json): Result<MarathonEvent> {
  const appId = str(o, 'appId');
  // Marathon <= 1.3 sent the task id in `taskId` instead of `instanceId`.
  const id = str(o, 'instanceId') ?? str(o, 'taskId');
  const alive = o['alive'];
  if (!appId || !id || typeof alive !== 'boolean') {
    return fail('health_status_changed_event: appId, instanceId or alive missing');
  }
  return ok({ kind: 'check', appId, instanceId: instanceIdOf(id), alive, timestamp: str(o, 'timestamp') });
}

function decodeInstanceHealth(o: Json): Result<MarathonEvent> {
  const instanceId = str(o, 'instanceId');
  const appId = str(o, 'runSpecId');
  const healthy = o['healthy'];
  if (!instanceId || !appId) return fail('instance_health_changed_event: instanceId or runSpecId missing');
  if (healthy !== null && healthy !== undefined && typeof healthy !== 'boolean') {
    return fail('instance_health_changed_event: healthy is not true, false or null');
  }
  return ok({ kind: 'instance-health', instanceId, appId, healthy: healthy ?? null, timestamp: str(o, 'timestamp') });
}

function decodeDeployment(type: string, o: Json): Result<MarathonEvent> {
  const plan = o['plan'];
  if (!isObject(plan)) return fail(`${type}: plan missing`);
  const steps = plan['steps'];
  const appIds = new Set<string>();
  if (Array.isArray(steps)) {
    for (const step of steps) {
      const actions = isObject(step) ? step['actions'] : undefined;
      if (!Array.isArray(actions)) continue;
      for (const action of actions) {
        if (isObject(action) && typeof action['app'] === 'string') appIds.add(action['app']);
      }
    }
  }
  return ok(appIds.size > 0 ? { kind: 'app', appIds: [...appIds] } : IGNORED);
}
