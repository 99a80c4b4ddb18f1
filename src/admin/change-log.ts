/**
 * One log line per service that a routing-table version changed, naming the app, the service
 * port and the backends that came or went, so that an operator can follow traffic in the logs.
 */
import type { Logger } from '../log.ts';
import type { Backend, RoutingTable, Service, TableDiff } from '../model/routing-table.ts';

/** At most this many backends are named in one log line; the rest are counted. */
const MAX_NAMED = 20;

function names(backends: readonly Backend[]): string[] {
  const shown = backends.slice(0, MAX_NAMED).map((b) => `${b.address}:${b.port}`);
  if (backends.length > MAX_NAMED) shown.push(`… and ${backends.length - MAX_NAMED} more`);
  return shown;
}

function fields(s: Service): { app: string; servicePort: number; mode: string } {
  return { app: s.appId, servicePort: s.listenPort, mode: s.mode };
}

export function logTableChange(logger: Logger, table: RoutingTable, diff: TableDiff): void {
  if (!logger.isLevelEnabled('info')) return;
  for (const s of diff.added) logger.info({ ...fields(s), version: table.version, backends: names(s.backends.filter((b) => b.routable)) }, 'service added');
  for (const s of diff.removed) logger.info({ ...fields(s), version: table.version }, 'service removed');
  for (const c of diff.changed) {
    const out = [...c.backendsRemoved, ...c.backendsChanged.filter((b) => !b.routable)];
    const into = [...c.backendsAdded.filter((b) => b.routable), ...c.backendsChanged.filter((b) => b.routable)];
    if (!c.specChanged && out.length === 0 && into.length === 0) continue;
    logger.info(
      { ...fields(c.after), version: table.version, backendsIn: names(into), backendsOut: names(out), specChanged: c.specChanged },
      'service changed',
    );
  }
}
