/**
 * grafana/: the dashboard is what grafana/dashboard.ts generates from the catalogue, every query
 * parses (promtool check rules on a rules file made of the panels' expressions) and names only
 * metrics of the catalogue or Node's process metrics, and the provisioning files point at it.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { catalogueSeriesNames, dashboardText, pendingPanels } from '../../grafana/dashboard.ts';
import { createMetrics } from '../../src/metrics/registry.ts';
import { DASHBOARD_PATH, allPanels, metricNames, panelQueries, readDashboard } from './dashboard-exprs.ts';

const dashboard = readDashboard();
const queries = panelQueries(dashboard, { instance: '.*', rateInterval: '1m' });
const tmp = mkdtempSync(join(tmpdir(), 'pacer-dashboard-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Node's process metrics as prom-client's default collectors name them (process_*, nodejs_*). */
async function processMetricNames(): Promise<Set<string>> {
  const metrics = createMetrics();
  const names = new Set<string>();
  for (const m of await metrics.registry.getMetricsAsJSON()) {
    if (!/^(process|nodejs)_/.test(m.name)) continue;
    names.add(m.name);
    if (String(m.type) === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(`${m.name}${s}`);
  }
  return names;
}

describe('grafana/dashboards/pacer.json', () => {
  it('is what `npm run docs:metrics` generates from grafana/dashboard.ts and the catalogue', () => {
    expect(readFileSync(DASHBOARD_PATH, 'utf8'), 'pacer.json is stale: run `npm run docs:metrics`').toBe(dashboardText());
    const pending = pendingPanels();
    if (pending.length > 0) console.info(`panels left out until their metrics exist:\n${pending.map((p) => `  ${p.title}: ${p.missing.join(', ')}`).join('\n')}`);
  });

  it('has a current schema, a uid, and a prometheus datasource variable every panel and query uses', () => {
    expect(dashboard.uid).toBe('pacer');
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(39);
    const variables = dashboard.templating?.list ?? [];
    const ds = variables.find((v) => v['name'] === 'datasource');
    expect(ds).toMatchObject({ type: 'datasource', query: 'prometheus' });
    const instance = variables.find((v) => v['name'] === 'instance');
    expect(instance).toMatchObject({ type: 'query', includeAll: true, multi: true, allValue: '.*' });
    for (const p of allPanels(dashboard)) {
      if (p.type === 'row') continue;
      expect(p.datasource, p.title).toEqual({ type: 'prometheus', uid: '${datasource}' });
      for (const t of p.targets ?? []) expect(t.datasource, `${p.title} ${t.refId}`).toEqual({ type: 'prometheus', uid: '${datasource}' });
    }
  });

  it('lays out panels with unique ids inside the 24-column grid, without overlaps', () => {
    const panels = allPanels(dashboard);
    const ids = panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    const cells = new Set<string>();
    for (const p of panels) {
      const g = p.gridPos;
      expect(g, p.title).toBeDefined();
      if (!g) continue;
      expect(g.x + g.w, p.title).toBeLessThanOrEqual(24);
      for (let x = g.x; x < g.x + g.w; x++) {
        for (let y = g.y; y < g.y + g.h; y++) {
          const key = `${x},${y}`;
          expect(cells.has(key), `${p.title} overlaps at ${key}`).toBe(false);
          cells.add(key);
        }
      }
    }
  });

  it('has the panels the issue asks for (those whose metrics exist)', () => {
    const titles = allPanels(dashboard).map((p) => p.title ?? '');
    const wanted = [
      'Event stream state',
      'Marathon events by type',
      'Sync lag',
      'Resyncs',
      'CPU',
      'Memory',
      'Event-loop lag',
    ];
    for (const t of wanted) expect(titles).toContain(t);
    const series = catalogueSeriesNames();
    if (series.has('pacer_service_requests_total')) {
      for (const t of ['Request rate by service', 'Error ratio by service', 'Latency p50 / p95 / p99 by service', 'Open connections', 'Bytes by service', 'Routable backends by service', 'Backends down and ejections', 'UDP flows']) {
        expect(titles).toContain(t);
      }
    }
    if (series.has('pacer_dns_queries_total')) for (const t of ['DNS queries by type', 'DNS answers by rcode']) expect(titles).toContain(t);
  });

  it('filters every query by the instance variable', () => {
    for (const q of panelQueries(dashboard, { instance: '$instance', rateInterval: '$__rate_interval' })) {
      const selectors = q.raw.match(/\b[a-z_:][a-z0-9_:]*\{[^}]*\}/g) ?? [];
      expect(selectors.length, q.raw).toBeGreaterThan(0);
      for (const s of selectors) expect(s, `${q.panel}: ${q.raw}`).toContain('instance=~"$instance"');
    }
  });

  it('names only metrics of the catalogue, or Node process metrics that pacer serves', async () => {
    const catalogue = catalogueSeriesNames();
    const node = await processMetricNames();
    expect(queries.length).toBeGreaterThan(20);
    for (const q of queries) {
      const names = metricNames(q.expr);
      expect(names.length, q.expr).toBeGreaterThan(0);
      for (const name of names) {
        const known = catalogue.has(name) || node.has(name);
        expect(known, `panel "${q.panel}" (${q.refId}) names ${name}, which is neither in src/metrics/catalogue.ts nor a Node process metric`).toBe(true);
      }
    }
  });

  it('catches a query naming a metric the catalogue lacks', () => {
    const catalogue = catalogueSeriesNames();
    expect(metricNames('sum by (service) (rate(pacer_no_such_metric_total{instance=~".*"}[1m]))').filter((n) => !catalogue.has(n))).toEqual(['pacer_no_such_metric_total']);
  });

  it('parses: promtool check rules accepts a recording rule per query', () => {
    const rules = {
      groups: [
        {
          name: 'pacer-dashboard',
          rules: queries.map((q) => ({ record: `pacer_dashboard:panel${q.panelId}_${q.refId}`, expr: q.expr })),
        },
      ],
    };
    const file = join(tmp, 'dashboard-rules.yml');
    writeFileSync(file, stringify(rules));
    const result = spawnSync('promtool', ['check', 'rules', file], { encoding: 'utf8' });
    expect(result.error, 'promtool is missing: .ci/run installs the Debian package prometheus').toBeUndefined();
    expect(result.status, `${result.stdout}\n${result.stderr}`).toBe(0);
    expect(result.stdout).toContain(`${queries.length} rules found`);
  });

  it('notices a query that does not parse', () => {
    const file = join(tmp, 'bad-rules.yml');
    writeFileSync(file, stringify({ groups: [{ name: 'bad', rules: [{ record: 'x:y', expr: 'sum by (service (rate(pacer_routing_apps[1m]))' }] }] }));
    const result = spawnSync('promtool', ['check', 'rules', file], { encoding: 'utf8' });
    expect(result.status).not.toBe(0);
  });
});

describe('grafana/provisioning', () => {
  const read = (path: string) => parse(readFileSync(new URL(`../../grafana/provisioning/${path}`, import.meta.url), 'utf8')) as Record<string, unknown>;

  it('provisions a Prometheus datasource', () => {
    const file = read('datasources/prometheus.yaml');
    expect(file['apiVersion']).toBe(1);
    expect(file['datasources']).toEqual([expect.objectContaining({ type: 'prometheus', access: 'proxy', url: 'http://prometheus:9090' })]);
  });

  it('provisions the dashboards directory that docker-compose mounts', () => {
    const file = read('dashboards/pacer.yaml');
    expect(file['apiVersion']).toBe(1);
    const providers = file['providers'] as { type: string; options: { path: string } }[];
    expect(providers).toHaveLength(1);
    expect(providers[0]?.type).toBe('file');
    const compose = readFileSync(new URL('../../docker/docker-compose.yml', import.meta.url), 'utf8');
    expect(compose).toContain(`../grafana/dashboards:${providers[0]?.options.path}`);
    expect(compose).toContain('../grafana/provisioning:/etc/grafana/provisioning');
  });
});
