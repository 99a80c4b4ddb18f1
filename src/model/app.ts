/**
 * Marathon apps and tasks as pacer sees them: normalised from the wire JSON of every Marathon
 * version pacer supports (1.5+ networking API and the legacy pre-1.5 fields), so that the rest of
 * the model never has to look at raw JSON again. Plain data, immutable by convention.
 */

/** Marathon 1.5+ networking modes; the legacy fields are mapped onto these when decoding. */
export type NetworkMode = 'host' | 'container/bridge' | 'container';

export type Protocol = 'tcp' | 'udp';

/**
 * One port of an app, in the app's own order: `portDefinitions[i]` in host mode,
 * `container.portMappings[i]` otherwise. `index` is the `{n}` of the `HAPROXY_{n}_*` labels.
 */
export interface AppPort {
  readonly index: number;
  /** The service port Marathon assigned (0 when none was assigned). */
  readonly servicePort: number;
  readonly name: string | undefined;
  /** Normalised protocol list: `tcp`, `udp`, or both (`udp,tcp`) as `['udp', 'tcp']`. */
  readonly protocols: readonly Protocol[];
  /** Port mappings only: the container-side port (0 = same as the allocated host port). */
  readonly containerPort: number | undefined;
  /**
   * Port mappings only: whether the mapping asks for a host port. Only mappings with a host port
   * consume an entry of `task.ports`, which is why task port i is not always mapping i.
   * Always true for host-mode port definitions.
   */
  readonly hasHostPort: boolean;
  /** Port-level labels (`portDefinitions[i].labels` / `portMappings[i].labels`). */
  readonly labels: Readonly<Record<string, string>>;
}

export type HealthCheckProtocol =
  | 'HTTP'
  | 'HTTPS'
  | 'TCP'
  | 'MESOS_HTTP'
  | 'MESOS_HTTPS'
  | 'MESOS_TCP'
  | 'COMMAND';

export interface HealthCheck {
  readonly protocol: HealthCheckProtocol;
  /** `portIndex` of the check, when it names one (a fixed `port` wins over it). */
  readonly portIndex: number | undefined;
  readonly port: number | undefined;
  readonly path: string | undefined;
  readonly intervalSeconds: number;
  readonly timeoutSeconds: number;
  readonly maxConsecutiveFailures: number;
}

export interface App {
  /** Absolute app id, e.g. `/prod/web/api`. */
  readonly id: string;
  /** App version (Marathon timestamp string). */
  readonly version: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly networkMode: NetworkMode;
  readonly ports: readonly AppPort[];
  readonly healthChecks: readonly HealthCheck[];
  readonly hasReadinessChecks: boolean;
  readonly instances: number;
  readonly cmd: string | undefined;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  /** Docker/UCR image, when the app runs one. */
  readonly image: string | undefined;
  readonly requirePorts: boolean;
}

/**
 * Raw Mesos task states as Marathon reports them. `status_update_event` may also carry
 * `TASK_LOST` and `TASK_GONE_BY_OPERATOR`, which the REST API never shows.
 */
export type TaskState =
  | 'TASK_STAGING'
  | 'TASK_STARTING'
  | 'TASK_RUNNING'
  | 'TASK_KILLING'
  | 'TASK_FINISHED'
  | 'TASK_FAILED'
  | 'TASK_KILLED'
  | 'TASK_ERROR'
  | 'TASK_LOST'
  | 'TASK_DROPPED'
  | 'TASK_UNREACHABLE'
  | 'TASK_GONE'
  | 'TASK_GONE_BY_OPERATOR'
  | 'TASK_UNKNOWN';

/**
 * A task's health verdict across all of its app's health checks.
 * - `none`: the app has no health checks (running means healthy, Marathon's own default);
 * - `healthy`: one result per check and every one alive;
 * - `unhealthy`: at least one result not alive;
 * - `unknown`: checks exist but not every one has a result yet. Unknown is not healthy.
 */
export type TaskHealth = 'none' | 'healthy' | 'unhealthy' | 'unknown';

export interface Task {
  readonly id: string;
  /**
   * Instance id (the task id without its `._app.N` / `.<container>.<incarnation>` tail). Pre-instance-era task ids
   * (`app.<uuid>`, `app_<uuid>`, `app.<uuid>.<n>`) map to `app.marathon-<uuid>`, the id Marathon's events use
   * for them (`task-id.ts`).
   */
  readonly instanceId: string;
  readonly appId: string;
  /** Agent host name or IP as Marathon reports it (may be `unknown` in events). */
  readonly host: string;
  readonly agentId: string | undefined;
  /** Task IP addresses from the container's NetworkInfos, in order. */
  readonly ipAddresses: readonly string[];
  /** Allocated host ports, in the order of the app's ports that have a host port. */
  readonly ports: readonly number[];
  readonly state: TaskState;
  readonly health: TaskHealth;
  /** Version of the app this task was launched from. */
  readonly version: string | undefined;
  readonly stagedAt: string | undefined;
  readonly startedAt: string | undefined;
}

/** States in which a task is no longer live: it leaves the snapshot. */
export const TERMINAL_STATES: ReadonlySet<TaskState> = new Set<TaskState>([
  'TASK_FINISHED',
  'TASK_FAILED',
  'TASK_KILLED',
  'TASK_ERROR',
  'TASK_LOST',
  'TASK_DROPPED',
  'TASK_GONE',
  'TASK_GONE_BY_OPERATOR',
  'TASK_UNKNOWN',
]);

/**
 * Terminal states a task id never comes back from. `TASK_LOST`, `TASK_GONE_BY_OPERATOR` and
 * `TASK_UNKNOWN` are left out: Marathon keeps waiting for such a task (an agent partition heals,
 * an operator's mistake is undone) and the same task id may report `TASK_RUNNING` again.
 */
export const FINAL_STATES: ReadonlySet<TaskState> = new Set<TaskState>([
  'TASK_FINISHED',
  'TASK_FAILED',
  'TASK_KILLED',
  'TASK_ERROR',
  'TASK_DROPPED',
  'TASK_GONE',
]);

const TASK_STATES: ReadonlySet<string> = new Set<TaskState>([
  ...TERMINAL_STATES,
  'TASK_STAGING',
  'TASK_STARTING',
  'TASK_RUNNING',
  'TASK_KILLING',
  'TASK_UNREACHABLE',
]);

export function isTaskState(value: unknown): value is TaskState {
  return typeof value === 'string' && TASK_STATES.has(value);
}
