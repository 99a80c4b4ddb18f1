/**
 * Task health and routability (CONTRACT §4.1/§4.3, DESIGN.md "Routable task"). Pure functions.
 */
import type { Task, TaskHealth } from './app.ts';

/**
 * Health verdict from the number of results and whether all of them are alive. The allocation-free
 * core of {@link healthVerdict}, used by the decoder.
 */
export function healthVerdictFromCounts(
  checkCount: number,
  resultCount: number,
  allAlive: boolean,
  taskVersionMatchesApp: boolean,
): TaskHealth {
  if (checkCount <= 0) return 'none';
  if (!allAlive) return 'unhealthy';
  if (resultCount === 0) return 'unknown';
  // Same version: the app's checks are the task's checks, so every one must have answered.
  // Rollout (task launched from another version, whose checks we do not know): at least one result, all alive.
  if (!taskVersionMatchesApp || resultCount >= checkCount) return 'healthy';
  return 'unknown';
}

/**
 * Health verdict from the app's checks and the task's `healthCheckResults[].alive`:
 * - `none` when the app has no checks (TASK_RUNNING ⇒ healthy, Marathon's own default);
 * - `unhealthy` if any result is not alive;
 * - `healthy` with one result per check, all alive; during a rollout (the task's version differs from the
 *   app's) with at least one result, all alive;
 * - otherwise `unknown` (an empty result list is unknown, not healthy: §4.3).
 */
export function healthVerdict(checkCount: number, alive: readonly boolean[], taskVersionMatchesApp: boolean): TaskHealth {
  let allAlive = true;
  for (let i = 0; i < alive.length; i++) {
    if (alive[i] !== true) {
      allAlive = false;
      break;
    }
  }
  return healthVerdictFromCounts(checkCount, alive.length, allAlive, taskVersionMatchesApp);
}

/**
 * Routable (DESIGN.md): state TASK_RUNNING and, when health checks are honoured (`--health-check`),
 * health `none` or `healthy`. TASK_KILLING, TASK_UNREACHABLE, staging/starting and terminal states never route.
 */
export function isRoutable(task: Task, useHealthChecks: boolean): boolean {
  if (task.state !== 'TASK_RUNNING') return false;
  if (!useHealthChecks) return true;
  return task.health === 'none' || task.health === 'healthy';
}
