/**
 * What Marathon says about itself and its Mesos cluster (`GET /v2/info`): the leader, the Mesos
 * leader's UI URL and the framework name. DNS serves `leader`/`master` and Marathon's own framework
 * records from it; the admin server shows it.
 */
import { fail, ok, type Result } from './result.ts';

export interface ClusterInfo {
  /** `marathon_config.framework_name` (default `marathon`): the `F` of Mesos-DNS names. */
  readonly frameworkName: string;
  readonly frameworkId: string | undefined;
  readonly marathonVersion: string | undefined;
  /** The Marathon leader, `host:port`. */
  readonly marathonLeader: string | undefined;
  /** `marathon_config.mesos_leader_ui_url`, e.g. `http://10.0.0.1:5050/`. */
  readonly mesosLeaderUiUrl: string | undefined;
}

function str(o: Record<string, unknown>, key: string): string | undefined {
  const v = o[key];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

export function decodeInfo(json: unknown): Result<ClusterInfo> {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return fail('/v2/info: not a JSON object');
  const o = json as Record<string, unknown>;
  const config = typeof o['marathon_config'] === 'object' && o['marathon_config'] !== null ? (o['marathon_config'] as Record<string, unknown>) : {};
  return ok({
    frameworkName: str(config, 'framework_name') ?? str(o, 'name') ?? 'marathon',
    frameworkId: str(o, 'frameworkId'),
    marathonVersion: str(o, 'version'),
    marathonLeader: str(o, 'leader'),
    mesosLeaderUiUrl: str(config, 'mesos_leader_ui_url'),
  });
}

export function sameClusterInfo(a: ClusterInfo | undefined, b: ClusterInfo | undefined): boolean {
  if (a === b) return true;
  if (!a || !b) return false;
  return (
    a.frameworkName === b.frameworkName &&
    a.frameworkId === b.frameworkId &&
    a.marathonVersion === b.marathonVersion &&
    a.marathonLeader === b.marathonLeader &&
    a.mesosLeaderUiUrl === b.mesosLeaderUiUrl
  );
}
