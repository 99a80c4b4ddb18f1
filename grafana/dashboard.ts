/**
 * Source of grafana/dashboards/pacer.json (`npm run docs:metrics` writes it; a test fails when the
 * committed JSON differs). Panels are listed here as data, each naming the catalogue metrics it
 * charts: a panel whose metrics are not all in the catalogue yet (a subsystem that has not landed)
 * is left out of the generated dashboard, and `pendingPanels()` says which and why.
 *
 * Expressions use two template variables: `$instance` (multi-value regex) and Grafana's
 * `$__rate_interval`. Every target selects `instance=~"$instance"`.
 */
import { writeFileSync } from 'node:fs';
import { METRICS, type MetricDef } from '../src/metrics/catalogue.ts';

export const DASHBOARD_UID = 'pacer';
const DS = { type: 'prometheus', uid: '${datasource}' } as const;
const I = 'instance=~"$instance"';
const RI = '$__rate_interval';

type Unit = 'short' | 'reqps' | 'percentunit' | 's' | 'bytes' | 'Bps' | 'ops' | 'none' | 'percent';

interface Target {
  readonly expr: string;
  readonly legend: string;
  /** Also draw a stat/table of this target as instant. */
  readonly instant?: boolean;
}

export interface PanelSpec {
  readonly title: string;
  readonly description: string;
  readonly kind: 'timeseries' | 'stat' | 'state-timeline' | 'table';
  readonly unit: Unit;
  readonly targets: readonly Target[];
  /** Catalogue metrics (pacer_*) the panel needs; it is left out until all are in the catalogue. */
  readonly needs: readonly string[];
  readonly width?: number;
  readonly stack?: boolean;
  readonly mappings?: 'connected';
  readonly min?: number;
  readonly max?: number;
}

export interface RowSpec {
  readonly title: string;
  readonly panels: readonly PanelSpec[];
}

function q(p: number, metric: string, by: string): Target {
  return {
    expr: `histogram_quantile(${p}, sum by (${by}le) (rate(${metric}_bucket{${I}}[${RI}])))`,
    legend: by ? `p${Math.round(p * 100)} {{${by.replace(/,\s*$/, '')}}}` : `p${Math.round(p * 100)}`,
  };
}

