/**
 * The `/routes` document: the routing table as operators read it (service port → mode, app,
 * backends with health and drain state). Derived from the table, nothing else; no secrets (the
 * basic-auth hash of HAPROXY_{n}_AUTH is left out).
 */
import type { RoutingTable, Service } from '../model/routing-table.ts';

export interface RoutesView {
  readonly version: number;
  readonly builtAt: string | null;
  readonly counts: RoutingTable['counts'] & { readonly services: number };
  readonly services: readonly ServiceView[];
  readonly problems: RoutingTable['problems'];
}

export interface ServiceView {
  readonly port: number;
  readonly bind: string;
  readonly mode: Service['mode'];
  readonly protocols: Service['protocols'];
  readonly app: string;
  readonly portIndex: number;
  readonly portName: string | null;
  readonly servicePort: number;
  readonly vhosts: readonly string[];
  readonly paths: readonly string[];
  readonly groups: readonly string[];
  readonly backends: readonly {
    readonly task: string;
    readonly address: string;
    readonly port: number;
    readonly host: string;
    readonly state: string;
    readonly health: string;
    readonly routable: boolean;
    readonly draining: boolean;
  }[];
}

export function routesView(table: RoutingTable): RoutesView {
  return {
    version: table.version,
    builtAt: table.builtAt ? new Date(table.builtAt).toISOString() : null,
    counts: { ...table.counts, services: table.services.length },
    services: table.services.map((s) => ({
      port: s.listenPort,
      bind: s.bindAddress,
      mode: s.mode,
      protocols: s.protocols,
      app: s.appId,
      portIndex: s.portIndex,
      portName: s.portName ?? null,
      servicePort: s.servicePort,
      vhosts: s.spec.vhosts,
      paths: s.spec.paths,
      groups: s.spec.groups,
      backends: s.backends.map((b) => ({
        task: b.taskId,
        address: b.address,
        port: b.port,
        host: b.host,
        state: b.state,
        health: b.health,
        routable: b.routable,
        draining: b.draining,
      })),
    })),
    problems: table.problems,
  };
}
