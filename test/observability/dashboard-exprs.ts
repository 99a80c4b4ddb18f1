/**
 * The queries of grafana/dashboards/pacer.json, as Prometheus would run them: read from the
 * committed JSON, template variables substituted, and the metric names each one selects.
 */
import { readFileSync } from 'node:fs';

export interface PanelQuery {
  readonly panelId: number;
  readonly panel: string;
  readonly refId: string;
  /** As written in the dashboard (with `$instance`, `$__rate_interval`). */
  readonly raw: string;
  /** With the template variables substituted. */
  readonly expr: string;
}

export interface DashboardTarget {
  readonly refId?: string;
  readonly expr?: string;
  readonly datasource?: { readonly type?: string; readonly uid?: string };
}

export interface DashboardPanel {
  readonly id?: number;
  readonly type?: string;
  readonly title?: string;
  readonly datasource?: { readonly type?: string; readonly uid?: string };
  readonly gridPos?: { readonly x: number; readonly y: number; readonly w: number; readonly h: number };
  readonly targets?: readonly DashboardTarget[];
  readonly panels?: readonly DashboardPanel[];
}

export interface Dashboard {
  readonly uid?: string;
  readonly title?: string;
  readonly schemaVersion?: number;
  readonly panels?: readonly DashboardPanel[];
  readonly templating?: { readonly list?: readonly Record<string, unknown>[] };
}

export const DASHBOARD_PATH = new URL('../../grafana/dashboards/pacer.json', import.meta.url);

export function readDashboard(): Dashboard {
  return JSON.parse(readFileSync(DASHBOARD_PATH, 'utf8')) as Dashboard;
}

/** Every panel, rows' collapsed children included. */
export function allPanels(dashboard: Dashboard): DashboardPanel[] {
  const out: DashboardPanel[] = [];
  const walk = (panels: readonly DashboardPanel[] | undefined) => {
    for (const p of panels ?? []) {
      out.push(p);
      walk(p.panels);
    }
  };
  walk(dashboard.panels);
  return out;
}

export interface Substitutions {
  readonly instance: string;
  readonly rateInterval: string;
}

export function substitute(expr: string, s: Substitutions): string {
  return expr
    .replaceAll('$__rate_interval', s.rateInterval)
    .replaceAll('${__rate_interval}', s.rateInterval)
    .replaceAll('$__interval', s.rateInterval)
    .replaceAll('${instance}', s.instance)
    .replaceAll('$instance', s.instance);
}

export function panelQueries(dashboard: Dashboard, s: Substitutions): PanelQuery[] {
  const out: PanelQuery[] = [];
  for (const p of allPanels(dashboard)) {
    for (const t of p.targets ?? []) {
      if (!t.expr) continue;
      out.push({ panelId: p.id ?? -1, panel: p.title ?? '?', refId: t.refId ?? '?', raw: t.expr, expr: substitute(t.expr, s) });
    }
  }
  return out;
}

const KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'inf', 'nan', 'atan2']);

/** Metric names an expression selects (identifiers that are not functions, keywords or label names). */
export function metricNames(expr: string): string[] {
  let s = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""').replace(/'(?:[^'\\]|\\.)*'/g, "''");
  s = s.replace(/\{[^}]*\}/g, ' ');
  s = s.replace(/\[[^\]]*\]/g, ' ');
  s = s.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  for (const m of s.matchAll(/(?<![\w.$])[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const rest = s.slice(m.index + m[0].length).trimStart();
    if (rest.startsWith('(')) continue;
    if (KEYWORDS.has(m[0].toLowerCase())) continue;
    names.add(m[0]);
  }
  return [...names];
}