/** Every panel pacer's dashboard can show, by row. */
export const ROWS: readonly RowSpec[] = [
  {
    title: 'Overview',
    panels: [
      {
        title: 'Marathon event stream',
        description: 'Whether each pacer has its Marathon event stream open (pacer_marathon_stream_connected).',
        kind: 'stat',
        unit: 'none',
        mappings: 'connected',
        width: 3,
        targets: [{ expr: `pacer_marathon_stream_connected{${I}}`, legend: '{{instance}}', instant: true }],
        needs: ['pacer_marathon_stream_connected'],
      },
      {
        title: 'Services exposed',
        description: 'Service ports this load balancer exposes, after group filtering.',
        kind: 'stat',
        unit: 'short',
        width: 3,
        targets: [{ expr: `max(pacer_routing_services{${I}})`, legend: 'services', instant: true }],
        needs: ['pacer_routing_services'],
      },
      {
        title: 'Routable backends',
        description: 'Backends of exposed services that take new traffic (running and healthy).',
        kind: 'stat',
        unit: 'short',
        width: 3,
        targets: [{ expr: `min(pacer_routing_routable_backends{${I}})`, legend: 'backends', instant: true }],
        needs: ['pacer_routing_routable_backends'],
      },
      {
        title: 'Apps / tasks',
        description: 'Marathon apps and live tasks known.',
        kind: 'stat',
        unit: 'short',
        width: 3,
        targets: [
          { expr: `max(pacer_routing_apps{${I}})`, legend: 'apps', instant: true },
          { expr: `max(pacer_routing_tasks{${I}})`, legend: 'tasks', instant: true },
        ],
        needs: ['pacer_routing_apps', 'pacer_routing_tasks'],
      },
      {
        title: 'Label problems',
        description: 'HAPROXY_* labels ignored because they are unknown or malformed (see /routes or the status page for which).',
        kind: 'stat',
        unit: 'short',
        width: 3,
        targets: [
          {
            expr: `max(sum by (instance) (pacer_label_problems{${I}}) or sum by (instance) (pacer_routing_apps{${I}}) * 0)`,
            legend: 'problems',
            instant: true,
          },
        ],
        needs: ['pacer_label_problems', 'pacer_routing_apps'],
      },
      {
        title: 'Listener problems',
        description: 'Listeners pacer should run but cannot (port in use, privileged port, claimed twice, bad certificate): see the status page.',
        kind: 'stat',
        unit: 'short',
        width: 3,
        targets: [
          {
            expr: `max(sum by (instance) (pacer_listener_problems{${I}}) or sum by (instance) (pacer_routing_apps{${I}}) * 0)`,
            legend: 'problems',
            instant: true,
          },
        ],
        needs: ['pacer_listener_problems', 'pacer_routing_apps'],
      },
      {
        title: 'Seconds since last event-stream activity',
        description: 'Marathon sends a keep-alive every 10 s: above ~30 s the stream is dead (pacer reconnects).',
        kind: 'stat',
        unit: 's',
        width: 3,
        targets: [{ expr: `max(time() - pacer_marathon_stream_last_activity_timestamp_seconds{${I}})`, legend: 'lag', instant: true }],
        needs: ['pacer_marathon_stream_last_activity_timestamp_seconds'],
      },
      {
        title: 'HTTP requests/s',
        description: 'HTTP requests answered per second, all services.',
        kind: 'stat',
        unit: 'reqps',
        width: 3,
        targets: [{ expr: `sum(rate(pacer_service_requests_total{${I}}[${RI}]))`, legend: 'requests/s', instant: true }],
        needs: ['pacer_service_requests_total'],
      },
    ],
  },
  {
    title: 'Services (proxy)',
    panels: [
      {
        title: 'Request rate by service',
        description: 'HTTP requests answered per second, per service (service port or virtual host).',
        kind: 'timeseries',
        unit: 'reqps',
        targets: [{ expr: `sum by (service) (rate(pacer_service_requests_total{${I}}[${RI}]))`, legend: '{{service}}' }],
        needs: ['pacer_service_requests_total'],
      },
      {
        title: 'Error ratio by service',
        description: 'Share of HTTP requests answered 5xx (by pacer or the backend), per service.',
        kind: 'timeseries',
        unit: 'percentunit',
        min: 0,
        targets: [
          {
            expr:
              `(sum by (service) (rate(pacer_service_requests_total{${I},code=~"5.."}[${RI}])) or sum by (service) (rate(pacer_service_requests_total{${I}}[${RI}])) * 0)` +
              ` / sum by (service) (rate(pacer_service_requests_total{${I}}[${RI}]))`,
            legend: '{{service}}',
          },
        ],
        needs: ['pacer_service_requests_total'],
      },
      {
        title: 'Latency p50 / p95 / p99 by service',
        description: 'From the request-duration histogram.',
        kind: 'timeseries',
        unit: 's',
        targets: [
          q(0.5, 'pacer_service_request_duration_seconds', 'service, '),
          q(0.95, 'pacer_service_request_duration_seconds', 'service, '),
          q(0.99, 'pacer_service_request_duration_seconds', 'service, '),
        ],
        needs: ['pacer_service_request_duration_seconds'],
      },
      {
        title: 'Open connections',
        description: 'Open downstream TCP connections (tcp) and HTTP requests in flight (http), per service.',
        kind: 'timeseries',
        unit: 'short',
        targets: [{ expr: `sum by (service, protocol) (pacer_service_open_connections{${I}})`, legend: '{{service}} {{protocol}}' }],
        needs: ['pacer_service_open_connections'],
      },
      {
        title: 'Bytes by service',
        description: 'Bytes per second through the proxy, per service and direction.',
        kind: 'timeseries',
        unit: 'Bps',
        targets: [{ expr: `sum by (service, direction) (rate(pacer_service_bytes_total{${I}}[${RI}]))`, legend: '{{service}} {{direction}}' }],
        needs: ['pacer_service_bytes_total'],
      },
      {
        title: 'Routable backends by service',
        description: 'Backends the proxy sends new traffic to, per service.',
        kind: 'timeseries',
        unit: 'short',
        targets: [{ expr: `sum by (service) (pacer_backend_up{${I}})`, legend: '{{service}}' }],
        needs: ['pacer_backend_up'],
      },
      {
        title: 'Backends down and ejections',
        description: 'Backends of a service that take no new traffic now (unhealthy, draining or ejected), and ejections after consecutive failed connects.',
        kind: 'timeseries',
        unit: 'short',
        targets: [
          {
            expr: `count by (service) (pacer_backend_up{${I}} == 0) or sum by (service) (pacer_backend_up{${I}}) * 0`,
            legend: 'down {{service}}',
          },
          { expr: `sum by (service) (increase(pacer_backend_ejections_total{${I}}[${RI}]))`, legend: 'ejected {{service}}' },
        ],
        needs: ['pacer_backend_up', 'pacer_backend_ejections_total'],
      },
      {
        title: 'Backend connect errors',
        description: 'Failed connections to backends per second, per service.',
        kind: 'timeseries',
        unit: 'ops',
        targets: [{ expr: `sum by (service) (rate(pacer_backend_connect_errors_total{${I}}[${RI}]))`, legend: '{{service}}' }],
        needs: ['pacer_backend_connect_errors_total'],
      },
      {
        title: 'Retries',
        description: 'Requests retried on another backend per second, per service.',
        kind: 'timeseries',
        unit: 'ops',
        targets: [{ expr: `sum by (service) (rate(pacer_service_retries_total{${I}}[${RI}]))`, legend: '{{service}}' }],
        needs: ['pacer_service_retries_total'],
      },
      {
        title: 'UDP flows',
        description: 'UDP client flows (source address → backend) held open, per service.',
        kind: 'timeseries',
        unit: 'short',
        targets: [{ expr: `sum by (service) (pacer_udp_flows{${I}})`, legend: '{{service}}' }],
        needs: ['pacer_udp_flows'],
      },
    ],
  },
  {
    title: 'DNS',
    panels: [
      {
        title: 'DNS queries by type',
        description: 'Queries answered per second, by query type.',
        kind: 'timeseries',
        unit: 'ops',
        stack: true,
        targets: [{ expr: `sum by (qtype) (rate(pacer_dns_queries_total{${I}}[${RI}]))`, legend: '{{qtype}}' }],
        needs: ['pacer_dns_queries_total'],
      },
      {
        title: 'DNS answers by rcode',
        description: 'Queries answered per second, by response code (NOERROR, NXDOMAIN, REFUSED, SERVFAIL…).',
        kind: 'timeseries',
        unit: 'ops',
        stack: true,
        targets: [{ expr: `sum by (rcode) (rate(pacer_dns_queries_total{${I}}[${RI}]))`, legend: '{{rcode}}' }],
        needs: ['pacer_dns_queries_total'],
      },
      {
        title: 'DNS forwarding',
        description: 'Queries outside the zone forwarded to --dns-resolvers, per second, by result (ok, timeout, error).',
        kind: 'timeseries',
        unit: 'ops',
        targets: [{ expr: `sum by (result) (rate(pacer_dns_forwarded_total{${I}}[${RI}]))`, legend: '{{result}}' }],
        needs: ['pacer_dns_forwarded_total'],
      },
      {
        title: 'DNS truncated and malformed',
        description: 'UDP replies sent truncated (TC, the client retries over TCP) and packets that could not be read, per second.',
        kind: 'timeseries',
        unit: 'ops',
        targets: [
          { expr: `sum(rate(pacer_dns_truncated_total{${I}}[${RI}]))`, legend: 'truncated' },
          { expr: `sum(rate(pacer_dns_malformed_total{${I}}[${RI}]))`, legend: 'malformed' },
        ],
        needs: ['pacer_dns_truncated_total', 'pacer_dns_malformed_total'],
      },
      {
        title: 'DNS zone',
        description: 'Records and names served, per pacer.',
        kind: 'timeseries',
        unit: 'short',
        targets: [
          { expr: `pacer_dns_records{${I}}`, legend: 'records {{instance}}' },
          { expr: `pacer_dns_names{${I}}`, legend: 'names {{instance}}' },
        ],
        needs: ['pacer_dns_records', 'pacer_dns_names'],
      },
      {
        title: 'DNS answer rebuilds',
        description: 'Rebuilds of the precomputed answers per second, and their p99 duration.',
        kind: 'timeseries',
        unit: 'short',
        targets: [
          { expr: `sum by (trigger) (rate(pacer_dns_answer_rebuilds_total{${I}}[${RI}]))`, legend: 'rebuilds/s {{trigger}}' },
          q(0.99, 'pacer_dns_answer_rebuild_duration_seconds', ''),
        ],
        needs: ['pacer_dns_answer_rebuilds_total', 'pacer_dns_answer_rebuild_duration_seconds'],
      },
    ],
  },
  {
    title: 'Habitat',
    panels: [
      {
        title: 'Habitat ring members',
        description: 'Supervisors per ring: healthy (in the peer list), unhealthy (live, not routable), excluded (the app is misconfigured).',
        kind: 'timeseries',
        unit: 'short',
        stack: true,
        targets: [{ expr: `max by (ring, state) (pacer_habitat_ring_members{${I}})`, legend: '{{ring}} {{state}}' }],
        needs: ['pacer_habitat_ring_members'],
      },
      {
        title: 'Misconfigured Habitat apps',
        description: 'Habitat apps whose ring breaks or may break, by reason (see /v1/habitat/rings and docs/habitat.md).',
        kind: 'timeseries',
        unit: 'short',
        targets: [{ expr: `max by (reason) (pacer_habitat_misconfigured_apps{${I}})`, legend: '{{reason}}' }],
        needs: ['pacer_habitat_misconfigured_apps'],
      },
      {
        title: 'Habitat peer-list requests',
        description: 'Peer lists served per second, by format (text for --peer-watch-file, json, unknown ring).',
        kind: 'timeseries',
        unit: 'reqps',
        targets: [{ expr: `sum by (format) (rate(pacer_habitat_peer_list_requests_total{${I}}[${RI}]))`, legend: '{{format}}' }],
        needs: ['pacer_habitat_peer_list_requests_total'],
      },
    ],
  },
  {
    title: 'Marathon sync',
    panels: [
      {
        title: 'Event stream state',
        description: 'Connected (1) or not (0), per pacer, over time.',
        kind: 'state-timeline',
        unit: 'none',
        mappings: 'connected',
        targets: [{ expr: `pacer_marathon_stream_connected{${I}}`, legend: '{{instance}}' }],
        needs: ['pacer_marathon_stream_connected'],
      },
      {
        title: 'Marathon events by type',
        description: 'Events received per second on the event stream.',
        kind: 'timeseries',
        unit: 'ops',
        stack: true,
        targets: [
          { expr: `sum by (type) (rate(pacer_marathon_events_total{${I}}[${RI}]))`, legend: '{{type}}' },
          { expr: `sum (rate(pacer_marathon_events_malformed_total{${I}}[${RI}]))`, legend: 'malformed' },
        ],
        needs: ['pacer_marathon_events_total', 'pacer_marathon_events_malformed_total'],
      },
      {
        title: 'Sync lag',
        description: 'Seconds since the last byte on the event stream, and since the last successful full resync.',
        kind: 'timeseries',
        unit: 's',
        targets: [
          { expr: `time() - pacer_marathon_stream_last_activity_timestamp_seconds{${I}}`, legend: 'stream {{instance}}' },
          { expr: `time() - pacer_marathon_last_sync_timestamp_seconds{${I}}`, legend: 'resync {{instance}}' },
        ],
        needs: ['pacer_marathon_stream_last_activity_timestamp_seconds', 'pacer_marathon_last_sync_timestamp_seconds'],
      },
      {
        title: 'Resyncs',
        description: 'Full resyncs by trigger (start, connect, interval, recovery) and result.',
        kind: 'timeseries',
        unit: 'short',
        targets: [{ expr: `sum by (trigger, result) (increase(pacer_marathon_resyncs_total{${I}}[${RI}]))`, legend: '{{trigger}} {{result}}' }],
        needs: ['pacer_marathon_resyncs_total'],
      },
      {
        title: 'Resync duration',
        description: 'Full resync (fetch and apply) p50 / p95 / p99.',
        kind: 'timeseries',
        unit: 's',
        targets: [
          q(0.5, 'pacer_marathon_resync_duration_seconds', ''),
          q(0.95, 'pacer_marathon_resync_duration_seconds', ''),
          q(0.99, 'pacer_marathon_resync_duration_seconds', ''),
        ],
        needs: ['pacer_marathon_resync_duration_seconds'],
      },
      {
        title: 'Stream reconnects and Marathon errors',
        description: 'Event-stream reconnects by why the last one ended; failed Marathon requests by reason.',
        kind: 'timeseries',
        unit: 'short',
        targets: [
          { expr: `sum by (reason) (increase(pacer_marathon_stream_reconnects_total{${I}}[${RI}]))`, legend: 'reconnect: {{reason}}' },
          { expr: `sum by (reason) (increase(pacer_marathon_request_errors_total{${I}}[${RI}]))`, legend: 'error: {{reason}}' },
        ],
        needs: ['pacer_marathon_stream_reconnects_total', 'pacer_marathon_request_errors_total'],
      },
      {
        title: 'App fetches',
        description: 'Single-app fetches triggered by events, per second, by result.',
        kind: 'timeseries',
        unit: 'ops',
        targets: [{ expr: `sum by (result) (rate(pacer_marathon_app_fetches_total{${I}}[${RI}]))`, legend: '{{result}}' }],
        needs: ['pacer_marathon_app_fetches_total'],
      },
    ],
  },
  {
    title: 'Routing table',
    panels: [
      {
        title: 'Table applies',
        description: 'Routing-table applies per second, and events coalesced per apply (mean).',
        kind: 'timeseries',
        unit: 'short',
        targets: [
          { expr: `sum by (instance) (rate(pacer_routing_table_applies_total{${I}}[${RI}]))`, legend: 'applies/s {{instance}}' },
          {
            expr: `sum by (instance) (rate(pacer_routing_table_apply_events_sum{${I}}[${RI}])) / sum by (instance) (rate(pacer_routing_table_apply_events_count{${I}}[${RI}]))`,
            legend: 'events/apply {{instance}}',
          },
          { expr: `sum by (instance) (increase(pacer_routing_table_apply_errors_total{${I}}[${RI}]))`, legend: 'errors {{instance}}' },
        ],
        needs: ['pacer_routing_table_applies_total', 'pacer_routing_table_apply_events', 'pacer_routing_table_apply_errors_total'],
      },
      {
        title: 'Apply duration',
        description: 'Time to apply a batch of events and rebuild the table, p50 / p95 / p99.',
        kind: 'timeseries',
        unit: 's',
        targets: [
          q(0.5, 'pacer_routing_table_apply_duration_seconds', ''),
          q(0.95, 'pacer_routing_table_apply_duration_seconds', ''),
          q(0.99, 'pacer_routing_table_apply_duration_seconds', ''),
        ],
        needs: ['pacer_routing_table_apply_duration_seconds'],
      },
      {
        title: 'Apps, tasks, services and routable backends',
        description: 'Sizes of the routing table each pacer serves.',
        kind: 'timeseries',
        unit: 'short',
        targets: [
          { expr: `pacer_routing_apps{${I}}`, legend: 'apps {{instance}}' },
          { expr: `pacer_routing_tasks{${I}}`, legend: 'tasks {{instance}}' },
          { expr: `pacer_routing_services{${I}}`, legend: 'services {{instance}}' },
          { expr: `pacer_routing_routable_backends{${I}}`, legend: 'routable backends {{instance}}' },
        ],
        needs: ['pacer_routing_apps', 'pacer_routing_tasks', 'pacer_routing_services', 'pacer_routing_routable_backends'],
      },
      {
        title: 'Table version',
        description: 'Increases on every change; pacers that disagree for long are not seeing the same Marathon.',
        kind: 'timeseries',
        unit: 'none',
        targets: [{ expr: `pacer_routing_table_version{${I}}`, legend: '{{instance}}' }],
        needs: ['pacer_routing_table_version'],
      },
      {
        title: 'Label problems by app',
        description: 'Ignored HAPROXY_* labels per app.',
        kind: 'timeseries',
        unit: 'short',
        targets: [{ expr: `max by (app) (pacer_label_problems{${I}})`, legend: '{{app}}' }],
        needs: ['pacer_label_problems'],
      },
    ],
  },
  {
    title: 'Process',
    panels: [
      {
        title: 'CPU',
        description: 'CPU time used per second (1 = one core).',
        kind: 'timeseries',
        unit: 'short',
        targets: [{ expr: `rate(process_cpu_seconds_total{${I}}[${RI}])`, legend: '{{instance}}' }],
        needs: [],
      },
      {
        title: 'Memory',
        description: 'Resident set size and V8 heap used.',
        kind: 'timeseries',
        unit: 'bytes',
        targets: [
          { expr: `process_resident_memory_bytes{${I}}`, legend: 'rss {{instance}}' },
          { expr: `nodejs_heap_size_used_bytes{${I}}`, legend: 'heap used {{instance}}' },
        ],
        needs: [],
      },
      {
        title: 'Event-loop lag',
        description: 'How late timers fire: p50 and p99 over prom-client\'s sampling window. Sustained lag delays every proxied request.',
        kind: 'timeseries',
        unit: 's',
        targets: [
          { expr: `nodejs_eventloop_lag_p50_seconds{${I}}`, legend: 'p50 {{instance}}' },
          { expr: `nodejs_eventloop_lag_p99_seconds{${I}}`, legend: 'p99 {{instance}}' },
        ],
        needs: [],
      },
      {
        title: 'Open file descriptors',
        description: 'Sockets and files open, against the limit.',
        kind: 'timeseries',
        unit: 'short',
        targets: [
          { expr: `process_open_fds{${I}}`, legend: 'open {{instance}}' },
          { expr: `process_max_fds{${I}}`, legend: 'max {{instance}}' },
        ],
        needs: [],
      },
    ],
  },
];

