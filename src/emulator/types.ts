// Shared types of the Marathon emulator. Independent of pacer's own model on purpose.

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export type BackendKind = 'http' | 'tcp' | 'udp' | 'none';
export type NetworkMode = 'host' | 'container/bridge' | 'container';

export interface PortDefinition {
  port: number;
  labels: Record<string, string>;
  name?: string;
  protocol: string;
}

export interface PortMapping {
  containerPort: number;
  hostPort?: number;
  labels: Record<string, string>;
  name?: string;
  protocol: string;
  servicePort: number;
  networkNames?: string[];
}

export interface Network {
  name?: string;
  mode: NetworkMode;
  labels?: Record<string, string>;
}

export interface ContainerSpec {
  type: string;
  docker?: JsonObject;
  volumes: Json[];
  portMappings: PortMapping[];
}

export interface HealthCheckSpec {
  protocol: string;
  /** The check as Marathon writes it (field order included). */
  json: JsonObject;
}

/** A normalised app definition (1.5+ networking API). */
export interface AppSpec {
  id: string;
  cmd?: string;
  instances: number;
  cpus: number;
  mem: number;
  disk: number;
  gpus: number;
  backoffFactor: number;
  backoffSeconds: number;
  maxLaunchDelaySeconds: number;
  executor: string;
  labels: Record<string, string>;
  networks: Network[];
  portDefinitions: PortDefinition[];
  container?: ContainerSpec;
  healthChecks: HealthCheckSpec[];
  requirePorts: boolean;
  upgradeStrategy: { maximumOverCapacity: number; minimumHealthCapacity: number };
  killSelection: string;
  unreachableStrategy: Json;
  role: string;
  /** Optional pass-through fields (written only when non-empty), keyed by Marathon field name. */
  extra: JsonObject;
}

export interface AppRecord {
  spec: AppSpec;
  version: string;
  lastScalingAt: string;
  lastConfigChangeAt: string;
  backend: BackendKind;
  autoHealthy: boolean;
  /** Address the app's tasks report as `host` and bind host-mode/bridge servers to. */
  host: string;
  lastTaskFailure?: JsonObject;
}

export type Condition =
  | 'Scheduled' | 'Provisioned' | 'Staging' | 'Starting' | 'Running' | 'Killing' | 'Killed' | 'Finished'
  | 'Failed' | 'Error' | 'Unreachable' | 'UnreachableInactive' | 'Gone' | 'Dropped' | 'Unknown';

export type Goal = 'Running' | 'Stopped' | 'Decommissioned';

export interface HealthResult {
  alive: boolean;
  consecutiveFailures: number;
  firstSuccess?: string;
  lastSuccess?: string;
  lastFailure?: string;
  lastFailureCause?: string;
}

export interface IpAddress {
  ipAddress: string;
  protocol: 'IPv4' | 'IPv6';
}

export interface Instance {
  instanceId: string;
  appId: string;
  incarnation: number;
  condition: Condition;
  /** Last raw Mesos state reported for the current task. */
  mesosState: string;
  goal: Goal;
  host: string;
  agentId: string;
  ports: number[];
  ipAddresses: IpAddress[];
  stagedAt?: string;
  startedAt?: string;
  /** App version the instance was launched with. */
  version: string;
  /** lastConfigChangeAt of the app when launched (a scale keeps old instances current). */
  configVersion: string;
  healthChecks: HealthCheckSpec[];
  health: Array<HealthResult | undefined>;
  /** Last aggregate health published in instance_health_changed_event. */
  lastAggregate: boolean | null;
  /** Monotonic creation order (kill selection). */
  seq: number;
  /** Bumped on every transition; a lifecycle routine stops when it sees a newer epoch than its own. */
  epoch: number;
  backend?: { close(): Promise<void> };
}

export interface DeploymentAction {
  action: string;
  app: string;
}

export interface Deployment {
  id: string;
  version: string;
  affectedApps: string[];
  steps: DeploymentAction[][];
  /** 0-based index of the step being run. */
  currentStep: number;
  cancelled: boolean;
}

export const TERMINAL_CONDITIONS: ReadonlySet<Condition> = new Set<Condition>([
  'Killed', 'Finished', 'Failed', 'Error', 'Gone', 'Dropped', 'Unknown',
]);

export function isInactive(c: Condition): boolean {
  return TERMINAL_CONDITIONS.has(c) || c === 'UnreachableInactive';
}

export function isJsonObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
