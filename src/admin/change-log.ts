/**
 * One log line per service that a routing-table version changed, naming the app, the service
 * port and the backends that came or went, so that an operator can follow traffic in the logs
 * (up to MAX_SERVICE_LINES of each kind per table; the rest are counted).
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

/**
 * At most this many services of each kind (added, removed, changed) get a line of their own per
 * table; the others are counted in one line. The first sync of a 10,000-app cluster wrote 10,000
 * `service added` lines, about 240 ms of the sync; `/routes` lists them all.
 */
export const MAX_SERVICE_LINES = 100;

export function logTableChange(logger: Logger, table: RoutingTable, diff: TableDiff): void {
  if (!logger.isLevelEnabled('info')) return;
  const version = table.version;
  const added = diff.added;
  for (let i = 0; i < added.length && i < MAX_SERVICE_LINES; i++) {
    const s = added[i]!;
    logger.info({ ...fields(s), version, backends: names(s.backends.filter((b) => b.routable)) }, 'service added');
  }
  if (added.length > MAX_SERVICE_LINES) logger.info({ version, count: added.length - MAX_SERVICE_LINES }, 'more services added (see /routes)');
  const removed = diff.removed;
  for (let i = 0; i < removed.length && i < MAX_SERVICE_LINES; i++) logger.info({ ...fields(removed[i]!), version }, 'service removed');
  if (removed.length > MAX_SERVICE_LINES) logger.info({ version, count: removed.length - MAX_SERVICE_LINES }, 'more services removed');
  let changed = 0;
  for (const c of diff.changed) {
    const out = [...c.backendsRemoved, ...c.backendsChanged.filter((b) => !b.routable)];
    const into = [...c.backendsAdded.filter((b) => b.routable), ...c.backendsChanged.filter((b) => b.routable)];
    if (!c.specChanged && out.length === 0 && into.length === 0) continue;
    if (++changed > MAX_SERVICE_LINES) continue;
    logger.info({ ...fields(c.after), version, backendsIn: names(into), backendsOut: names(out), specChanged: c.specChanged }, 'service changed');
  }
  if (changed > MAX_SERVICE_LINES) logger.info({ version, count: changed - MAX_SERVICE_LINES }, 'more services changed (see /routes)');
}