/** Names a panel may use for a catalogue metric: the metric, or a histogram's series. */
function seriesNames(def: MetricDef): string[] {
  return def.type === 'histogram' ? [def.name, `${def.name}_bucket`, `${def.name}_sum`, `${def.name}_count`] : [def.name];
}

export function catalogueNames(metrics: Readonly<Record<string, MetricDef>> = METRICS): Set<string> {
  return new Set(Object.values(metrics).map((d) => d.name));
}

export function catalogueSeriesNames(metrics: Readonly<Record<string, MetricDef>> = METRICS): Set<string> {
  return new Set(Object.values(metrics).flatMap(seriesNames));
}

/** Panels left out because a metric they need is not in the catalogue, with the missing names. */
export function pendingPanels(names: ReadonlySet<string> = catalogueNames()): { title: string; missing: string[] }[] {
  return ROWS.flatMap((r) => r.panels)
    .map((p) => ({ title: p.title, missing: p.needs.filter((n) => !names.has(n)) }))
    .filter((p) => p.missing.length > 0);
}

const CONNECTED_MAPPINGS = [
  {
    type: 'value',
    options: {
      '0': { text: 'disconnected', color: 'red', index: 0 },
      '1': { text: 'connected', color: 'green', index: 1 },
    },
  },
];

