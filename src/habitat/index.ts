/**
 * The Habitat consumer: keeps the rings of the latest routing table and serves them on the admin
 * server. It opens no socket of its own and never relays gossip (see docs/habitat.md).
 *
 * - `GET /v1/habitat/rings`: every ring with its apps, members (peer-list order), counts and problems;
 * - `GET /v1/habitat/rings/{ring}/peers`: the ring's peer list, `text/plain` in exactly the
 *   `hab sup run --peer-watch-file` format (one `ip:port` a line, each ending in a newline; empty for a
 *   ring without members), or JSON with `Accept: application/json`; 404 for a ring no app is in.
 * - Metrics: members by ring and state, apps by detection, misconfigured apps by reason, peer-list
 *   requests by format. A misconfigured app is logged when its problems change, not on every table.
 */
import type { IncomingMessage } from 'node:http';
import { sendJson, sendText, type AdminRoutes } from '../admin/server.ts';
import type { Consumer } from '../consumer.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics/registry.ts';
import type { RoutingTable, TableDiff } from '../model/routing-table.ts';
import type { Detection } from './detect.ts';
import { buildRings, EMPTY_VIEW, memberJson, peerFile, type HabitatView, type Ring } from './rings.ts';
import { PROBLEM_REASONS, type HabitatProblem } from './validate.ts';

export { ringDnsRecords, type RingDnsRecords } from './dns.ts';
export { buildRings, peerFile, type HabitatView, type Ring, type RingMember } from './rings.ts';

export const RINGS_PATH = '/v1/habitat/rings';
const DETECTIONS: readonly Detection[] = ['label', 'port', 'command'];
const STATES = ['healthy', 'unhealthy', 'excluded'] as const;

export interface HabitatConsumer extends Consumer {
  /** The rings of the last table applied. */
  readonly view: HabitatView;
}

/** JSON is chosen when the client accepts application/json (or any JSON type) and did not ask for text first. */
export function wantsJson(req: Pick<IncomingMessage, 'headers'>): boolean {
  const accept = String(req.headers['accept'] ?? '').toLowerCase();
  if (!/\bapplication\/(?:[\w.+-]+\+)?json\b/.test(accept)) return false;
  const json = accept.search(/application\/(?:[\w.+-]+\+)?json/);
  const text = accept.indexOf('text/plain');
  return text < 0 || json < text;
}

function ringJson(ring: Ring): Record<string, unknown> {
  return {
    name: ring.name,
    apps: ring.apps,
    members: ring.members.map(memberJson),
    counts: ring.counts,
    problems: ring.problems,
  };
}

function problemKey(problems: readonly HabitatProblem[]): string {
  return problems.map((p) => p.reason).sort().join(',');
}

export function createHabitat(context: { logger: Logger; metrics: Metrics }): HabitatConsumer {
  const { logger, metrics } = context;
  let view: HabitatView = EMPTY_VIEW;
  /** Problems last logged, per app (reasons only: a message naming a task's port may change with every task). */
  let logged = new Map<string, string>();
  const knownRings = new Set<string>();
  // Every format starts at 0, so that rates exist before the first request.
  for (const format of ['text', 'json', 'unknown'] as const) metrics.habitatPeerListRequests.inc({ format }, 0);

  function updateMetrics(next: HabitatView): void {
    for (const ring of next.rings) {
      knownRings.add(ring.name);
      for (const state of STATES) metrics.habitatRingMembers.set({ ring: ring.name, state }, ring.counts[state]);
    }
    // Rings that are gone drop out of /metrics rather than freezing at their last value.
    for (const name of [...knownRings]) {
      if (next.rings.some((r) => r.name === name)) continue;
      for (const state of STATES) metrics.habitatRingMembers.remove({ ring: name, state });
      knownRings.delete(name);
    }
    const detections = new Map<Detection, number>(DETECTIONS.map((d) => [d, 0]));
    for (const ring of next.rings) for (const app of ring.apps) detections.set(app.detection, (detections.get(app.detection) ?? 0) + 1);
    for (const [detection, n] of detections) metrics.habitatApps.set({ detection }, n);
    for (const reason of PROBLEM_REASONS) {
      if (reason === 'unlabelled') continue;
      const apps = new Set(next.problems.filter((p) => p.reason === reason).map((p) => p.appId));
      metrics.habitatMisconfiguredApps.set({ reason }, apps.size);
    }
  }

  function logChanges(next: HabitatView): void {
    const byApp = new Map<string, HabitatProblem[]>();
    for (const p of next.problems) {
      const list = byApp.get(p.appId) ?? [];
      list.push(p);
      byApp.set(p.appId, list);
    }
    const now = new Map<string, string>();
    for (const [app, problems] of byApp) {
      const key = problemKey(problems);
      now.set(app, key);
      if (logged.get(app) === key) continue;
      for (const p of problems) {
        const fields = { app, ring: p.ring, reason: p.reason, severity: p.severity };
        if (p.severity === 'info') logger.info(fields, `habitat app ${app}: ${p.message}`);
        else logger.warn(fields, `habitat app ${app} is misconfigured: ${p.message}`);
      }
    }
    for (const app of logged.keys()) {
      if (!now.has(app)) logger.info({ app }, `habitat app ${app}: no problems any more`);
    }
    logged = now;
  }

  return {
    name: 'habitat',
    get view() {
      return view;
    },
    apply(table: RoutingTable, _diff: TableDiff): void {
      const next = buildRings(table);
      view = next;
      updateMetrics(next);
      logChanges(next);
    },
    registerRoutes(routes: AdminRoutes): void {
      routes.add(RINGS_PATH, (_req, res) => {
        sendJson(res, 200, { rings: view.rings.map(ringJson), problems: view.problems });
      });
      routes.addPrefix(`${RINGS_PATH}/`, (req, res, url) => {
        const rest = url.pathname.slice(RINGS_PATH.length + 1);
        const m = /^([^/]+)\/peers\/?$/.exec(rest);
        let name: string | undefined;
        try {
          name = m?.[1] === undefined ? undefined : decodeURIComponent(m[1]);
        } catch {
          name = undefined;
        }
        const ring = name === undefined ? undefined : view.rings.find((r) => r.name === name);
        if (!m || !ring) {
          if (m) metrics.habitatPeerListRequests.inc({ format: 'unknown' });
          sendText(res, 404, m ? `no Habitat ring named ${JSON.stringify(name ?? m[1])}\n` : 'not found\n');
          return;
        }
        if (wantsJson(req)) {
          metrics.habitatPeerListRequests.inc({ format: 'json' });
          sendJson(res, 200, ring.members.map(memberJson));
        } else {
          metrics.habitatPeerListRequests.inc({ format: 'text' });
          sendText(res, 200, peerFile(ring.members));
        }
      });
    },
    async close(): Promise<void> {
      // Nothing to drain: the admin server owns the connections.
    },
  };
}
