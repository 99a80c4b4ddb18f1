// Builders for Marathon's event payloads, fields in the wire order of the Scala writers (CONTRACT §1.5/§1.6).
import { planJson, taskId, timestamp } from './json.ts';
import type { Deployment, DeploymentAction, HealthCheckSpec, Instance, JsonObject } from './types.ts';

export function statusUpdateEvent(inst: Instance, taskStatus: string, message = ''): JsonObject {
  return {
    slaveId: inst.agentId,
    taskId: taskId(inst),
    taskStatus,
    message,
    appId: inst.appId,
    host: inst.host,
    ipAddresses: inst.ipAddresses.map((ip) => ({ ipAddress: ip.ipAddress, protocol: ip.protocol })),
    ports: inst.ports,
    version: inst.version,
    eventType: 'status_update_event',
    timestamp: timestamp(),
  };
}

/** `agentId`/`host` are null before the instance has an agent (Scheduled). */
export function instanceChangedEvent(inst: Instance): JsonObject {
  const placed = inst.condition !== 'Scheduled';
  return {
    instanceId: inst.instanceId,
    condition: inst.condition,
    runSpecId: inst.appId,
    agentId: placed ? inst.agentId : null,
    host: placed ? inst.host : null,
    runSpecVersion: inst.version,
    timestamp: timestamp(),
    eventType: 'instance_changed_event',
  };
}

export function instanceHealthChangedEvent(inst: Instance, healthy: boolean | null): JsonObject {
  return {
    instanceId: inst.instanceId,
    runSpecId: inst.appId,
    healthy,
    runSpecVersion: inst.version,
    timestamp: timestamp(),
    eventType: 'instance_health_changed_event',
  };
}

export function healthStatusChangedEvent(inst: Instance, alive: boolean): JsonObject {
  return {
    appId: inst.appId,
    instanceId: inst.instanceId,
    version: inst.version,
    alive,
    eventType: 'health_status_changed_event',
    timestamp: timestamp(),
  };
}

/** Note: `taskId` holds the INSTANCE id, as in Marathon. */
export function failedHealthCheckEvent(inst: Instance, check: HealthCheckSpec): JsonObject {
  return {
    appId: inst.appId,
    eventType: 'failed_health_check_event',
    healthCheck: check.json,
    taskId: inst.instanceId,
    timestamp: timestamp(),
  };
}

export function apiPostEvent(clientIp: string, uri: string, appDefinition: JsonObject): JsonObject {
  return { clientIp, uri, appDefinition, eventType: 'api_post_event', timestamp: timestamp() };
}

export function groupChangeSuccessEvent(groupId: string, version: string): JsonObject {
  return { groupId, version, eventType: 'group_change_success', timestamp: timestamp() };
}

function stepJson(actions: readonly DeploymentAction[]): JsonObject {
  return { actions: actions.map((a) => ({ action: a.action, app: a.app })) };
}

export function deploymentInfoEvent(d: Deployment): JsonObject {
  return { plan: planJson(d), currentStep: stepJson(d.steps[d.currentStep] ?? []), eventType: 'deployment_info', timestamp: timestamp() };
}

export function deploymentStepSuccessEvent(d: Deployment): JsonObject {
  return { plan: planJson(d), currentStep: stepJson(d.steps[d.currentStep] ?? []), eventType: 'deployment_step_success', timestamp: timestamp() };
}

export function deploymentSuccessEvent(d: Deployment): JsonObject {
  return { id: d.id, plan: planJson(d), eventType: 'deployment_success', timestamp: timestamp() };
}

export function deploymentFailedEvent(d: Deployment, reason: string): JsonObject {
  return { id: d.id, plan: planJson(d), reason, eventType: 'deployment_failed', timestamp: timestamp() };
}

export function appTerminatedEvent(appId: string): JsonObject {
  return { appId, eventType: 'app_terminated_event', timestamp: timestamp() };
}

export function streamAttachedEvent(remoteAddress: string): JsonObject {
  return { remoteAddress, eventType: 'event_stream_attached', timestamp: timestamp() };
}

export function streamDetachedEvent(remoteAddress: string): JsonObject {
  return { remoteAddress, eventType: 'event_stream_detached', timestamp: timestamp() };
}

/** The SSE frame Jetty's emitter writes: CRLF line endings, no id/retry. */
export function sseFrame(eventType: string, data: string): string {
  return `event: ${eventType}\r\ndata: ${data}\r\n\r\n`;
}