function panelJson(p: PanelSpec, id: number, x: number, y: number, w: number, h: number): Record<string, unknown> {
  const targets = p.targets.map((t, i) => ({
    refId: String.fromCharCode(65 + i),
    datasource: DS,
    expr: t.expr,
    legendFormat: t.legend,
    range: !(t.instant ?? false),
    instant: t.instant ?? false,
  }));
  const defaults: Record<string, unknown> = { unit: p.unit };
  if (p.min !== undefined) defaults['min'] = p.min;
  if (p.max !== undefined) defaults['max'] = p.max;
  if (p.mappings === 'connected') {
    defaults['mappings'] = CONNECTED_MAPPINGS;
    defaults['color'] = { mode: 'thresholds' };
    defaults['thresholds'] = { mode: 'absolute', steps: [{ color: 'red', value: null }, { color: 'green', value: 1 }] };
  } else {
    defaults['color'] = { mode: p.kind === 'stat' ? 'thresholds' : 'palette-classic' };
    defaults['thresholds'] = { mode: 'absolute', steps: [{ color: 'green', value: null }] };
  }
  if (p.kind === 'timeseries') {
    defaults['custom'] = {
      drawStyle: 'line',
      lineWidth: 1,
      fillOpacity: p.stack ? 30 : 10,
      showPoints: 'never',
      spanNulls: false,
      stacking: { mode: p.stack ? 'normal' : 'none', group: 'A' },
    };
  }
  const options: Record<string, unknown> =
    p.kind === 'stat'
      ? { reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false }, colorMode: 'value', graphMode: 'none', textMode: 'auto', justifyMode: 'auto', orientation: 'auto' }
      : p.kind === 'state-timeline'
        ? { showValue: 'never', mergeValues: true, rowHeight: 0.9, legend: { showLegend: true, displayMode: 'list', placement: 'bottom' }, tooltip: { mode: 'single', sort: 'none' } }
        : { legend: { showLegend: true, displayMode: 'list', placement: 'bottom', calcs: [] }, tooltip: { mode: 'multi', sort: 'desc' } };
  return {
    id,
    type: p.kind,
    title: p.title,
    description: p.description,
    datasource: DS,
    gridPos: { h, w, x, y },
    fieldConfig: { defaults, overrides: [] },
    options,
    targets,
  };
}

