/**
 * The status page at `/` of the admin port: the Marathon connection, every exposed service port
 * with its backends, problems, recent routing changes, DNS and Habitat summaries. One HTML page,
 * no external assets, readable on a phone.
 *
 * Rendered on the server by the pure `renderStatusMain`, where every value is escaped (app ids,
 * labels and vhosts are user input). The page refreshes itself every 2 s by fetching `/?part=main`
 * (the same renderer's output) and swapping it in, so there is one renderer and one place that
 * escapes; without JavaScript a <noscript> meta refresh reloads the page. A Content-Security-Policy
 * allows only the page's own script and style (by hash) and requests to itself.
 */
import { createHash } from 'node:crypto';
import type { Registry } from 'prom-client';
import type { SyncStatus } from '../marathon/sync.ts';
import type { Backend, RoutingTable, Service } from '../model/routing-table.ts';
import { RoutingChanges, type RoutingChange } from './changes.ts';
import type { AdminHandler, AdminSources } from './server.ts';
import { hostPort } from '../net/host-port.ts';

/** A table a consumer (DNS, Habitat, the proxy) adds to the page. Every cell is escaped. */
export interface StatusSection {
  readonly title: string;
  readonly headers: readonly string[];
  readonly rows: readonly (readonly string[])[];
  /** Shown when `rows` is empty. */
  readonly empty?: string;
}

export interface StatusSources extends AdminSources {
  /** Fed from the sync engine's onTable; when absent the page keeps its own, from the tables it sees. */
  readonly changes?: RoutingChanges;
  /** Extra sections from consumers (listener details, DNS, Habitat rings). */
  readonly sections?: () => readonly StatusSection[];
}

/** What one rendering of the page shows: plain data, so the renderer is a pure function. */
export interface StatusModel {
  readonly now: number;
  readonly version: string;
  readonly status: SyncStatus;
  readonly table: RoutingTable;
  readonly changes: readonly RoutingChange[];
  /** Proxy view of backends: `service key|address:port` → 1 (up) or 0 (down: unhealthy, draining or ejected). */
  readonly backendUp: ReadonlyMap<string, number>;
  /** `pacer_listener_problems` by kind (only kinds with a non-zero count). */
  readonly listenerProblems: readonly { readonly kind: string; readonly count: number }[];
  /** DNS answers by rcode, when pacer serves DNS. */
  readonly dns: readonly { readonly rcode: string; readonly count: number }[] | undefined;
  readonly sections: readonly StatusSection[];
}

const ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** HTML-escape text for element content and quoted attribute values. */
export function esc(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

export function ago(now: number, at: number | undefined): string {
  if (at === undefined || !Number.isFinite(at) || at <= 0) return 'never';
  const s = Math.max(0, Math.round((now - at) / 1000));
  if (s < 90) return `${s} s ago`;
  if (s < 90 * 60) return `${Math.round(s / 60)} min ago`;
  if (s < 48 * 3600) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

function time(now: number, at: number | undefined): string {
  if (at === undefined || !Number.isFinite(at) || at <= 0) return '<span class="muted">never</span>';
  const iso = new Date(at).toISOString();
  return `<time datetime="${esc(iso)}" title="${esc(iso)}">${esc(ago(now, at))}</time>`;
}

export type BackendVerdict = 'routable' | 'draining' | 'ejected' | 'unhealthy' | 'starting' | 'unknown';

/** How the page classifies a backend: the table's view, plus the proxy's ejection. */
export function backendVerdict(b: Backend, service: Service, backendUp: ReadonlyMap<string, number>): BackendVerdict {
  if (b.draining) return 'draining';
  if (b.routable) {
    const up = backendUp.get(`${service.key}|${b.address}:${b.port}`) ?? backendUp.get(`${service.key}|${hostPort(b.address, b.port)}`);
    return up === 0 ? 'ejected' : 'routable';
  }
  if (b.state !== 'TASK_RUNNING') return b.state === 'TASK_STAGING' || b.state === 'TASK_STARTING' ? 'starting' : 'unknown';
  return b.health === 'unhealthy' ? 'unhealthy' : 'unknown';
}

const VERDICT_CLASS: Readonly<Record<BackendVerdict, string>> = {
  routable: 'ok',
  draining: 'warn',
  ejected: 'bad',
  unhealthy: 'bad',
  starting: 'muted-badge',
  unknown: 'muted-badge',
};

const VERDICT_TEXT: Readonly<Record<BackendVerdict, string>> = {
  routable: 'healthy',
  draining: 'draining',
  ejected: 'ejected',
  unhealthy: 'unhealthy',
  starting: 'starting',
  unknown: 'health unknown',
};

function badge(cls: string, text: string): string {
  return `<span class="badge ${cls}">${esc(text)}</span>`;
}

function streamBadge(state: SyncStatus['stream']): string {
  const cls = state === 'connected' ? 'ok' : state === 'disconnected' ? 'bad' : 'warn';
  return badge(cls, state);
}

function table(headers: readonly string[], rows: readonly string[], empty: string, cls = ''): string {
  if (rows.length === 0) return `<p class="muted">${esc(empty)}</p>`;
  return `<div class="scroll"><table${cls ? ` class="${cls}"` : ''}><thead><tr>${headers.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows.join('')}</tbody></table></div>`;
}

function marathonSection(m: StatusModel): string {
  const s = m.status;
  const leader = s.leader ?? m.table.cluster?.marathonLeader;
  const rows: [string, string][] = [
    ['event stream', `${streamBadge(s.stream)} <span class="muted">${esc(s.streamUrl)}</span>`],
    ['ready', s.ready ? badge('ok', 'ready') : badge('bad', 'not ready: no complete sync yet')],
    ['Marathon', esc(s.marathon)],
    ['leader', leader ? esc(leader) : '<span class="muted">unknown</span>'],
    ['last event', time(m.now, s.lastEventAt)],
    ['last resync', time(m.now, s.lastSyncAt)],
  ];
  if (s.lastSyncError) rows.push(['last sync error', `<span class="err">${esc(s.lastSyncError)}</span>`]);
  if (m.table.cluster?.marathonVersion) rows.push(['Marathon version', esc(m.table.cluster.marathonVersion)]);
  rows.push(['table', `version ${esc(m.table.version)}, built ${time(m.now, m.table.builtAt || undefined)}; ${esc(s.applies)} applies of ${esc(s.eventsApplied)} events`]);
  return `<section id="marathon"><h2>Marathon</h2><dl class="kv">${rows.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${v}</dd>`).join('')}</dl></section>`;
}

function summary(m: StatusModel): string {
  const c = m.table.counts;
  const items: [string, number | string, string][] = [
    ['services', m.table.services.length, ''],
    ['apps', c.apps, ''],
    ['tasks', c.tasks, ''],
    ['routable backends', c.routableBackends, ''],
    ['label problems', m.table.problems.length, m.table.problems.length > 0 ? 'warn' : ''],
  ];
  const listener = m.listenerProblems.reduce((n, p) => n + p.count, 0);
  items.push(['listener problems', listener, listener > 0 ? 'bad' : '']);
  return `<ul class="summary">${items.map(([k, v, cls]) => `<li class="${cls}"><b>${esc(v)}</b> ${esc(k)}</li>`).join('')}</ul>`;
}

function serviceCard(s: Service, m: StatusModel): string {
  const verdicts = s.backends.map((b) => backendVerdict(b, s, m.backendUp));
  const routable = verdicts.filter((v) => v === 'routable').length;
  const countCls = routable === 0 ? 'bad' : routable < s.backends.length ? 'warn' : 'ok';
  const name = s.portName ? ` <span class="muted">port ${esc(s.portIndex)} “${esc(s.portName)}”</span>` : ` <span class="muted">port ${esc(s.portIndex)}</span>`;
  const meta: string[] = [];
  if (s.spec.vhosts.length > 0) meta.push(`vhosts ${s.spec.vhosts.map((v) => `<code>${esc(v)}</code>`).join(' ')}`);
  if (s.spec.paths.length > 0) meta.push(`paths ${s.spec.paths.map((p) => `<code>${esc(p)}</code>`).join(' ')}`);
  meta.push(`bind <code>${esc(hostPort(s.bindAddress, s.listenPort))}</code>`);
  if (s.servicePort !== s.listenPort) meta.push(`service port ${esc(s.servicePort)}`);
  meta.push(`protocols ${esc(s.protocols.join(','))}`);
  meta.push(`groups ${s.spec.groups.length > 0 ? esc(s.spec.groups.join(',')) : '<span class="muted">none</span>'}`);
  if (s.spec.balance !== 'roundrobin') meta.push(`balance ${esc(s.spec.balance)}`);
  const rows = s.backends.map((b, i) => {
    const v = verdicts[i] ?? 'unknown';
    return (
      `<tr data-task="${esc(b.taskId)}" data-verdict="${esc(v)}">` +
      `<td><code>${esc(hostPort(b.address, b.port))}</code></td>` +
      `<td>${badge(VERDICT_CLASS[v], VERDICT_TEXT[v])}</td>` +
      `<td>${esc(b.state.replace(/^TASK_/, '').toLowerCase())}, health ${esc(b.health)}</td>` +
      `<td class="task">${esc(b.taskId)}</td></tr>`
    );
  });
  return (
    `<article class="svc" data-port="${esc(s.listenPort)}" data-app="${esc(s.appId)}">` +
    `<h3><span class="port">:${esc(s.listenPort)}</span> <span class="mode mode-${esc(s.mode)}">${esc(s.mode)}</span> <span class="app">${esc(s.appId)}</span>${name} ` +
    `<span class="badge ${countCls} count">${esc(routable)}/${esc(s.backends.length)} routable</span></h3>` +
    `<p class="meta">${meta.join(' · ')}</p>` +
    table(['backend', 'status', 'task state', 'task'], rows, 'no backends: the listener stays up and answers "no backend"') +
    `</article>`
  );
}

function problemsSection(m: StatusModel): string {
  const label = m.table.problems.map(
    (p) => `<tr><td>${esc(p.appId)}</td><td><code>${esc(p.label)}</code></td><td><code>${esc(p.value)}</code></td><td>${esc(p.reason)}</td></tr>`,
  );
  const listener = m.listenerProblems.map((p) => `<tr><td>${esc(p.kind)}</td><td>${esc(p.count)}</td></tr>`);
  return (
    `<section id="problems"><h2>Problems</h2>` +
    `<h3>Listeners</h3>${table(['kind', 'listeners'], listener, 'none: every listener pacer should run is up')}` +
    `<h3>Labels</h3>${table(['app', 'label', 'value', 'why it is ignored'], label, 'none: every HAPROXY_* label is understood')}` +
    `</section>`
  );
}

function changesSection(m: StatusModel): string {
  const rows = m.changes.slice(0, 30).map(
    (c) =>
      `<tr class="chg-${esc(c.kind)}"><td>${time(m.now, c.at)}</td><td>v${esc(c.version)}</td><td>${c.port ? `:${esc(c.port)}` : ''}</td><td>${esc(c.app)}</td><td>${esc(c.detail)}</td></tr>`,
  );
  return `<section id="changes"><h2>Recent routing changes</h2>${table(['when', 'table', 'port', 'app', 'change'], rows, 'none since this page started watching')}</section>`;
}

function dnsSection(m: StatusModel): string {
  if (!m.dns) return '';
  const total = m.dns.reduce((n, r) => n + r.count, 0);
  const rows = m.dns.map((r) => `<tr><td>${esc(r.rcode)}</td><td>${esc(r.count)}</td></tr>`);
  return `<section id="dns"><h2>DNS</h2><p>${esc(total)} queries answered since start.</p>${table(['rcode', 'answers'], rows, 'no queries yet (or DNS is off: --dns-port 0)')}</section>`;
}

/** Habitat rings as the table shows them: apps labelled HABITAT_RING, with their tasks. */
function habitatSection(m: StatusModel): string {
  const rings = new Map<string, { apps: string[]; tasks: number; routable: number }>();
  for (const app of m.table.apps) {
    const ring = app.labels['HABITAT_RING'];
    if (!ring) continue;
    const r = rings.get(ring) ?? { apps: [], tasks: 0, routable: 0 };
    r.apps.push(app.appId);
    r.tasks += app.tasks.length;
    r.routable += app.tasks.filter((t) => t.routable).length;
    rings.set(ring, r);
  }
  if (rings.size === 0) return '';
  const rows = [...rings].map(([ring, r]) => `<tr><td>${esc(ring)}</td><td>${esc(r.apps.join(', '))}</td><td>${esc(r.routable)}/${esc(r.tasks)}</td></tr>`);
  return `<section id="habitat"><h2>Habitat rings</h2>${table(['ring', 'apps', 'healthy members'], rows, '')}</section>`;
}

function extraSections(m: StatusModel): string {
  return m.sections
    .map(
      (s) =>
        `<section class="extra"><h2>${esc(s.title)}</h2>${table(
          s.headers,
          s.rows.map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`),
          s.empty ?? 'nothing to show',
        )}</section>`,
    )
    .join('');
}

/** The part of the page that refreshes: everything inside <main>. */
export function renderStatusMain(m: StatusModel): string {
  const services = m.table.services.map((s) => serviceCard(s, m)).join('');
  return (
    `<p class="stamp">pacer ${esc(m.version)} · refreshed <time datetime="${esc(new Date(m.now).toISOString())}">${esc(new Date(m.now).toISOString().replace('T', ' ').slice(0, 19))} UTC</time></p>` +
    summary(m) +
    marathonSection(m) +
    `<section id="services"><h2>Services</h2>${services || '<p class="muted">No exposed services (check --group and the apps\' HAPROXY_GROUP).</p>'}</section>` +
    problemsSection(m) +
    changesSection(m) +
    dnsSection(m) +
    habitatSection(m) +
    extraSections(m)
  );
}

const STYLE = `
:root{color-scheme:light dark;--fg:#1d2125;--bg:#f6f7f9;--card:#fff;--muted:#68717a;--line:#dde1e5;--ok:#1a7f37;--warn:#9a6700;--bad:#cf222e}
@media (prefers-color-scheme:dark){:root{--fg:#e6e8ea;--bg:#111417;--card:#1a1e22;--muted:#9aa3ab;--line:#2c3238;--ok:#3fb950;--warn:#d29922;--bad:#f85149}}
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
header{padding:.6rem 1rem;background:var(--card);border-bottom:1px solid var(--line);display:flex;gap:.75rem;align-items:baseline;flex-wrap:wrap}
header h1{font-size:1.15rem;margin:0}
main{padding:.5rem 1rem 2rem;max-width:1100px;margin:0 auto}
h2{font-size:1.05rem;margin:1.4rem 0 .5rem}
h3{font-size:.95rem;margin:.2rem 0 .3rem;display:flex;flex-wrap:wrap;gap:.4rem;align-items:baseline}
section,article.svc{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:.6rem .8rem;margin:.6rem 0}
section>h2{margin-top:.2rem}
#services{background:none;border:0;padding:0}
.muted,.stamp{color:var(--muted)}
.stamp{font-size:.85rem;margin:.4rem 0}
.summary{list-style:none;padding:0;margin:.4rem 0;display:flex;flex-wrap:wrap;gap:.4rem}
.summary li{background:var(--card);border:1px solid var(--line);border-radius:6px;padding:.25rem .6rem}
.summary li.warn{border-color:var(--warn)}.summary li.bad{border-color:var(--bad)}
dl.kv{display:grid;grid-template-columns:max-content 1fr;gap:.2rem .9rem;margin:0}
dl.kv dt{color:var(--muted)}dl.kv dd{margin:0;overflow-wrap:anywhere}
.badge{display:inline-block;border-radius:999px;padding:0 .55rem;font-size:.8rem;border:1px solid currentColor;white-space:nowrap}
.ok{color:var(--ok)}.warn{color:var(--warn)}.bad,.err{color:var(--bad)}.muted-badge{color:var(--muted)}
.port{font-weight:700;font-family:ui-monospace,SFMono-Regular,Menlo,monospace}
.mode{font-size:.8rem;text-transform:uppercase;border-radius:4px;padding:0 .35rem;background:var(--line)}
.app{font-weight:600;overflow-wrap:anywhere}
.meta{margin:.1rem 0 .4rem;font-size:.85rem;color:var(--muted);overflow-wrap:anywhere}
code{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.85em}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:.88rem}
th,td{text-align:left;padding:.25rem .5rem .25rem 0;border-bottom:1px solid var(--line);vertical-align:top}
th{color:var(--muted);font-weight:500}
td.task{font-size:.78rem;color:var(--muted);overflow-wrap:anywhere;min-width:12rem}
body.stale main{opacity:.55}
#stale{display:none;color:var(--bad)}body.stale #stale{display:inline}
@media (max-width:600px){main{padding:.4rem .5rem 2rem}td.task{display:none}th:last-child{display:none}}
`;

const SCRIPT = `
(function () {
  var main = document.getElementById('status');
  function refresh() {
    if (document.hidden) { setTimeout(refresh, 2000); return; }
    fetch('?part=main', { cache: 'no-store' })
      .then(function (r) { if (!r.ok) throw new Error('HTTP ' + r.status); return r.text(); })
      .then(function (html) { main.innerHTML = html; document.body.classList.remove('stale'); })
      .catch(function () { document.body.classList.add('stale'); })
      .then(function () { setTimeout(refresh, 2000); });
  }
  setTimeout(refresh, 2000);
})();
`;

function sha256(text: string): string {
  return `'sha256-${createHash('sha256').update(text).digest('base64')}'`;
}

export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  `script-src ${sha256(SCRIPT)}`,
  `style-src ${sha256(STYLE)}`,
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export function renderStatusPage(m: StatusModel): string {
  return (
    '<!doctype html><html lang="en"><head><meta charset="utf-8">' +
    '<meta name="viewport" content="width=device-width, initial-scale=1">' +
    '<title>pacer status</title><link rel="icon" href="data:,">' +
    '<noscript><meta http-equiv="refresh" content="5"></noscript>' +
    `<style>${STYLE}</style></head><body>` +
    `<header><h1>pacer</h1><span class="muted">load balancer and service discovery for Marathon</span><span id="stale">not answering: showing older data</span></header>` +
    `<main id="status">${renderStatusMain(m)}</main>` +
    `<script>${SCRIPT}</script></body></html>`
  );
}

async function gaugeValues(registry: Registry, name: string): Promise<{ labels: Record<string, string | number>; value: number }[]> {
  const metric = registry.getSingleMetric(name);
  if (!metric) return [];
  const data = await metric.get();
  return data.values.map((v) => ({ labels: v.labels as Record<string, string | number>, value: v.value }));
}

/** Collect the model from the admin sources (table, sync status, metrics). */
export async function statusModel(sources: StatusSources, changes: RoutingChanges, now: number = Date.now()): Promise<StatusModel> {
  const registry = sources.metrics.registry;
  const backendUp = new Map<string, number>();
  for (const v of await gaugeValues(registry, 'pacer_backend_up')) backendUp.set(`${String(v.labels['service'])}|${String(v.labels['backend'])}`, v.value);
  const listenerProblems = (await gaugeValues(registry, 'pacer_listener_problems'))
    .filter((v) => v.value > 0)
    .map((v) => ({ kind: String(v.labels['kind'] ?? 'unknown'), count: v.value }));
  let dns: { rcode: string; count: number }[] | undefined;
  if (registry.getSingleMetric('pacer_dns_queries_total')) {
    const byRcode = new Map<string, number>();
    for (const v of await gaugeValues(registry, 'pacer_dns_queries_total')) {
      const rcode = String(v.labels['rcode'] ?? 'all');
      byRcode.set(rcode, (byRcode.get(rcode) ?? 0) + v.value);
    }
    dns = [...byRcode].sort((a, b) => b[1] - a[1]).map(([rcode, count]) => ({ rcode, count }));
  }
  return {
    now,
    version: sources.version,
    status: sources.status(),
    table: sources.table(),
    changes: changes.list(),
    backendUp,
    listenerProblems,
    dns,
    sections: sources.sections?.() ?? [],
  };
}

/** The `/` handler: the whole page, or with `?part=main` the part that refreshes. */
export function statusPage(sources: StatusSources): AdminHandler {
  const changes = sources.changes ?? new RoutingChanges();
  const watchItself = sources.changes === undefined;
  return async (_req, res, url) => {
    if (watchItself) changes.observe(sources.table());
    const model = await statusModel(sources, changes);
    const partial = url.searchParams.get('part') === 'main';
    const body = partial ? renderStatusMain(model) : renderStatusPage(model);
    res.writeHead(200, {
      'content-type': 'text/html; charset=utf-8',
      'content-length': Buffer.byteLength(body),
      'cache-control': 'no-store',
      'content-security-policy': CONTENT_SECURITY_POLICY,
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
    });
    res.end(body);
  };
}
