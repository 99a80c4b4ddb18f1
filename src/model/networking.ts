/**
 * Backend addresses of a task, one per app port, by Marathon's own algorithm
 * (CONTRACT §3.2, `NetworkInfo.computePortAssignments`). Pure.
 *
 * - host mode: port i is `(task.host, task.ports[i])`;
 * - container/bridge and container mode: walk the port mappings in order with a cursor into `task.ports`.
 *   A mapping with a host port takes the next `task.ports` value and is `(task.host, hostPort)` (Marathon
 *   prefers agent:hostPort even in container mode). A mapping without one is
 *   `(task.ipAddresses[0], containerPort)`, unresolved while the task has no IP yet. Only mappings with a host
 *   port consume `task.ports`, so task port i is not always mapping i (the classic index-shift bug).
 * - A task launched from another app version may carry fewer or more ports: entries pair up to the shorter
 *   list (Marathon itself would refuse to align them); the rest stay undefined or are ignored (§3.2 step 4).
 * - `containerPort: 0` means "same as the allocated host port": with a host port the backend is the host port
 *   anyway; without one there is nothing to be the same as, so the entry is unresolved.
 * - A port of 0 in `task.ports` (an invalid entry replaced by the decoder) and an empty `task.host` give no endpoint.
 */
import type { App, Task } from './app.ts';

export interface Endpoint {
  readonly address: string;
  readonly port: number;
}

/** One entry per `app.ports[i]`; undefined where the task has no usable endpoint for that port. */
export function taskEndpoints(app: App, task: Task): readonly (Endpoint | undefined)[] {
  const ports = app.ports;
  const n = ports.length;
  const out: (Endpoint | undefined)[] = new Array<Endpoint | undefined>(n);
  const taskPorts = task.ports;
  const host = task.host;

  if (app.networkMode === 'host') {
    for (let i = 0; i < n; i++) {
      const hp = i < taskPorts.length ? taskPorts[i] : undefined;
      out[i] = hp !== undefined && hp > 0 && host !== '' ? { address: host, port: hp } : undefined;
    }
    return out;
  }

  const ip = task.ipAddresses.length > 0 ? task.ipAddresses[0] : undefined;
  let cursor = 0;
  for (let i = 0; i < n; i++) {
    const p = ports[i];
    if (p === undefined) {
      out[i] = undefined;
    } else if (p.hasHostPort) {
      const hp = cursor < taskPorts.length ? taskPorts[cursor] : undefined;
      cursor++;
      out[i] = hp !== undefined && hp > 0 && host !== '' ? { address: host, port: hp } : undefined;
    } else {
      const cp = p.containerPort;
      out[i] = ip !== undefined && ip !== '' && cp !== undefined && cp > 0 ? { address: ip, port: cp } : undefined;
    }
  }
  return out;
}