/** The dashboard JSON, with only the panels whose metrics are in `names`. */
export function buildDashboard(names: ReadonlySet<string> = catalogueNames()): Record<string, unknown> {
  const panels: Record<string, unknown>[] = [];
  let id = 1;
  let y = 0;
  for (const row of ROWS) {
    const present = row.panels.filter((p) => p.needs.every((n) => names.has(n)));
    if (present.length === 0) continue;
    panels.push({ id: id++, type: 'row', title: row.title, collapsed: false, gridPos: { h: 1, w: 24, x: 0, y }, panels: [] });
    y += 1;
    let x = 0;
    let rowHeight = 0;
    for (const p of present) {
      const w = p.width ?? 12;
      const h = p.kind === 'stat' ? 4 : p.kind === 'state-timeline' ? 6 : 8;
      if (x + w > 24) {
        x = 0;
        y += rowHeight;
        rowHeight = 0;
      }
      panels.push(panelJson(p, id++, x, y, w, h));
      x += w;
      rowHeight = Math.max(rowHeight, h);
    }
    y += rowHeight;
  }
  return {
    uid: DASHBOARD_UID,
    title: 'pacer',
    description: 'pacer: Marathon service discovery and load balancing (generated from grafana/dashboard.ts)',
    tags: ['pacer', 'marathon', 'mesos', 'load-balancer'],
    timezone: 'browser',
    editable: true,
    graphTooltip: 1,
    schemaVersion: 39,
    version: 1,
    refresh: '10s',
    time: { from: 'now-1h', to: 'now' },
    timepicker: {},
    fiscalYearStartMonth: 0,
    liveNow: false,
    links: [],
    annotations: {
      list: [
        {
          builtIn: 1,
          datasource: { type: 'grafana', uid: '-- Grafana --' },
          enable: true,
          hide: true,
          iconColor: 'rgba(0, 211, 255, 1)',
          name: 'Annotations & Alerts',
          type: 'dashboard',
        },
      ],
    },
    templating: {
      list: [
        {
          name: 'datasource',
          label: 'Data source',
          type: 'datasource',
          query: 'prometheus',
          current: {},
          hide: 0,
          includeAll: false,
          multi: false,
          refresh: 1,
          regex: '',
          options: [],
        },
        {
          name: 'instance',
          label: 'Instance',
          type: 'query',
          datasource: DS,
          definition: 'label_values(pacer_routing_table_version, instance)',
          query: { query: 'label_values(pacer_routing_table_version, instance)', refId: 'PrometheusVariableQueryEditor-VariableQuery', qryType: 1 },
          refresh: 2,
          includeAll: true,
          allValue: '.*',
          multi: true,
          current: { selected: true, text: ['All'], value: ['$__all'] },
          hide: 0,
          regex: '',
          sort: 1,
          options: [],
        },
      ],
    },
    panels,
  };
}

export function dashboardText(names: ReadonlySet<string> = catalogueNames()): string {
  return `${JSON.stringify(buildDashboard(names), null, 2)}\n`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  writeFileSync(new URL('./dashboards/pacer.json', import.meta.url), dashboardText());
  for (const p of pendingPanels()) process.stdout.write(`left out (not in the catalogue yet: ${p.missing.join(', ')}): ${p.title}\n`);
}
